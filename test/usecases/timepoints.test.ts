// assignTimepoint: a researcher opens a timepoint for a participant, a group or an arm; consented
// families get its questionnaires and one announcement each, in one transaction, idempotently.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { addParticipant, DomainError } from "../../src/usecases/participants.js";
import { timepointAssignments } from "../../src/usecases/assignments.js";
import { assignTimepoint } from "../../src/usecases/timepoints.js";
import { JOB } from "../../src/scheduler/planner.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import { tempDatabase, type TempDb } from "../support/db.js";

const flows: LoadedFlows = (() => {
  const r = loadFlows({ flowsDir: "flows" });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.flows;
})();
const cli = { kind: "cli" } as const;
const postCount = timepointAssignments(flows, "post", "control").length;

let t: TempDb;
const ids = new Map<string, number>();
beforeEach(async () => {
  t = await tempDatabase();
  const people = [
    { code: "C1", arm: "control", group: "ward-b", status: "consented" },
    { code: "C2", arm: "control", group: "ward-b", status: "consented" },
    { code: "C3", arm: "control", group: "ward-b", status: "withdrawn" },
    { code: "E1", arm: "experimental", group: "ward-a", status: "consented" },
    { code: "E2", arm: "experimental", group: "ward-a", status: "invited" },
  ] as const;
  for (const p of people) {
    const row = await addParticipant(
      t.db,
      { code: p.code, arm: p.arm, gender: "female", ageYears: 7, group: p.group },
      cli,
    );
    await t.db.participant.update({ where: { id: row.id }, data: { status: p.status } });
    ids.set(p.code, row.id);
  }
});
afterEach(async () => t.cleanup());

const sets = (code: string) =>
  t.db.responseSet.count({ where: { participantId: ids.get(code)!, slot: "post" } });

describe("assignTimepoint", () => {
  it("gives an arm's consented members the questionnaires and one announcement each", async () => {
    const r = await assignTimepoint(t.db, flows, "post", { arm: "control" }, cli);
    expect(postCount).toBeGreaterThan(0);
    expect(r).toEqual({
      timepoint: "post",
      participants: 3,
      opened: 2,
      questionnaires: 2 * postCount,
    });
    expect([await sets("C1"), await sets("C2"), await sets("C3")]).toEqual([
      postCount,
      postCount,
      0,
    ]);
    const jobs = await t.db.job.findMany({ orderBy: { id: "asc" } });
    expect(jobs.map((j) => [j.kind, j.dedupeKey, JSON.parse(j.payload)])).toEqual([
      [JOB.announce, `announce:${ids.get("C1")}:post`, { participantId: ids.get("C1") }],
      [JOB.announce, `announce:${ids.get("C2")}:post`, { participantId: ids.get("C2") }],
    ]);
    expect(await t.db.auditEvent.count({ where: { action: "questionnaire.assign" } })).toBe(
      2 * postCount,
    );
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("opened again assigns nothing and announces nothing twice", async () => {
    await assignTimepoint(t.db, flows, "post", { group: "ward-b" }, cli);
    const audits = await t.db.auditEvent.count();
    const again = await assignTimepoint(t.db, flows, "post", { participant: "C1" }, cli);
    expect(again).toEqual({ timepoint: "post", participants: 1, opened: 0, questionnaires: 0 });
    expect(await t.db.job.count()).toBe(2);
    expect(await t.db.auditEvent.count()).toBe(audits);
  });

  it("assigns without an announcement when asked to (the demo sends families to /resume)", async () => {
    const r = await assignTimepoint(t.db, flows, "post", { participant: "E1" }, cli, {
      announce: false,
    });
    expect(r.opened).toBe(1);
    expect(await sets("E1")).toBe(postCount);
    expect(await t.db.job.count()).toBe(0);
  });

  it("refuses a target that matches nobody and an unknown timepoint, writing nothing", async () => {
    const before = await t.db.auditEvent.count();
    for (const target of [{ participant: "X9" }, { group: "nowhere" }, { arm: null }]) {
      await expect(assignTimepoint(t.db, flows, "post", target, cli)).rejects.toThrow(
        new DomainError("no participant matches"),
      );
    }
    await expect(assignTimepoint(t.db, flows, "later", { arm: "control" }, cli)).rejects.toThrow(
      new DomainError('unknown timepoint "later"'),
    );
    expect(await t.db.auditEvent.count()).toBe(before);
    expect(await t.db.responseSet.count()).toBe(0);
    expect(await t.db.job.count()).toBe(0);
  });
});

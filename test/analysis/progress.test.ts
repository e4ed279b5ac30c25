// buildProgress / formatProgressText on a small study seeded straight through Prisma.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/client.js";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { buildProgress, formatProgressText } from "../../src/analysis/progress.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { openTimepoint, responseSetKey } from "../../src/usecases/assignments.js";
import { tempDatabase, type TempDb } from "../support/db.js";

const flows: LoadedFlows = (() => {
  const r = loadFlows({ flowsDir: "flows" });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.flows;
})();
const cli = { kind: "cli" } as const;
const items = (id: string) => flows.instruments.get(id)!.items;
const dims = items("observation")
  .filter((it) => it.type !== "text")
  .map((it) => it.id);

async function answer(db: Db, key: string, values: Record<string, number | null>, status: string) {
  const rs = await db.responseSet.update({ where: { key }, data: { status } });
  for (const [itemId, v] of Object.entries(values)) {
    await db.answer.create({
      data: {
        responseSetId: rs.id,
        itemId,
        value: v,
        skipped: v === null,
        instrumentHash: rs.instrumentHash,
        respondent: rs.respondent,
      },
    });
  }
}

async function sessionSet(
  db: Db,
  participantId: number | null,
  sessionId: number,
  n: number,
  instrumentId: string,
  respondent: string,
  status: string,
) {
  const ins = flows.instruments.get(instrumentId)!;
  const key = responseSetKey({
    participantId,
    sessionId,
    slot: `session:${n}`,
    instrumentId,
    respondent,
  });
  await db.responseSet.create({
    data: {
      key,
      participantId,
      sessionId,
      slot: `session:${n}`,
      timepoint: null,
      instrumentId,
      instrumentVersion: ins.version,
      instrumentHash: ins.hash,
      respondent,
      status,
    },
  });
  return key;
}

/** Two experimental children in group G1, one control, one baseline-only, one who declined. */
async function seed(db: Db) {
  const a1 = await addParticipant(
    db,
    { code: "A-01", arm: "experimental", gender: "male", ageYears: 8, group: "G1" },
    cli,
  );
  const a2 = await addParticipant(
    db,
    { code: "A-02", arm: "experimental", gender: "female", ageYears: 9, group: "G1" },
    cli,
  );
  const b1 = await addParticipant(
    db,
    { code: "B-01", arm: "control", gender: "female", ageYears: 7 },
    cli,
  );
  await addParticipant(db, { code: "C-01", arm: "none", gender: "male", ageYears: 10 }, cli);
  const d1 = await addParticipant(
    db,
    { code: "D-01", arm: "control", gender: "male", ageYears: 6 },
    cli,
  );
  await db.participant.updateMany({
    where: { id: { in: [a1.id, a2.id, b1.id] } },
    data: { status: "consented" },
  });
  await db.participant.update({ where: { id: d1.id }, data: { status: "declined" } });
  await db.$transaction(async (tx) => {
    for (const p of [a1, a2, b1]) await openTimepoint(tx, flows, p.id, "pre", cli);
  });
  const key = (pid: number, instrumentId: string, respondent = "parent") =>
    responseSetKey({ participantId: pid, slot: "pre", instrumentId, respondent });
  await answer(
    db,
    key(a1.id, "social-skills"),
    Object.fromEntries(items("social-skills").map((it) => [it.id, 3])),
    "complete",
  );
  await answer(db, key(a1.id, "qol-proxy"), { phys1: 0, phys2: 1, phys3: null }, "in_progress");
  await answer(db, key(a2.id, "qol-proxy"), { phys1: 2 }, "paused");

  const g1 = (await db.group.findUniqueOrThrow({ where: { name: "G1" } })).id;
  const s1 = await db.groupSession.create({
    data: { groupId: g1, number: 1, heldOn: new Date("2025-03-01T09:00:00Z"), status: "closed" },
  });
  const s2 = await db.groupSession.create({
    data: { groupId: g1, number: 2, heldOn: new Date("2025-03-08T09:00:00Z"), status: "logging" },
  });
  await db.groupSession.create({ data: { groupId: g1, number: 3 } });
  await db.attendance.createMany({
    data: [
      { sessionId: s1.id, participantId: a1.id, present: true },
      { sessionId: s1.id, participantId: a2.id, present: false },
      { sessionId: s2.id, participantId: a1.id, present: true },
      { sessionId: s2.id, participantId: a2.id, present: true },
    ],
  });
  // Session 1: A-01 observed on every dimension (one skipped); session 2: A-02 not observed.
  await db.observation.createMany({
    data: dims.map((d, i) => ({
      sessionId: s1.id,
      participantId: a1.id,
      dimension: d,
      rating: i === 0 ? null : 4,
      skipped: i === 0,
    })),
  });
  await db.observation.createMany({
    data: dims.map((d) => ({ sessionId: s2.id, participantId: a1.id, dimension: d, rating: 3 })),
  });
  const facilitator = await db.account.create({
    data: { telegramUserId: "555000111", role: "facilitator" },
  });
  for (const s of [s1, s2]) {
    const k = await sessionSet(
      db,
      null,
      s.id,
      s.number,
      "facilitator-reflection",
      "facilitator",
      "complete",
    );
    const rs = await db.responseSet.findUniqueOrThrow({ where: { key: k } });
    await db.reflection.create({
      data: { sessionId: s.id, accountId: facilitator.id, responseSetId: rs.id },
    });
  }
  // Satisfaction after session 1: totals 34 and 40 (complete), one incomplete set ignored.
  const sat = async (
    pid: number,
    s: { id: number; number: number },
    v: number[],
    status: string,
  ) => {
    const k = await sessionSet(db, pid, s.id, s.number, "session-satisfaction", "parent", status);
    await answer(
      db,
      k,
      { relationship: v[0]!, goals: v[1]!, approach: v[2]!, overall: v[3]! },
      status,
    );
  };
  await sat(a1.id, s1, [9, 8, 10, 7], "complete");
  await sat(a2.id, s1, [10, 10, 10, 10], "complete");
  await sat(a1.id, s2, [2, 2, 2, 2], "in_progress");
}

let t: TempDb;
beforeEach(async () => {
  t = await tempDatabase();
  await seed(t.db);
});
afterEach(async () => t.cleanup());

const q = (
  timepoint: string,
  instrument: string,
  respondent: string,
  status: string,
  answered: number,
) => ({
  timepoint,
  instrument,
  respondent,
  status,
  answered,
  total: items(instrument).length,
});

describe("buildProgress", () => {
  it("lists every participant's timepoint questionnaires, with placeholders before consent", async () => {
    const p = await buildProgress(t.db, flows);
    expect(p.participants).toEqual([
      {
        code: "A-01",
        arm: "experimental",
        group: "G1",
        status: "consented",
        questionnaires: [
          q("pre", "qol-proxy", "parent", "in_progress", 3),
          q("pre", "social-skills", "parent", "complete", items("social-skills").length),
          q("pre", "social-skills-child", "child", "pending", 0),
        ],
      },
      {
        code: "A-02",
        arm: "experimental",
        group: "G1",
        status: "consented",
        questionnaires: [
          q("pre", "qol-proxy", "parent", "in_progress", 1), // paused counts as in progress
          q("pre", "social-skills", "parent", "pending", 0),
          q("pre", "social-skills-child", "child", "pending", 0),
        ],
      },
      {
        code: "B-01",
        arm: "control",
        group: null,
        status: "consented",
        questionnaires: [
          q("pre", "qol-proxy", "parent", "pending", 0),
          q("pre", "social-skills", "parent", "pending", 0),
          q("pre", "social-skills-child", "child", "pending", 0),
        ],
      },
      {
        // Not consented yet: nothing is created, but the baseline questionnaires show as pending.
        code: "C-01",
        arm: null,
        group: null,
        status: "invited",
        questionnaires: [
          q("pre", "qol-proxy", "parent", "pending", 0),
          q("pre", "social-skills", "parent", "pending", 0),
        ],
      },
      { code: "D-01", arm: "control", group: null, status: "declined", questionnaires: [] },
    ]);
  });

  it("reports each session's attendance, log completeness and 0–40 satisfaction mean", async () => {
    const p = await buildProgress(t.db, flows);
    expect(p.sessions).toEqual([
      {
        group: "G1",
        number: 1,
        date: "2025-03-01",
        status: "closed",
        attendance: 1,
        absent: 1,
        logComplete: true,
        satisfaction: { responses: 2, mean: 37 },
      },
      {
        group: "G1",
        number: 2,
        date: "2025-03-08",
        status: "logging",
        attendance: 2,
        absent: 0,
        logComplete: false,
        satisfaction: { responses: 0, mean: null },
      },
      {
        group: "G1",
        number: 3,
        date: null,
        status: "planned",
        attendance: 0,
        absent: 0,
        logComplete: false,
        satisfaction: { responses: 0, mean: null },
      },
    ]);
  });

  it("summarises participants, completion per timepoint × instrument, and sessions", async () => {
    const p = await buildProgress(t.db, flows);
    expect(p.summary).toEqual({
      participants: {
        total: 5,
        byArm: { experimental: 2, control: 2, none: 1 },
        byGroup: { G1: 2 },
        byStatus: { invited: 1, enrolled: 0, consented: 3, declined: 1, withdrawn: 0 },
      },
      completion: [
        {
          timepoint: "pre",
          instrument: "qol-proxy",
          respondent: "parent",
          complete: 0,
          inProgress: 2,
          pending: 2,
        },
        {
          timepoint: "pre",
          instrument: "social-skills",
          respondent: "parent",
          complete: 1,
          inProgress: 0,
          pending: 3,
        },
        {
          timepoint: "pre",
          instrument: "social-skills-child",
          respondent: "child",
          complete: 0,
          inProgress: 0,
          pending: 3,
        },
        {
          timepoint: "post",
          instrument: "qol-proxy",
          respondent: "parent",
          complete: 0,
          inProgress: 0,
          pending: 0,
        },
        {
          timepoint: "post",
          instrument: "social-skills",
          respondent: "parent",
          complete: 0,
          inProgress: 0,
          pending: 0,
        },
        {
          timepoint: "post",
          instrument: "social-skills-child",
          respondent: "child",
          complete: 0,
          inProgress: 0,
          pending: 0,
        },
        // The follow-up is assigned too: its rows are there (all zero) before anyone is asked.
        ...["qol-proxy", "social-skills", "social-skills-child"].map((instrument) => ({
          timepoint: "follow-up",
          instrument,
          respondent: instrument.endsWith("-child") ? "child" : "parent",
          complete: 0,
          inProgress: 0,
          pending: 0,
        })),
      ],
      sessionsHeld: 2,
      attendanceRate: 3 / 4,
      missingLogs: 1,
      satisfactionMean: 37,
    });
  });

  it("a session log needs the facilitator's reflection to be complete", async () => {
    await t.db.responseSet.updateMany({
      where: { instrumentId: "facilitator-reflection", slot: "session:1" },
      data: { status: "in_progress" },
    });
    const p = await buildProgress(t.db, flows);
    expect(p.sessions[0]!.logComplete).toBe(false);
    expect(p.summary.missingLogs).toBe(2);
  });

  it("renders a readable table in English and Chinese", async () => {
    const p = await buildProgress(t.db, flows);
    const en = formatProgressText(p);
    expect(en).toContain("Participants: 5 (experimental 2, control 2, no arm 1)");
    expect(en).toMatch(/pre\s+social-skills\s+parent\s+1\s+0\s+3/);
    expect(en).toMatch(/A-01\s+experimental\s+G1\s+consented\s+1\/3/);
    expect(en).toMatch(/G1\s+1\s+2025-03-01\s+closed\s+1\s+complete\s+2 \/ 37\.0/);
    expect(en).toMatch(/G1\s+2\s+2025-03-08\s+logging\s+2\s+MISSING/);
    expect(en).toContain(
      "sessions held 2 · attendance 75% · logs missing 1 · satisfaction mean 37.0",
    );
    const zh = formatProgressText(p, "zh");
    expect(zh).toContain("参与者: 5");
    expect(zh).toContain("出席率 75%");
  });
});

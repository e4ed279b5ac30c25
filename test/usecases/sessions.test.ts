// The session services without the bot: rating checks and divergence, attendance and closing
// rules (who gets which questionnaire), amendments to attendance, and windows that open later.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows } from "../support/bot.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createGroup } from "../../src/usecases/groups.js";
import {
  beginAmendment,
  checkRating,
  closeSession,
  defaultSessionNumber,
  divergence,
  ensureSession,
  ratingItems,
  recordAttendance,
  skipObservation,
} from "../../src/usecases/sessions.js";

const flows = shippedFlows();
const th = flows.study.thresholds;
const sat = flows.instruments.get("session-satisfaction")!;
const NOW = new Date("2026-12-01T10:00:00Z");
const DAY = new Date("2026-12-01T00:00:00Z");

describe("rating checks", () => {
  const items = ratingItems(sat)!;
  const vals = (...v: (number | null)[]) => new Map(items.map((it, i) => [it.id, v[i] ?? null]));

  it("uses the 0–10 items of the session rating, and nothing for other formats", () => {
    expect(items.map((i) => i.id)).toEqual(["relationship", "goals", "approach", "overall"]);
    expect(ratingItems(flows.instruments.get("group-satisfaction")!)).toBeNull();
    expect(ratingItems(flows.instruments.get("observation")!)).toBeNull();
  });

  it("alerts below the total threshold (36 of 40) or on any item below 9", () => {
    expect(th).toMatchObject({ satisfactionTotalBelow: 36, satisfactionItemBelow: 9 });
    expect(checkRating(items, vals(9, 9, 9, 9), th)).toEqual({
      total: 36,
      max: 40,
      low: [],
      alert: false,
    });
    expect(checkRating(items, vals(10, 10, 10, 8), th)).toMatchObject({
      total: 38,
      alert: true,
      low: [{ itemId: "overall", value: 8 }],
    });
    expect(checkRating(items, vals(9, 9, 9, 10), th).alert).toBe(false);
    // A total below 36 needs an item below 9 with 0–10 integers; with a stricter total it alerts on its own.
    expect(checkRating(items, vals(9, 9, 9, 9), { ...th, satisfactionTotalBelow: 37 }).alert).toBe(
      true,
    );
    expect(checkRating(items, vals(5, 5, 5, 5), th)).toMatchObject({ total: 20, alert: true });
    // An unanswered item: no total, but a low answered item still alerts.
    expect(checkRating(items, vals(10, null, 3, 10), th)).toMatchObject({
      total: null,
      alert: true,
      low: [{ itemId: "approach", value: 3 }],
    });
    expect(checkRating(items, vals(10, null, 10, 10), th)).toMatchObject({
      total: null,
      alert: false,
    });
  });

  it("flags divergence between the facilitator's 1–5 rating and the members' mean share beyond the threshold", () => {
    const d = divergence({ value: 5, min: 1, max: 5 }, [20], 40, 0.3)!;
    expect(d).toMatchObject({ ownShare: 1, membersShare: 0.5, mean: 20, flagged: true });
    expect(d.diff).toBeCloseTo(0.5);
    expect(divergence({ value: 4, min: 1, max: 5 }, [30, 32], 40, 0.3)!.flagged).toBe(false); // 0.75 vs 0.775
    expect(divergence({ value: 1, min: 1, max: 5 }, [36, 40], 40, 0.3)).toMatchObject({
      flagged: true,
    }); // 0 vs 0.95
    expect(divergence({ value: 2, min: 1, max: 5 }, [22], 40, 0.3)!.flagged).toBe(false); // 0.25 vs 0.55: exactly 0.3 is not beyond
    expect(divergence({ value: 3, min: 1, max: 5 }, [], 40, 0.3)).toBeNull();
  });

  it("defaults to the first session not closed yet", () => {
    expect(defaultSessionNumber(flows, [])).toBe(1);
    expect(
      defaultSessionNumber(flows, [
        { number: 1, status: "closed" },
        { number: 3, status: "closed" },
      ]),
    ).toBe(2);
    expect(
      defaultSessionNumber(
        flows,
        [1, 2, 3, 4, 5, 6].map((number) => ({ number, status: "closed" })),
      ),
    ).toBe(6);
  });
});

describe("closing sessions", () => {
  let tmp: TempDb;
  beforeEach(async () => {
    tmp = await tempDatabase();
  });
  afterEach(async () => tmp.cleanup());

  async function setup(codes: string[], statuses: Record<string, string> = {}) {
    const g = await createGroup(tmp.db, { name: "A", arm: "experimental" }, { kind: "cli" });
    const ids: Record<string, number> = {};
    for (const code of codes) {
      const p = await addParticipant(
        tmp.db,
        { code, arm: "experimental", gender: "female", ageYears: 8, group: "A" },
        { kind: "cli" },
      );
      // Consent is recorded through the bot elsewhere; here the status stands in for it.
      await tmp.db.participant.update({
        where: { id: p.id },
        data: { status: statuses[code] ?? "consented" },
      });
      ids[code] = p.id;
    }
    const fac = await tmp.db.account.create({
      data: { role: "facilitator", telegramUserId: "1", chatId: "1" },
    });
    await tmp.db.groupFacilitator.create({ data: { groupId: g.id, accountId: fac.id } });
    return { g, ids, fac };
  }

  async function log(
    f: LoadedFlows,
    groupId: number,
    number: number,
    present: number[],
    accountId: number,
    now = NOW,
  ) {
    const session = await ensureSession(tmp.db, groupId, number);
    await tmp.db.$transaction(async (tx) =>
      recordAttendance(tx, f, { sessionId: session.id, present, accountId, heldOn: DAY, now }),
    );
    // The log's observation sets and reflection count as done for closing.
    await tmp.db.responseSet.updateMany({
      where: { sessionId: session.id, respondent: "facilitator" },
      data: { status: "complete" },
    });
    return tmp.db.$transaction(async (tx) =>
      closeSession(tx, f, { sessionId: session.id, accountId, now, timeZone: "UTC" }),
    );
  }

  it("assigns after-session questionnaires (parent, and child when the study says so) to attending consented children only", async () => {
    const { g, ids, fac } = await setup(["P1", "P2", "P3", "P4"], { P3: "enrolled" });
    // A study that also asks the child after each session.
    const withChild: LoadedFlows = {
      ...flows,
      study: {
        ...flows.study,
        assignments: {
          ...flows.study.assignments,
          afterSession: { ...flows.study.assignments.afterSession, child: ["social-skills-child"] },
        },
      },
    };
    const r = await log(withChild, g.id, 1, [ids.P1!, ids.P2!, ids.P3!], fac.id);
    expect(r.prompt.map((p) => p.participantId).sort()).toEqual([ids.P1!, ids.P2!].sort());
    const sets = await tmp.db.responseSet.findMany({
      where: { slot: "session:1", respondent: { in: ["parent", "child"] } },
    });
    expect(sets.map((s) => `${s.participantId}:${s.instrumentId}:${s.respondent}`).sort()).toEqual(
      [
        `${ids.P1}:session-satisfaction:parent`,
        `${ids.P1}:social-skills-child:child`,
        `${ids.P2}:session-satisfaction:parent`,
        `${ids.P2}:social-skills-child:child`,
      ].sort(),
    );
    // Observation sets only for consented children present; one reflection for the session.
    const fsets = await tmp.db.responseSet.findMany({
      where: { slot: "session:1", respondent: "facilitator" },
    });
    expect(
      fsets
        .filter((s) => s.participantId !== null)
        .map((s) => s.participantId)
        .sort(),
    ).toEqual([ids.P1!, ids.P2!].sort());
    expect(fsets.filter((s) => s.participantId === null)).toHaveLength(1);
    expect(r.groupEnded).toBe(false);
  });

  it("on an amended attendance, withdraws unstarted questionnaires from children now absent and adds the newly present", async () => {
    const { g, ids, fac } = await setup(["P1", "P2", "P3"]);
    await log(flows, g.id, 1, [ids.P1!, ids.P2!], fac.id);
    const session = await tmp.db.groupSession.findFirstOrThrow();
    // P1's family already started; P2's has not.
    const p1set = await tmp.db.responseSet.findFirstOrThrow({
      where: { participantId: ids.P1!, slot: "session:1", respondent: "parent" },
    });
    await tmp.db.answer.create({
      data: {
        responseSetId: p1set.id,
        itemId: "relationship",
        value: 8,
        instrumentHash: sat.hash,
        respondent: "parent",
      },
    });
    await tmp.db.responseSet.update({ where: { id: p1set.id }, data: { status: "in_progress" } });
    await tmp.db.$transaction(async (tx) =>
      beginAmendment(tx, {
        sessionId: session.id,
        accountId: fac.id,
        reason: "P2 left before the start; P3 came",
        now: NOW,
      }),
    );
    const r = await log(flows, g.id, 1, [ids.P3!], fac.id);
    expect(r.prompt.map((p) => p.participantId)).toEqual([ids.P3!]);
    expect(r.removedPending).toBe(1);
    const left = await tmp.db.responseSet.findMany({
      where: { slot: "session:1", respondent: "parent" },
    });
    expect(left.map((s) => s.participantId).sort()).toEqual([ids.P1!, ids.P3!].sort()); // P1 started: kept
    const unassign = await tmp.db.auditEvent.findMany({
      where: { action: "questionnaire.unassign" },
    });
    expect(unassign).toHaveLength(1);
    expect(JSON.parse(unassign[0]!.data)).toMatchObject({
      participant: "P2",
      reason: "marked absent",
    });
    const attendance = await tmp.db.auditEvent.findMany({
      where: { action: "session.attendance" },
      orderBy: { seq: "asc" },
    });
    expect(JSON.parse(attendance[1]!.data)).toMatchObject({
      present: ["P3"],
      previousPresent: ["P1", "P2"],
    });
    expect((await tmp.db.groupSession.findFirstOrThrow()).amendments).toBe(1);
  });

  it("records a skipped child on every dimension and refuses to skip twice", async () => {
    const { g, ids, fac } = await setup(["P1"]);
    const session = await ensureSession(tmp.db, g.id, 1);
    await tmp.db.$transaction(async (tx) =>
      recordAttendance(tx, flows, {
        sessionId: session.id,
        present: [ids.P1!],
        accountId: fac.id,
        heldOn: DAY,
        now: NOW,
      }),
    );
    const rs = await tmp.db.responseSet.findFirstOrThrow({
      where: { participantId: ids.P1!, respondent: "facilitator" },
    });
    const actor = { kind: "account" as const, accountId: fac.id };
    expect(
      await tmp.db.$transaction(async (tx) => skipObservation(tx, flows, rs.id, actor, NOW)),
    ).toBe(true);
    expect(
      await tmp.db.$transaction(async (tx) => skipObservation(tx, flows, rs.id, actor, NOW)),
    ).toBe(false);
    const rows = await tmp.db.observation.findMany();
    expect(rows.map((r) => r.dimension).sort()).toEqual(
      flows.instruments
        .get("observation")!
        .items.map((i) => i.subscale ?? i.id)
        .sort(),
    );
    expect(rows.every((r) => r.skipped && r.rating === null)).toBe(true);
  });

  it("opens the post timepoint after the last session only when its window has opened", async () => {
    const { g, ids, fac } = await setup(["P1", "P2"], { P2: "withdrawn" });
    const later: LoadedFlows = {
      ...flows,
      study: {
        ...flows.study,
        timepoints: flows.study.timepoints.map((t) =>
          t.id === "post" ? { ...t, window: { ...t.window, openDays: 7 } } : t,
        ),
      },
    };
    const r = await log(later, g.id, 6, [ids.P1!], fac.id);
    expect(r.groupEnded).toBe(true);
    // The shipped follow-up opens 90 days after the last session in any case.
    expect(r.opensLater).toEqual([
      { timepoint: "post", on: "2026-12-08" },
      { timepoint: "follow-up", on: "2027-03-01" },
    ]);
    expect(await tmp.db.responseSet.count({ where: { slot: "post" } })).toBe(0);
    expect(
      await tmp.db.responseSet.count({ where: { slot: "group-end", participantId: ids.P1! } }),
    ).toBe(1);
    // With the shipped window (the day of the last session) it opens at once; the withdrawn get nothing.
    await tmp.db.groupSession.updateMany({ data: { status: "logging" } });
    const r2 = await tmp.db.$transaction(async (tx) =>
      closeSession(tx, flows, {
        sessionId: r.sessionId,
        accountId: fac.id,
        now: NOW,
        timeZone: "UTC",
      }),
    );
    expect(r2.opensLater).toEqual([{ timepoint: "follow-up", on: "2027-03-01" }]);
    expect(await tmp.db.responseSet.count({ where: { slot: "follow-up" } })).toBe(0);
    const post = await tmp.db.responseSet.findMany({ where: { slot: "post" } });
    expect(new Set(post.map((s) => s.participantId))).toEqual(new Set([ids.P1!]));
    expect(r2.prompt).toEqual([{ participantId: ids.P1!, reason: "group-end" }]);
  });
});

// A follow-up timepoint (the shipped `follow-up`: last session + 90 days, open until + 120 days)
// end to end through the scheduler: nobody opens it by hand for a group that met; the planning
// pass schedules its opening when the group's session 6 is closed, and on the day the window
// opens the group's consented families get the questionnaires, are told once and reminded.
import { afterEach, describe, expect, it } from "vitest";
import { withdrawParticipant } from "../../src/telegram/conversation/withdrawal.js";
import { buildProgress } from "../../src/analysis/progress.js";
import { timepointAssignments } from "../../src/usecases/assignments.js";
import { shippedFlows } from "../support/bot.js";
import { DAY, HOUR, T0, World, seedFamily, seedGroup } from "./support.js";

let w: World;
afterEach(async () => {
  await w.cleanup();
});

/** Session dates as calendar days (UTC midnight, the session log's convention), last one given. */
function sixSessions(last: number): number[] {
  return [35, 28, 21, 14, 7, 0].map((d) => last - d * DAY);
}

const followUpTitle = () =>
  timepointAssignments(shippedFlows(), "follow-up", "experimental")[0]!.instrument.title.en!;
const waiting = (title: string) =>
  `📝 A questionnaire is waiting for you: <b>${title}</b>. Send /resume to start.`;

async function followUpSets(participantId: number) {
  return w.db.responseSet.findMany({
    where: { participantId, slot: "follow-up" },
    orderBy: { id: "asc" },
  });
}

describe("follow-up timepoint", () => {
  it("opens for the group's consented families on the day its window opens, tells each once and reminds them", async () => {
    w = await World.create({ REMINDER_MAX: 1, REMINDER_INTERVAL_HOURS: 24 });
    const last = Date.UTC(2030, 1, 1); // session 6 on 2030-02-01: follow-up opens 2030-05-02
    const g1 = await seedGroup(w, "G1", sixSessions(last), { logPast: true });
    // G2's session 6 is still ahead: nothing opens for it.
    const g2 = await seedGroup(w, "G2", sixSessions(T0 + 3 * DAY), { logPast: true });
    const p1 = await seedFamily(w, "P01", { groupId: g1.id, assign: null });
    const p2 = await seedFamily(w, "P02", { groupId: g1.id, assign: null });
    const p3 = await seedFamily(w, "P03", { groupId: g2.id, assign: null });
    const p4 = await seedFamily(w, "P04", { groupId: g1.id, assign: null, consent: false });
    await withdrawParticipant(w.db, p2.participantId, "keep", { kind: "cli" }, w.clock.date());

    await w.tick();
    const jobs = await w.db.job.findMany({ where: { kind: "open-timepoint" } });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.dueAt.toISOString()).toBe("2030-05-02T00:00:00.000Z");
    expect(JSON.parse(jobs[0]!.payload)).toEqual({
      groupId: g1.id,
      timepoint: "follow-up",
      lastSession: new Date(last).toISOString(),
    });

    w.clock.set(Date.UTC(2030, 4, 1, 23));
    await w.tick();
    expect(await w.db.responseSet.count({ where: { slot: "follow-up" } })).toBe(0);

    w.clock.set(Date.UTC(2030, 4, 2, 0, 5));
    await w.tick(); // the opening (it enqueues the announcements, due now)
    // Rows take their createdAt from the real clock; the reminder interval counts from it.
    await w.db.responseSet.updateMany({
      where: { slot: "follow-up" },
      data: { createdAt: w.clock.date() },
    });
    await w.tick(); // the announcements
    const sets = await followUpSets(p1.participantId);
    expect(sets.map((s) => `${s.instrumentId}:${s.respondent}`)).toEqual(
      timepointAssignments(shippedFlows(), "follow-up", "experimental").map(
        (a) => `${a.instrument.id}:${a.respondent}`,
      ),
    );
    expect(sets.every((s) => s.timepoint === "follow-up" && s.status === "pending")).toBe(true);
    for (const f of [p2, p3, p4]) expect(await followUpSets(f.participantId)).toEqual([]);
    expect(w.sent(p1.chat).map((c) => c.text)).toEqual([waiting(followUpTitle())]);
    for (const f of [p2, p3, p4]) expect(w.sent(f.chat)).toEqual([]);
    const open = await w.db.auditEvent.findMany({ where: { action: "timepoint.open" } });
    expect(open.map((a) => JSON.parse(a.data) as unknown)).toEqual([
      { group: "G1", timepoint: "follow-up", members: 3, opened: 1, questionnaires: sets.length },
    ]);

    // Ticking on changes nothing but the one reminder REMINDER_MAX allows, about the follow-up.
    await w.runFor(2 * DAY, 6 * HOUR);
    expect((await followUpSets(p1.participantId)).length).toBe(sets.length);
    expect(w.sent(p1.chat).map((c) => c.text)).toEqual([
      waiting(followUpTitle()),
      waiting(followUpTitle()),
    ]);
    const reminders = await w.db.auditEvent.findMany({ where: { action: "reminder.send" } });
    expect(reminders.map((a) => (JSON.parse(a.data) as { instrument: string }).instrument)).toEqual(
      [sets[0]!.instrumentId],
    );
    expect(await w.db.auditEvent.count({ where: { action: "timepoint.open" } })).toBe(1);

    // Started inside its window: no protocol deviation.
    await w.db.responseSet.update({
      where: { id: sets[0]!.id },
      data: { status: "in_progress", startedAt: w.clock.date() },
    });
    await w.tick();
    // (G2's session 6 was never logged: that is the only deviation.)
    const devs = await w.db.auditEvent.findMany({ where: { action: "alert.protocol" } });
    expect(devs.map((d) => (JSON.parse(d.data) as { check: string }).check)).toEqual([
      "session-unlogged",
    ]);

    // And progress shows it as the family's next timepoint.
    const progress = await buildProgress(w.db, shippedFlows());
    const row = progress.participants.find((p) => p.code === "P01")!;
    expect(row.questionnaires.filter((q) => q.timepoint === "follow-up")).toHaveLength(sets.length);
    expect(
      progress.summary.completion.find(
        (c) => c.timepoint === "follow-up" && c.instrument === sets[0]!.instrumentId,
      ),
    ).toMatchObject({ inProgress: 1, pending: 0, complete: 0 });
  });

  it("follows a corrected date of the last session, and opens nothing once the window has closed", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const last = Date.UTC(2030, 1, 1);
    const g1 = await seedGroup(w, "G1", sixSessions(last), { logPast: true });
    // Session 6 on 2029-08-01: its follow-up window (2029-10-30 … 2029-11-29) is over.
    const g2 = await seedGroup(w, "G2", sixSessions(Date.UTC(2029, 7, 1)), { logPast: true });
    const p1 = await seedFamily(w, "P01", { groupId: g1.id, assign: null });
    const p2 = await seedFamily(w, "P02", { groupId: g2.id, assign: null });

    await w.tick();
    await w.tick();
    const closed = await w.db.job.findFirstOrThrow({
      where: { kind: "open-timepoint", payload: { contains: `"groupId":${g2.id}` } },
    });
    expect(closed.lastError).toBe("skipped: the window closed before it could be opened");
    expect(await followUpSets(p2.participantId)).toEqual([]);

    // The facilitator corrects session 6's date by a week: the opening moves with it.
    await w.db.groupSession.updateMany({
      where: { groupId: g1.id, number: 6 },
      data: { heldOn: new Date(last + 7 * DAY) },
    });
    w.clock.set(last + 90 * DAY + HOUR);
    await w.tick();
    await w.tick();
    expect(await followUpSets(p1.participantId)).toEqual([]);
    const stale = await w.db.job.findFirstOrThrow({
      where: { dedupeKey: `open-timepoint:${g1.id}:follow-up:${new Date(last).toISOString()}` },
    });
    expect(stale.lastError).toBe("skipped: the last session's date changed");

    w.clock.set(last + 97 * DAY + HOUR);
    await w.tick();
    await w.tick();
    expect((await followUpSets(p1.participantId)).length).toBeGreaterThan(0);
    expect(w.sent(p1.chat)).toHaveLength(1);
  });

  it("a control arm without sessions gets it from `circle timepoint open`; a family opened by hand is not told twice", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const last = Date.UTC(2030, 1, 1);
    const g1 = await seedGroup(w, "G1", sixSessions(last), { logPast: true });
    const early = await seedFamily(w, "E01", { groupId: g1.id, assign: null });
    const control = await seedFamily(w, "C01", { assign: null });
    await w.db.participant.update({
      where: { id: control.participantId },
      data: { arm: "control" },
    });
    const { runCli } = await import("../../src/cli/program.js");
    const cli = (...args: string[]) =>
      runCli(args, {
        env: { DATABASE_URL: w.tmp.url, LOG_LEVEL: "silent" },
        stdout: () => {},
        stderr: () => {},
      });
    expect((await cli("timepoint", "open", "follow-up", "--arm", "control")).code).toBe(0);
    expect((await cli("timepoint", "open", "follow-up", "--participant", "E01")).code).toBe(0);
    await w.tick();
    await w.tick();
    expect((await followUpSets(control.participantId)).length).toBe(
      timepointAssignments(shippedFlows(), "follow-up", "control").length,
    );
    expect(w.sent(control.chat)).toHaveLength(1);
    expect(w.sent(early.chat)).toHaveLength(1);

    w.clock.set(last + 90 * DAY + HOUR);
    await w.tick();
    await w.tick();
    expect(w.sent(early.chat)).toHaveLength(1);
    const open = await w.db.auditEvent.findFirstOrThrow({ where: { action: "timepoint.open" } });
    expect(JSON.parse(open.data)).toMatchObject({ opened: 0, questionnaires: 0 });
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { withdrawParticipant } from "../../src/telegram/conversation/withdrawal.js";
import { VirtualClock } from "../../src/scheduler/clock.js";
import { claimDueJobs } from "../../src/scheduler/jobs.js";
import { zonedParts } from "../../src/scheduler/zone.js";
import { shippedFlows } from "../support/bot.js";
import { DAY, HOUR, T0, World, firstPreTitle, paceStats, seedFamily } from "./support.js";

let w: World;
afterEach(async () => {
  await w.cleanup();
});

const reminderText = (title: string) =>
  `📝 A questionnaire is waiting for you: <b>${title}</b>. Send /resume to start.`;

describe("questionnaire reminders", () => {
  it("reminds a family every REMINDER_INTERVAL_HOURS about what /resume shows, and stops at REMINDER_MAX", async () => {
    w = await World.create({ REMINDER_MAX: 3, REMINDER_INTERVAL_HOURS: 24 });
    const f = await seedFamily(w, "P01");
    await w.tick();
    expect(w.sent(f.chat)).toHaveLength(0);

    await w.runFor(10 * DAY, HOUR);
    const sent = w.sent(f.chat);
    expect(sent.map((c) => c.text)).toEqual([1, 2, 3].map(() => reminderText(firstPreTitle())));
    // Due 24 h after assignment, then 24 h after each previous reminder.
    expect(sent.map((c) => (c.at - T0) / HOUR)).toEqual([24, 48, 72]);
    expect(await w.db.job.count({ where: { kind: "reminder" } })).toBe(3);
    const audits = await w.db.auditEvent.findMany({ where: { action: "reminder.send" } });
    expect(audits.map((a) => JSON.parse(a.data) as Record<string, unknown>)).toEqual(
      [1, 2, 3].map((n) => expect.objectContaining({ participant: "P01", n, recipients: 1 })),
    );
    // The audit trail names the participant by code, never by Telegram id.
    for (const a of audits) expect(a.data).not.toContain(String(f.chat));
  });

  it("a family that answers in between is not reminded until it has been quiet for the interval", async () => {
    w = await World.create({ REMINDER_MAX: 3, REMINDER_INTERVAL_HOURS: 24 });
    const f = await seedFamily(w, "P02");
    await w.runFor(25 * HOUR);
    expect(w.sent(f.chat)).toHaveLength(1);
    // The parent opens the questionnaire at 30 h and answers the first item through the bot.
    w.clock.set(T0 + 30 * HOUR);
    const parent = w.tb.user(f.chat);
    await parent.send("/resume");
    await parent.press((t) => !/Back|Pause|Skip/.test(t));
    expect(await w.db.answer.count()).toBe(1);
    const before = w.sent(f.chat).length;
    await w.runFor(23 * HOUR);
    // Reminder 2 was planned for 48 h; the answer at 30 h moved it to 54 h.
    expect(w.sent(f.chat).length).toBe(before);
    await w.runFor(2 * HOUR);
    const last = w.sent(f.chat).at(-1)!;
    expect((last.at - T0) / HOUR).toBe(54);
    expect(last.text).toBe(
      `📝 You have an unfinished questionnaire: <b>${firstPreTitle()}</b>. Send /resume to continue where you stopped.`,
    );
  });

  it("names the questionnaire that comes next, in the parent's language, and never a completed one", async () => {
    w = await World.create({ REMINDER_MAX: 2, REMINDER_INTERVAL_HOURS: 24 });
    const f = await seedFamily(w, "P03", { locale: "zh" });
    const sets = await w.db.responseSet.findMany({
      where: { participantId: f.participantId },
      orderBy: { id: "asc" },
    });
    const flows = shippedFlows();
    // The first parent questionnaire is completed at 10 h: the reminder is about the second one.
    w.clock.set(T0 + 10 * HOUR);
    await w.db.responseSet.update({
      where: { id: sets[0]!.id },
      data: { status: "complete", completedAt: w.clock.date() },
    });
    await w.runFor(2 * DAY);
    const texts = w.sent(f.chat).map((c) => c.text);
    expect(texts.length).toBeGreaterThan(0);
    const second = flows.instruments.get(sets[1]!.instrumentId)!.title.zh!;
    for (const t of texts) {
      expect(t).toContain(second);
      expect(t).toContain("/resume");
      expect(t).not.toContain(flows.instruments.get(sets[0]!.instrumentId)!.title.zh!);
    }
    // Everything done: no more reminders, whatever was planned.
    await w.db.responseSet.updateMany({
      where: { participantId: f.participantId },
      data: { status: "complete", completedAt: w.clock.date() },
    });
    const count = w.sent(f.chat).length;
    await w.runFor(5 * DAY, 6 * HOUR);
    expect(w.sent(f.chat)).toHaveLength(count);
    expect(await w.db.job.count({ where: { kind: "reminder", doneAt: null } })).toBe(0);
  });

  it("never reminds a withdrawn participant, also when they withdraw while a reminder waits out a 429", async () => {
    w = await World.create({ REMINDER_MAX: 3, REMINDER_INTERVAL_HOURS: 24 });
    const gone = await seedFamily(w, "P04");
    const stays = await seedFamily(w, "P05");
    w.clock.advance(HOUR);
    const late = await seedFamily(w, "P06");
    await w.tick();
    // P04 withdraws before its reminder is due.
    await withdrawParticipant(w.db, gone.participantId, "keep", { kind: "cli" }, w.clock.date());
    w.clock.set(T0 + 24 * HOUR);
    await w.tick();
    expect(w.tg.messages(stays.chat)).toHaveLength(1);

    // P06's reminder is refused with retry_after 5 s; during that pause the family withdraws.
    w.clock.set(T0 + 25 * HOUR);
    w.tg.failNext("sendMessage", {
      code: 429,
      description: "Too Many Requests: retry after 5",
      retryAfter: 5,
    });
    const clock = w.clock;
    const realSleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      clock.sleep = realSleep;
      await withdrawParticipant(w.db, late.participantId, "keep", { kind: "cli" }, clock.date());
      return realSleep(ms, signal);
    };
    await w.tick();
    expect(clock.sleep).toBe(realSleep);
    expect(w.sent(late.chat)).toHaveLength(1); // the refused attempt, and no retry
    expect(
      await w.db.job.count({
        where: {
          kind: "reminder",
          lastError: { contains: "no longer wanted when it was time to send" },
        },
      }),
    ).toBe(1);

    await w.runFor(5 * DAY);
    expect(w.tg.messages(gone.chat)).toHaveLength(0);
    expect(w.tg.messages(late.chat)).toHaveLength(0);
    expect(w.tg.messages(stays.chat)).toHaveLength(3);
    expect(await w.db.job.count({ where: { kind: "reminder", doneAt: null } })).toBe(0);
    expect(await w.db.auditEvent.count({ where: { action: "reminder.send" } })).toBe(3);
  });

  it("postpones reminders in quiet hours to the end of quiet hours (QUIET_HOURS_TZ)", async () => {
    // 14:00 UTC = 22:00 in Shanghai: inside quiet hours 21-8.
    w = await World.create(
      {
        REMINDER_MAX: 1,
        REMINDER_INTERVAL_HOURS: 24,
        QUIET_HOURS: { from: 21, to: 8 },
        QUIET_HOURS_TZ: "Asia/Shanghai",
      },
      new VirtualClock(Date.UTC(2030, 2, 4, 14)),
    );
    const f = await seedFamily(w, "P07");
    await w.tick();
    w.clock.advance(24 * HOUR);
    const r = await w.tick();
    expect(r.rescheduled).toBe(1);
    expect(w.sent(f.chat)).toHaveLength(0);
    const job = await w.db.job.findFirstOrThrow({ where: { kind: "reminder" } });
    expect(job.dueAt.toISOString()).toBe("2030-03-06T00:00:00.000Z"); // 08:00 in Shanghai
    await w.runFor(9 * HOUR + 59 * 60_000, 15 * 60_000);
    expect(w.sent(f.chat)).toHaveLength(0);
    await w.runFor(60_000, 60_000);
    const sent = w.sent(f.chat);
    expect(sent).toHaveLength(1);
    expect(zonedParts(new Date(sent[0]!.at), "Asia/Shanghai")).toMatchObject({
      hour: 8,
      minute: 0,
    });
    expect(job.attempts).toBe(0);
  });

  it("survives a restart: nothing planned is lost, a crashed claim runs once, nothing is duplicated", async () => {
    w = await World.create({ REMINDER_MAX: 2, REMINDER_INTERVAL_HOURS: 24 });
    const families = [];
    for (let i = 0; i < 5; i++) families.push(await seedFamily(w, `R0${i}`));
    await w.tick();
    expect(await w.db.job.count()).toBe(5);

    // The process claims the due reminders and dies before sending anything.
    w.clock.set(T0 + 24 * HOUR);
    expect(await claimDueJobs(w.db, w.clock.date(), 100)).toHaveLength(5);
    await w.restart();
    // The new process plans again (no duplicates) and leaves the crashed claims alone until they expire.
    const r = await w.tick();
    expect(r.planned).toBe(0);
    expect(r.claimed).toBe(0);
    expect(await w.db.job.count()).toBe(5);
    w.clock.advance(5 * 60_000);
    expect((await w.tick()).sent).toBe(5);
    for (const f of families) expect(w.sent(f.chat)).toHaveLength(1);

    // Reminder 2 is planned; restart again before it is due; it still comes, once per family.
    await w.tick();
    await w.restart();
    await w.runFor(3 * DAY);
    await w.restart();
    await w.runFor(3 * DAY);
    for (const f of families) expect(w.sent(f.chat)).toHaveLength(2);
    expect(await w.db.job.count()).toBe(10);
    expect(await w.db.auditEvent.count({ where: { action: "reminder.send" } })).toBe(10);
  });

  it("paces a burst of 200 due reminders within Telegram's limits", async () => {
    w = await World.create({ REMINDER_MAX: 1, REMINDER_INTERVAL_HOURS: 24 });
    const chats: number[] = [];
    for (let i = 0; i < 200; i++)
      chats.push((await seedFamily(w, `B${String(i).padStart(3, "0")}`)).chat);
    await w.tick();
    w.clock.set(T0 + 24 * HOUR);
    const start = w.clock.now();
    const r = await w.tick({ plan: false });
    expect(r.claimed).toBe(100);
    await w.tick({ plan: false });
    const sends = w.calls.filter((c) => c.method === "sendMessage");
    expect(sends).toHaveLength(200);
    expect(new Set(sends.map((c) => c.chat)).size).toBe(200);
    const stats = paceStats(sends);
    expect(stats.maxPerSecond).toBeLessThanOrEqual(30);
    // 200 at 30 per second cannot take less than six seconds.
    expect(sends.at(-1)!.at - start).toBeGreaterThanOrEqual(6000);
    expect(await w.db.job.count({ where: { doneAt: null } })).toBe(0);
  });

  it("a parent who blocked the bot: each reminder is tried once, not retried, and they still stop at REMINDER_MAX", async () => {
    w = await World.create({ REMINDER_MAX: 2, REMINDER_INTERVAL_HOURS: 24 });
    const f = await seedFamily(w, "P09");
    w.tg.blocked.add(f.chat);
    await w.runFor(6 * DAY);
    expect(w.sent(f.chat)).toHaveLength(2);
    const jobs = await w.db.job.findMany({ where: { kind: "reminder" } });
    expect(jobs).toHaveLength(2);
    for (const j of jobs) expect(j.lastError).toMatch(/^undeliverable: Forbidden: bot was blocked/);
    expect(await w.db.auditEvent.count({ where: { action: "reminder.send" } })).toBe(0);
  });

  it("retries a 429 after retry_after and delivers the reminder once", async () => {
    w = await World.create({ REMINDER_MAX: 1, REMINDER_INTERVAL_HOURS: 24 });
    const f = await seedFamily(w, "P08");
    await w.tick();
    w.tg.failNext(
      "sendMessage",
      { code: 429, description: "Too Many Requests: retry after 7", retryAfter: 7 },
      2,
    );
    w.clock.set(T0 + 24 * HOUR);
    const r = await w.tick();
    expect(r.sent).toBe(1);
    const attempts = w.sent(f.chat);
    expect(attempts).toHaveLength(3);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(7000);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(7000);
    expect(w.tg.messages(f.chat)).toHaveLength(1);
  });
});

describe("opening a timepoint from the CLI", () => {
  it("tells each consented family once, at the next tick, and nobody withdrawn", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const a = await seedFamily(w, "P01", { assign: null });
    const b = await seedFamily(w, "P02", { assign: null });
    await withdrawParticipant(w.db, b.participantId, "keep", { kind: "cli" }, w.clock.date());
    const { runCli } = await import("../../src/cli/program.js");
    const r = await runCli(["timepoint", "open", "pre", "--arm", "experimental"], {
      env: { DATABASE_URL: w.tmp.url, LOG_LEVEL: "silent" },
      stdout: () => {},
      stderr: () => {},
    });
    expect(r.code).toBe(0);
    await w.tick();
    await w.tick();
    expect(w.sent(a.chat).map((c) => c.text)).toEqual([reminderText(firstPreTitle())]);
    expect(w.sent(b.chat)).toHaveLength(0);
    expect(await w.db.auditEvent.count({ where: { action: "questionnaire.announce" } })).toBe(1);
  });
});

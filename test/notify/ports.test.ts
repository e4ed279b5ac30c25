// The scheduler and the outbox stand on their own ports (src/notify/ports.ts): no bot, no grammY,
// a real database, and a plain implementation of each port that records what it was asked to do.
// This is what another channel (or a web view's notifications) would plug in.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tick } from "../../src/scheduler/loop.js";
import { enqueueJob } from "../../src/scheduler/jobs.js";
import { OUTBOX, type SessionOverPayload } from "../../src/scheduler/outbox.js";
import { SendPacer } from "../../src/notify/pacer.js";
import { systemClock } from "../../src/scheduler/clock.js";
import type { NotifyDeps, Outbound } from "../../src/notify/ports.js";
import { silentLogger } from "../../src/log.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows, testConfig } from "../support/bot.js";

const NOW = new Date("2030-03-04T12:00:00Z");
const DAY = 86_400_000;

type Call =
  | { op: "send"; chatId: string; html: string }
  | { op: "strip"; chatId: string; messageId: number }
  | { op: "next"; accountId: number };

class RecordingOutbound implements Outbound {
  constructor(private readonly calls: Call[]) {}
  async send(chatId: string, html: string) {
    this.calls.push({ op: "send", chatId, html });
    return this.calls.length;
  }
  async edit() {
    throw new Error("the outbox edits no message text");
  }
  async stripButtons(chatId: string, messageId: number) {
    this.calls.push({ op: "strip", chatId, messageId });
  }
}

let tmp: TempDb;
let calls: Call[];
let deps: NotifyDeps;

beforeEach(async () => {
  tmp = await tempDatabase();
  calls = [];
  deps = {
    db: tmp.db,
    flows: shippedFlows(),
    config: { ...testConfig(tmp.url), QUIET_HOURS: null, REMINDER_MAX: 0 },
    logger: silentLogger,
    now: () => NOW,
    outbound: new RecordingOutbound(calls),
    // A catalogue that shows which text was asked for, in which language, with what.
    tr: (locale, key, vars = {}) => `[${locale}] ${key} ${JSON.stringify(vars)}`,
    localeOf: (a) => a.locale ?? "en",
    showNextQuestion: async (account) => {
      calls.push({ op: "next", accountId: account.id });
    },
  };
});

afterEach(async () => {
  await tmp.cleanup();
});

/** Ticks until nothing is claimed (a fan-out's jobs come due in the next tick). */
async function drain() {
  const pacer = new SendPacer({ clock: systemClock, perChatMs: 0, perSecond: 10_000 });
  for (let i = 0; i < 5; i++) {
    const r = await tick(deps, { pacer });
    if (r.claimed === 0) return;
  }
  throw new Error("the scheduler did not settle");
}

describe("the scheduler on its ports alone", () => {
  it("a protocol alert: planned, fanned out, worded in the coordinator's language, sent and audited", async () => {
    const admin = await tmp.db.account.create({
      data: {
        telegramUserId: "501",
        chatId: "501",
        role: "admin",
        locale: "zh",
        alertsOptIn: true,
      },
    });
    const group = await tmp.db.group.create({ data: { name: "G1", arm: "experimental" } });
    // Session 1 was three days ago and nobody closed its log.
    await tmp.db.groupSession.create({
      data: { groupId: group.id, number: 1, plannedOn: new Date(NOW.getTime() - 3 * DAY) },
    });

    await drain();

    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({ op: "send", chatId: "501" });
    const html = (call as { html: string }).html;
    expect(html.split("\n")[0]).toBe("[zh] sched-alert-title {}");
    expect(html).toContain("[zh] ");
    const actions = (await tmp.db.auditEvent.findMany({ orderBy: { seq: "asc" } })).map(
      (e) => `${e.action} ${e.actor} ${e.entity}:${e.entityId}`,
    );
    expect(actions).toEqual([
      expect.stringMatching(/^alert\.protocol system GroupSession:/),
      `alert.send system Account:${admin.id}`,
    ]);
  });

  it("a session-over job tells the family, then asks the question port for its next question", async () => {
    const group = await tmp.db.group.create({ data: { name: "G1", arm: "experimental" } });
    const session = await tmp.db.groupSession.create({
      data: {
        groupId: group.id,
        number: 1,
        plannedOn: NOW,
        heldOn: NOW,
        status: "closed",
        closedAt: NOW,
      },
    });
    const p = await tmp.db.participant.create({
      data: {
        code: "P01",
        arm: "experimental",
        gender: "female",
        ageYears: 8,
        status: "consented",
        enrolledAt: NOW,
        groupId: group.id,
      },
    });
    const parent = await tmp.db.account.create({
      data: { telegramUserId: "601", chatId: "601", role: "parent", participantId: p.id },
    });
    const instrument = [...shippedFlows().instruments.values()].find(
      (i) => i.respondent === "parent",
    )!;
    await tmp.db.responseSet.create({
      data: {
        key: `test:${p.id}:session-1`,
        participantId: p.id,
        sessionId: session.id,
        slot: "session:1",
        instrumentId: instrument.id,
        instrumentVersion: instrument.version,
        instrumentHash: instrument.hash,
        respondent: "parent",
      },
    });
    await enqueueJob(tmp.db, {
      kind: OUTBOX.sessionOver,
      dueAt: NOW,
      dedupeKey: `session-over:${session.id}:${parent.id}`,
      payload: {
        sessionId: session.id,
        number: 1,
        participantId: p.id,
        accountId: parent.id,
        reason: "session",
      } satisfies SessionOverPayload,
    });
    await enqueueJob(tmp.db, {
      kind: OUTBOX.releaseQuestion,
      dueAt: NOW,
      dedupeKey: "release-question:1:1",
      payload: { accountId: parent.id, messageId: 42, responseSetId: 1 },
    });

    await drain();

    // The two jobs share the chat's queue in the pacer; within a job the order is kept.
    expect(calls.filter((c) => c.op !== "strip")).toEqual([
      { op: "send", chatId: "601", html: '[en] fam-session-over {"number":1}' },
      { op: "next", accountId: parent.id },
    ]);
    expect(calls.filter((c) => c.op === "strip")).toEqual([
      { op: "strip", chatId: "601", messageId: 42 },
    ]);
    const jobs = await tmp.db.job.findMany({ orderBy: { id: "asc" } });
    expect(jobs.map((j) => [j.kind, j.doneAt !== null, j.lastError])).toEqual([
      [OUTBOX.sessionOver, true, null],
      [OUTBOX.releaseQuestion, true, null],
    ]);
  });
});

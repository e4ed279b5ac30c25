// The session-log kind on the conversation runtime, over a real SQLite file and without Telegram:
// a step's writes, its state and the processed update commit together (and a write the database
// refuses rolls all of them back), a press resolved for an earlier step changes nothing, and the
// child questionnaire's last answer commits the Observation rows with it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows } from "../support/bot.js";
import { recordProcessed, wasProcessed } from "../../src/store/updates.js";
import { createI18n, translator } from "../../src/telegram/i18n.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { assignFacilitator, createGroup } from "../../src/usecases/groups.js";
import { ensureSession, logQueue } from "../../src/usecases/sessions.js";
import { silentLogger } from "../../src/log.js";
import { conversationRuntime } from "../../src/conversations/runtime.js";
import {
  childCompletion,
  resolveLogPress,
  sessionLogKind,
  type SessionLogEnv,
} from "../../src/conversations/session-log.js";
import { questionnaireKind } from "../../src/conversations/questionnaire.js";
import { initialLogState, type LogState } from "../../src/domain/conversations/session-log.js";

const NOW = new Date("2026-12-01T10:00:00Z");
const tr = translator(createI18n("en", () => "en") as never);

let tmp: TempDb;
beforeEach(async () => {
  tmp = await tempDatabase();
});
afterEach(async () => {
  await tmp.db.$disconnect();
  await tmp.cleanup();
});

/** A group with two consented children and its facilitator; the log's environment for them. */
async function study() {
  const db = tmp.db;
  const flows = shippedFlows();
  const group = await createGroup(db, { name: "A", arm: "experimental" }, { kind: "cli" });
  const kids: number[] = [];
  for (const code of ["P01", "P02"]) {
    const p = await addParticipant(
      db,
      { code, arm: "experimental", gender: "female", ageYears: 9, group: "A" },
      { kind: "cli" },
    );
    await db.participant.update({ where: { id: p.id }, data: { status: "consented" } });
    kids.push(p.id);
  }
  const fac = await db.account.create({
    data: { telegramUserId: "700", chatId: "700", role: "facilitator" },
  });
  await assignFacilitator(db, "A", fac.id, { kind: "cli" });
  const session = await ensureSession(db, group.id, 1);
  const env: SessionLogEnv = {
    db,
    accountId: fac.id,
    flows,
    locale: "en",
    tr: (key, vars) => tr("en", key, vars),
    now: () => NOW,
    timeZone: "UTC",
    logger: silentLogger,
  };
  const kind = sessionLogKind(env);
  const rt = conversationRuntime(kind, { db, now: () => NOW });
  const at = (value: LogState["value"], ctx: Partial<LogState["context"]>): LogState => ({
    value,
    context: { ...initialLogState().context, groupId: group.id, number: 1, ...ctx },
  });
  return { db, flows, env, kind, rt, kids, fac, session, at };
}

/** The processed update committed with a step (what the Telegram adapter passes). */
const processed = (updateId: number) => (tx: Parameters<typeof recordProcessed>[0]) =>
  recordProcessed(tx, updateId, NOW);

describe("the session-log kind on the runtime", () => {
  it("commits attendance, the log's state and the processed update together; an older press changes nothing", async () => {
    const { db, env, kind, rt, kids, fac, session, at } = await study();
    const conv = await rt.start(
      fac.id,
      at("attendance", { sessionId: session.id, date: "2026-12-01", present: [kids[1]!] }),
    );
    expect(await kind.view(conv.state)).toMatchObject({
      buttons: [
        [{ text: "⬜ P01", op: "t", arg: kids[0] }],
        [{ text: "✅ P02", op: "t", arg: kids[1] }],
        [
          { text: "☑️ All", op: "all" },
          { text: "Done ▶ (1)", op: "ok" },
        ],
        [
          { text: "◀ Back", op: "b" },
          { text: "✖ Cancel", op: "x" },
        ],
      ],
    });

    const done = await resolveLogPress(env, conv.state, { op: "ok", arg: undefined });
    if (!done.ok) throw new Error(done.reason);
    const out = await rt.step(conv, done.input, processed(1));
    expect(out.status).toBe("stepped");
    expect((await rt.load(fac.id))?.state.value).toBe("logging");
    expect(await wasProcessed(db, 1)).toBe(true);
    const rows = await db.attendance.findMany({ orderBy: { participantId: "asc" } });
    expect(rows.map((r) => [r.participantId, r.present])).toEqual([
      [kids[0], false],
      [kids[1], true],
    ]);
    expect((await logQueue(db, env.flows, session.id)).observations).toHaveLength(1);

    // The same press again (a redelivery, or another process that loaded the log before): stale.
    const audits = await db.auditEvent.count();
    const again = await rt.step(conv, done.input, processed(2));
    expect(again.status).toBe("stale");
    expect(await wasProcessed(db, 2)).toBe(false);
    expect(await db.auditEvent.count()).toBe(audits);
  });

  it("rolls the whole step back when a write is refused: no state, no audit, no processed update", async () => {
    const { db, env, rt, kids, fac, session, at } = await study();
    // A close before attendance was taken: the close refuses, the log stays at the confirmation.
    const conv = await rt.start(fac.id, at("confirmClose", { sessionId: session.id }));
    const close = await resolveLogPress(env, conv.state, { op: "cl", arg: undefined });
    if (!close.ok) throw new Error(close.reason);
    const audits = await db.auditEvent.count();
    const out = await rt.step(conv, close.input, processed(3));
    expect(out).toMatchObject({ status: "rejected", reason: "incomplete" });
    const now = await rt.load(fac.id);
    expect([now?.state.value, now?.nonce]).toEqual(["confirmClose", conv.nonce]);
    expect(await wasProcessed(db, 3)).toBe(false);
    expect(await db.auditEvent.count()).toBe(audits);
    expect((await db.groupSession.findUniqueOrThrow({ where: { id: session.id } })).status).toBe(
      "planned",
    );

    // "Skip this child" for a set skipped meanwhile (another process): refused, nothing written.
    const logging = await rt.start(
      fac.id,
      at("attendance", { sessionId: session.id, present: [kids[0]!] }),
    );
    const ok = await resolveLogPress(env, logging.state, { op: "ok", arg: undefined });
    if (!ok.ok) throw new Error(ok.reason);
    const stepped = await rt.step(logging, ok.input);
    if (stepped.status !== "stepped") throw new Error(stepped.status);
    const rs = (await logQueue(db, env.flows, session.id)).observations[0]!.rs;
    const header = await rt.step(stepped.conv, { type: "header", responseSetId: rs.id });
    if (header.status !== "stepped") throw new Error(header.status);
    const skip = await resolveLogPress(env, header.conv.state, { op: "sk", arg: String(rs.id) });
    if (!skip.ok) throw new Error(skip.reason);
    await db.responseSet.update({ where: { id: rs.id }, data: { status: "skipped" } });
    const before = await db.auditEvent.count();
    expect(await rt.step(header.conv, skip.input, processed(4))).toMatchObject({
      status: "rejected",
      reason: "stale",
    });
    expect(await db.observation.count()).toBe(0);
    expect(await db.auditEvent.count()).toBe(before);
    expect(await wasProcessed(db, 4)).toBe(false);
  });

  it("refuses a press resolved for another step before anything is written", async () => {
    const { db, env, rt, fac, session, at } = await study();
    const conv = await rt.start(fac.id, at("pickDate", { sessionId: session.id }));
    const sessions = await db.groupSession.count();
    for (const press of [
      { op: "n", arg: "2" },
      { op: "sk", arg: "1" },
      { op: "ei", arg: "0" },
      { op: "v", arg: "0" },
      { op: "zz", arg: undefined },
    ]) {
      const r = await resolveLogPress(env, conv.state, press);
      const out = r.ok ? await rt.step(conv, r.input) : { status: "rejected" };
      expect(out.status, press.op).not.toBe("stepped");
    }
    // A session number pressed at the date step does not create the session row.
    expect(await db.groupSession.count()).toBe(sessions);
    expect((await rt.load(fac.id))?.nonce).toBe(conv.nonce);
  });

  it("commits a child's Observation rows with the child questionnaire's last answer", async () => {
    const { db, env, rt, kids, fac, session, at } = await study();
    const conv = await rt.start(
      fac.id,
      at("attendance", { sessionId: session.id, present: [kids[0]!] }),
    );
    const ok = await resolveLogPress(env, conv.state, { op: "ok", arg: undefined });
    if (!ok.ok) throw new Error(ok.reason);
    await rt.step(conv, ok.input);
    const rs = (await logQueue(db, env.flows, session.id)).observations[0]!.rs;

    // The child: the observation set as a questionnaire conversation whose owner is the log.
    const child = questionnaireKind({ ...env, onComplete: childCompletion(env) });
    const qrt = conversationRuntime(child, { db, now: () => NOW });
    let q = await qrt.start(fac.id, (await child.open(rs))!, { responseSetId: rs.id });
    for (let guard = 0; guard < 20; guard++) {
      const view = q.state.q.view(q.state.state);
      if (view.kind !== "item") break;
      // Observations are still missing until the step that completes the set commits.
      expect(await db.observation.count()).toBe(0);
      const input =
        view.item.type === "choice"
          ? { type: "press" as const, action: "a" as const, option: 1 }
          : { type: "press" as const, action: "s" as const };
      const out = await qrt.step(q, input);
      if (out.status !== "stepped") throw new Error(out.status);
      q = out.conv;
    }
    const set = await db.responseSet.findUniqueOrThrow({ where: { id: rs.id } });
    expect(set.status).toBe("complete");
    const rows = await db.observation.findMany({ where: { sessionId: session.id } });
    expect(rows.length).toBe(env.flows.instruments.get(rs.instrumentId)!.items.length);
    expect(rows.every((r) => r.participantId === kids[0] && !r.skipped)).toBe(true);
    expect(await db.auditEvent.count({ where: { action: "observation.record" } })).toBe(1);
  });
});

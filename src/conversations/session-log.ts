// `/session` as a conversation kind: the pure machine and step are
// src/domain/conversations/session-log.ts; the view is ./session-log-view.ts; the effects (the
// log's writes: attendance, observations, reflection, corrections, amendment, date, close) are
// written through src/usecases/session-log.ts inside the step's transaction. A press or typed
// text is first resolved against the database into an input that carries the facts the step's
// rules need (members, the set a button names, today), so the step itself reads nothing.
//
// While logging, the log works through the session's observation sets and the reflection one by
// one; each is answered as a questionnaire conversation that is the log's child (started by the
// Telegram adapter for the set the log is at; its completion writes the Observation rows or the
// Reflection in its own step's transaction, see `childCompletion`).
//
// Built per update (it carries the account, its language and what a close wrote).
import type { Db, Tx } from "../db/client.js";
import type { Logger } from "../log.js";
import type { LoadedFlows } from "../study/model.js";
import {
  LOG_MACHINE_VERSION,
  parseStored,
  stepSessionLog,
  type LogContext,
  type LogEffect,
  type LogInput,
  type LogRejection,
  type LogSetFacts,
  type LogState,
} from "../domain/conversations/session-log.js";
import { numericArg } from "../domain/conversations/press.js";
import { activeMembers, isoDay, leadsGroup, parseDay, sessionNumbers } from "../usecases/groups.js";
import {
  beginAmendment,
  ensureSession,
  isObservationSet,
  logQueue,
  reopenObservation,
  skipObservation,
  type CloseResult,
} from "../usecases/sessions.js";
import {
  closeLoggedSession,
  completeFacilitatorSet,
  correctLoggedAnswer,
  correctLoggedDate,
  logAttendance,
} from "../usecases/session-log.js";
import { conversationRow, deleteConversation } from "../store/conversations.js";
import { sessionLogView, today, type SessionLogView } from "./session-log-view.js";
import { StepRejected, type ConversationKind } from "./kind.js";

export const SESSION_LOG_KIND = "session";

export interface SessionLogEnv {
  db: Db;
  accountId: number;
  flows: LoadedFlows;
  locale: string;
  tr(key: string, vars?: Record<string, string | number>): string;
  now(): Date;
  /** The study's time zone: which day "today" is. */
  timeZone: string;
  logger: Logger;
}

export type SessionLogKind = ConversationKind<LogState, LogInput, LogEffect, LogRejection> & {
  /** The texts a step leaves behind in the chat (attendance saved, a header's outcome, the close). */
  texts: SessionLogView;
  /** Set by a committed close. */
  closed: CloseResult | null;
};

export function logFinished(state: LogState): boolean {
  return state.value === "closed" || state.value === "cancelled";
}

export function sessionLogKind(env: SessionLogEnv): SessionLogKind {
  const texts = sessionLogView(env);
  const actor = { kind: "account" as const, accountId: env.accountId };

  const kind: SessionLogKind = {
    kind: SESSION_LOG_KIND,
    machineId: "session-log",
    machineVersion: LOG_MACHINE_VERSION,
    parse: parseStored,
    finished: logFinished,
    step: stepSessionLog,
    texts,
    closed: null,
    async apply(tx, effects) {
      const now = env.now();
      const accountId = env.accountId;
      for (const e of effects) {
        switch (e.type) {
          case "correct-date":
            await correctLoggedDate(tx, { sessionId: e.sessionId, day: e.date, accountId, now });
            break;
          case "record-attendance":
            await logAttendance(tx, env.flows, { ...e, accountId, now });
            break;
          case "begin-amendment":
            await beginAmendment(tx, { ...e, accountId, now });
            break;
          case "skip-observation":
            if (!(await skipObservation(tx, env.flows, e.responseSetId, actor, now)))
              throw new StepRejected<LogRejection>("stale");
            break;
          case "reopen-observation":
            await reopenObservation(tx, e.responseSetId, actor, now);
            break;
          case "correct-answer":
            if (!(await correctLoggedAnswer(tx, env.flows, { ...e, accountId, now })))
              throw new StepRejected<LogRejection>("invalid");
            break;
          case "close":
            try {
              kind.closed = await closeLoggedSession(tx, env.flows, {
                sessionId: e.sessionId,
                accountId,
                now,
                timeZone: env.timeZone,
              });
            } catch (err) {
              env.logger.warn(
                { err: err instanceof Error ? err.message : String(err), session: e.sessionId },
                "session could not be closed",
              );
              throw new StepRejected<LogRejection>("incomplete");
            }
            break;
          case "show":
            break;
        }
      }
    },
    view: (state) => texts.screen(state),
  };
  return kind;
}

// ---------------------------------------------------------------------------------------------
// What the log works through, and who else is logging

type QueueSet = Awaited<ReturnType<typeof logQueue>>["observations"][number]["rs"];

/**
 * The set the log is at: during an amendment the one being redone, else the first observation
 * (children by code) or the reflection not yet completed or skipped. Null when nothing is left.
 */
export async function nextLogSet(
  db: Tx,
  flows: LoadedFlows,
  ctx: Pick<LogContext, "sessionId" | "target">,
): Promise<QueueSet | null> {
  if (ctx.sessionId === null) return null;
  const q = await logQueue(db, flows, ctx.sessionId);
  const open = (rs: QueueSet) => rs.status !== "complete" && rs.status !== "skipped";
  if (ctx.target !== null) {
    const all = [...q.observations.map((o) => o.rs), ...(q.reflection ? [q.reflection] : [])];
    const rs = all.find((x) => x.id === ctx.target);
    return rs && open(rs) ? rs : null;
  }
  return (
    q.observations.find((o) => open(o.rs))?.rs ??
    (q.reflection && open(q.reflection) ? q.reflection : null)
  );
}

/** A log left untouched this long no longer blocks a co-facilitator (someone forgot to cancel). */
const LOCK_HOURS = 12;

/** Whether another account is logging or amending this session right now (one logger at a time). */
async function loggedByOther(env: SessionLogEnv, sessionId: number): Promise<boolean> {
  // Conversation rows are stamped with the runtime's clock, so the lock age is measured on it too.
  const since = new Date(env.now().getTime() - LOCK_HOURS * 3_600_000);
  const rows = await env.db.conversationState.findMany({
    where: { kind: SESSION_LOG_KIND, accountId: { not: env.accountId }, updatedAt: { gt: since } },
  });
  return rows.some((r) => {
    const st = parseStored(r.snapshot);
    return (
      st !== null &&
      st.context.sessionId === sessionId &&
      !logFinished(st) &&
      st.value !== "pickGroup" &&
      st.value !== "pickNumber"
    );
  });
}

/**
 * The child questionnaire conversation, when it is about another set than `keep` (a skipped
 * child, a set done meanwhile): ended; returns the message still showing its question, if any.
 */
export async function dropChildQuestionnaire(
  db: Tx,
  accountId: number,
  keep: number | null,
): Promise<{ messageId: number | null } | null> {
  const row = await conversationRow(db, accountId, "questionnaire");
  if (!row || row.responseSetId === keep) return null;
  await deleteConversation(db, accountId, "questionnaire");
  return { messageId: row.messageId };
}

/** Written with the child's completion, in its step's transaction: Observation rows or the Reflection. */
export function childCompletion(env: Pick<SessionLogEnv, "flows" | "accountId" | "now">) {
  return (tx: Tx, responseSetId: number) =>
    completeFacilitatorSet(tx, env.flows, responseSetId, env.accountId, env.now());
}

// ---------------------------------------------------------------------------------------------
// Resolving a press or a typed text into the step's input

export type Resolved = { ok: true; input: LogInput } | { ok: false; reason: LogRejection };

const stale: Resolved = { ok: false, reason: "stale" };

async function setFacts(env: SessionLogEnv, id: number | null): Promise<LogSetFacts | null> {
  const rs = id === null ? null : await env.db.responseSet.findUnique({ where: { id } });
  if (!rs) return null;
  const observation = isObservationSet(env.flows, rs);
  const here =
    observation && rs.sessionId !== null
      ? await env.db.attendance.findUnique({
          where: {
            sessionId_participantId: { sessionId: rs.sessionId, participantId: rs.participantId! },
          },
        })
      : null;
  return {
    id: rs.id,
    sessionId: rs.sessionId,
    facilitator: rs.respondent === "facilitator",
    status: rs.status,
    observation,
    present: here?.present ?? false,
  };
}

/** The item being corrected (editItem), from the set's instrument. */
async function editedItem(env: SessionLogEnv, ctx: LogContext) {
  const rs = await env.db.responseSet.findUniqueOrThrow({ where: { id: ctx.editRs! } });
  return env.flows.instruments.get(rs.instrumentId)?.items.find((i) => i.id === ctx.editItem);
}

/** A button press (its nonce already checked) as the step's input, or why it is refused. */
export async function resolveLogPress(
  env: SessionLogEnv,
  state: LogState,
  press: { op: string; arg: string | undefined },
): Promise<Resolved> {
  const ctx = state.context;
  const { db, flows } = env;
  // Every press of a log for a group this facilitator no longer leads is refused.
  if (ctx.groupId !== null && !(await leadsGroup(db, env.accountId, ctx.groupId)))
    return { ok: false, reason: "not-your-group" };
  const num = numericArg(press.arg);
  const ok = (input: LogInput): Resolved => ({ ok: true, input });
  switch (press.op) {
    case "x":
      return ok({ type: "cancel" });
    case "b":
      return ok({ type: "back" });
    case "g":
      if (num === null || !(await leadsGroup(db, env.accountId, num)))
        return { ok: false, reason: "not-your-group" };
      return ok({ type: "group", groupId: num });
    case "n": {
      // Checked before ensureSession: a press from another step must not create a session row.
      if (
        state.value !== "pickNumber" ||
        num === null ||
        ctx.groupId === null ||
        !sessionNumbers(flows).includes(num)
      )
        return stale;
      const session = await ensureSession(db, ctx.groupId, num);
      if (await loggedByOther(env, session.id)) return { ok: false, reason: "other-logger" };
      const present = (
        await db.attendance.findMany({ where: { sessionId: session.id, present: true } })
      ).map((a) => a.participantId);
      // A session closed once stays "closed" for this purpose even while an abandoned amendment left it open.
      const closed = session.status === "closed" || session.closedAt !== null;
      return ok({
        type: "number",
        number: num,
        session: { id: session.id, closed, present, date: isoDay(session.heldOn) },
      });
    }
    case "am":
      return ok({ type: "amend" });
    case "d":
      if (!press.arg || !parseDay(press.arg)) return stale;
      return ok({ type: "date", date: press.arg, today: today(env) });
    case "t":
      if (num === null || state.value !== "attendance") return stale;
      return ok({ type: "toggle", participantId: num, members: await memberIds(env, ctx) });
    case "all":
      if (state.value !== "attendance") return stale;
      return ok({ type: "all", members: await memberIds(env, ctx) });
    case "ok": {
      if (state.value !== "attendance") return stale;
      const session = await db.groupSession.findUniqueOrThrow({ where: { id: ctx.sessionId! } });
      return ok({
        type: "attendance-done",
        members: await memberIds(env, ctx),
        sessionHeldOn: isoDay(session.heldOn),
        today: today(env),
      });
    }
    case "sk": {
      const set = await setFacts(env, num);
      return set ? ok({ type: "skip", set }) : stale;
    }
    case "later":
      return ok({ type: "later" });
    case "cl":
      if (state.value !== "confirmClose" && state.value !== "amendMenu") return stale;
      return ok({
        type: "close",
        complete: (await nextLogSet(db, flows, { ...ctx, target: null })) === null,
      });
    case "ed":
      return ok({ type: "edit-date" });
    case "ea":
      return ok({ type: "edit-attendance" });
    case "es": {
      const set = await setFacts(env, num);
      return set ? ok({ type: "edit-set", set }) : stale;
    }
    case "rd": {
      const set = await setFacts(env, num);
      return set ? ok({ type: "redo", set }) : stale;
    }
    case "ei": {
      if (state.value !== "editSet" || num === null) return stale;
      const rs = await db.responseSet.findUniqueOrThrow({ where: { id: ctx.editRs! } });
      const item = flows.instruments.get(rs.instrumentId)?.items[num];
      return item ? ok({ type: "edit-item", itemId: item.id }) : stale;
    }
    case "v":
    case "clr": {
      if (state.value !== "editItem") return stale;
      const item = await editedItem(env, ctx);
      if (!item) return stale;
      const value =
        press.op === "clr"
          ? null
          : item.type === "choice" && num !== null
            ? (item.options[num]?.value ?? undefined)
            : undefined;
      return ok({ type: "correct", value });
    }
    default:
      return stale;
  }
}

async function memberIds(env: SessionLogEnv, ctx: LogContext): Promise<number[]> {
  return (await activeMembers(env.db, ctx.groupId!)).map((m) => m.id);
}

/**
 * Typed text as the step's input: the amendment's reason, a date, or a corrected typed answer.
 * "use-buttons" when the step waits for a press; "not-waiting" while logging (the child takes it).
 */
export async function resolveLogText(
  env: SessionLogEnv,
  state: LogState,
  text: string | null,
): Promise<Resolved | { ok: false; reason: "use-buttons" | "not-waiting" }> {
  const value = text?.trim() ?? "";
  switch (state.value) {
    case "logging":
      return { ok: false, reason: "not-waiting" };
    case "amendReason":
      return { ok: true, input: { type: "reason", text: value } };
    case "pickDate":
      if (!parseDay(value)) return { ok: false, reason: "invalid-date" };
      return { ok: true, input: { type: "date", date: value, today: today(env) } };
    case "editItem": {
      const item = await editedItem(env, state.context);
      if (!item || item.type === "choice" || text === null) break;
      const typed =
        item.type === "number"
          ? /^-?\d+([.,]\d+)?$/.test(value)
            ? Number(value.replace(",", "."))
            : Number.NaN
          : value;
      return { ok: true, input: { type: "correct", value: typed } };
    }
    default:
      break;
  }
  return { ok: false, reason: "use-buttons" };
}

/** The item a typed correction is for (its kind of answer decides the error text). */
export async function typedItem(env: SessionLogEnv, state: LogState) {
  return state.value === "editItem" ? editedItem(env, state.context) : undefined;
}

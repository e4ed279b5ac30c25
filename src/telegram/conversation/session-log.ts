// `/session`: a facilitator logs a group session on the ward, on a phone. Group → session number
// (default: the next one) → date → attendance (toggle keyboard) → one observation per attending
// child (skippable) → the reflection → close. Amending a closed session: reason → menu (date,
// attendance, one child's observation, reflection) → close again.
//
// The setup steps are a small XState machine whose snapshot lives in ConversationState (kind
// "session"), so a restart resumes at the same step with the same buttons still valid. The
// observations and the reflection are response sets answered through the questionnaire runner
// (role hooks below decide which set comes next and what follows its completion).
import type { Account } from "../../generated/prisma/client.js";
import type { Tx } from "../../db/client.js";
import { t, type Item } from "../../study/model.js";
import {
  activeMembers,
  displayName,
  facilitatorGroups,
  isoDay,
  leadsGroup,
  localDay,
  nicknamesOf,
  parseDay,
  sessionNumbers,
} from "../../usecases/groups.js";
import { wakeOutbox } from "../../scheduler/outbox.js";
import {
  beginAmendment,
  closeSession,
  correctAnswer,
  correctSessionDate,
  defaultSessionNumber,
  ensureSession,
  isObservationSet,
  isReflectionSet,
  logQueue,
  recordAttendance,
  recordReflection,
  reopenObservation,
  skipObservation,
  syncObservation,
  type CloseResult,
} from "../../usecases/sessions.js";
import { cutText, escapeHtml } from "../html.js";
import { localeOf, type Keyboard, type Services } from "../services.js";
import { continueQuestionnaires, type MarkProcessed } from "./questionnaire.js";
import {
  conversationStore,
  featureCallback,
  numericArg,
  type StoredConversation,
} from "./stored.js";
import {
  initialLogState,
  LOG_MACHINE_VERSION,
  parseStored,
  stepLog,
  type LogContext,
  type LogEvent,
  type LogState,
} from "../../domain/conversations/session-log.js";

// ---------------------------------------------------------------------------------------------
// Persistence

type Conv = StoredConversation<LogState>;

const KIND = "session";

const store = conversationStore<LogState>({
  kind: KIND,
  machineId: "session-log",
  version: LOG_MACHINE_VERSION,
  parse: parseStored,
  finished: (st) => st.value === "closed" || st.value === "cancelled",
});
const loadConv = (db: Tx, accountId: number): Promise<Conv | null> => store.load(db, accountId);
const saveConv = (
  db: Tx,
  accountId: number,
  state: LogState,
  extra: { nonce?: number; messageId?: number | null } = {},
): Promise<Conv> => store.save(db, accountId, state, extra);

/** A log left untouched this long no longer blocks a co-facilitator (someone forgot to cancel). */
const LOCK_HOURS = 12;

/** Whether another account is logging or amending this session right now (one logger at a time). */
async function loggedByOther(db: Tx, sessionId: number, accountId: number): Promise<boolean> {
  // updatedAt is stamped by Prisma from the wall clock, so the lock age is measured on it too.
  const since = new Date(Date.now() - LOCK_HOURS * 3_600_000);
  const rows = await db.conversationState.findMany({
    where: { kind: KIND, accountId: { not: accountId }, updatedAt: { gt: since } },
  });
  return rows.some((r) => {
    const st = parseStored(r.snapshot);
    return (
      st !== null &&
      st.context.sessionId === sessionId &&
      st.value !== "closed" &&
      st.value !== "cancelled" &&
      st.value !== "pickGroup" &&
      st.value !== "pickNumber"
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering

const cb = featureCallback("ses");

function today(s: Services): string {
  return localDay(s.now(), s.config.QUIET_HOURS_TZ);
}

function dayBefore(day: string): string {
  return isoDay(new Date(parseDay(day)!.getTime() - 86_400_000))!;
}

function sessionTitle(s: Services, number: number, locale: string): string {
  const def = s.flows.study.sessions.find((x) => x.number === number);
  return def ? t(def.title, locale) : "";
}

function optionLabel(
  item: Item,
  value: number | string | null | undefined,
  locale: string,
): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  const o = item.options.find((x) => x.value === value);
  return o ? t(o.label, locale) : String(value);
}

function short(text: string, max = 40): string {
  return text.length <= max ? text : `${cutText(text, max - 1)}…`;
}

async function heading(s: Services, ctx: LogContext, locale: string): Promise<string> {
  const group = ctx.groupId ? await s.db.group.findUnique({ where: { id: ctx.groupId } }) : null;
  if (!group) return "";
  if (ctx.number === null) return `<b>${escapeHtml(group.name)}</b>`;
  return s.tr(locale, "fac-heading", {
    group: group.name,
    number: ctx.number,
    title: sessionTitle(s, ctx.number, locale),
  });
}

async function render(
  s: Services,
  account: Account,
  state: LogState,
  nonce: number,
): Promise<{ html: string; keyboard: Keyboard }> {
  const locale = localeOf(s, account);
  const ctx = state.context;
  const tr = (key: string, vars?: Record<string, string | number>) => s.tr(locale, key, vars);
  const head = await heading(s, ctx, locale);
  switch (state.value) {
    case "pickGroup": {
      const groups = await facilitatorGroups(s.db, account.id);
      return {
        html: tr("fac-pick-group"),
        keyboard: [
          ...groups.map((g) => [{ text: g.name, callback_data: cb(nonce, "g", g.id) }]),
          [{ text: tr("fac-cancel"), callback_data: cb(nonce, "x") }],
        ],
      };
    }
    case "pickNumber": {
      const rows = await s.db.groupSession.findMany({ where: { groupId: ctx.groupId! } });
      const byNumber = new Map(rows.map((r) => [r.number, r]));
      const next = defaultSessionNumber(s.flows, rows);
      const lines = [head, "", tr("fac-pick-number")];
      for (const n of sessionNumbers(s.flows)) {
        const r = byNumber.get(n);
        const mark =
          r?.status === "closed" ? "✅" : r?.status === "logging" ? "✏️" : n === next ? "▶" : "▫️";
        const when = r?.heldOn
          ? isoDay(r.heldOn)
          : r?.plannedOn
            ? tr("fac-planned-on", { date: isoDay(r.plannedOn)! })
            : "";
        lines.push(
          `${mark} ${n} · ${escapeHtml(sessionTitle(s, n, locale))}${when ? ` — ${escapeHtml(when)}` : ""}`,
        );
      }
      const numbers = sessionNumbers(s.flows).map((n) => ({
        text: byNumber.get(n)?.status === "closed" ? `${n} ✓` : String(n),
        callback_data: cb(nonce, "n", n),
      }));
      const nav = [];
      if ((await facilitatorGroups(s.db, account.id)).length > 1)
        nav.push({ text: tr("fac-back"), callback_data: cb(nonce, "b") });
      nav.push({ text: tr("fac-cancel"), callback_data: cb(nonce, "x") });
      return {
        html: lines.join("\n"),
        keyboard: [
          [
            {
              text: tr("fac-log-next", {
                number: next,
                title: short(sessionTitle(s, next, locale), 30),
              }),
              callback_data: cb(nonce, "n", next),
            },
          ],
          numbers,
          nav,
        ],
      };
    }
    case "confirmAmend": {
      const row = await s.db.groupSession.findUniqueOrThrow({ where: { id: ctx.sessionId! } });
      return {
        html: `${head}\n\n${tr("fac-closed-already", { held: isoDay(row.heldOn) ?? "—", amendments: row.amendments })}`,
        keyboard: [
          [{ text: tr("fac-amend"), callback_data: cb(nonce, "am") }],
          [
            { text: tr("fac-back"), callback_data: cb(nonce, "b") },
            { text: tr("fac-cancel"), callback_data: cb(nonce, "x") },
          ],
        ],
      };
    }
    case "amendReason":
      return {
        html: `${head}\n\n${tr("fac-amend-reason")}`,
        keyboard: [
          [
            { text: tr("fac-back"), callback_data: cb(nonce, "b") },
            { text: tr("fac-cancel"), callback_data: cb(nonce, "x") },
          ],
        ],
      };
    case "pickDate": {
      const row = await s.db.groupSession.findUnique({ where: { id: ctx.sessionId! } });
      const d0 = today(s);
      const d1 = dayBefore(d0);
      const buttons = [
        { text: tr("fac-date-today", { date: d0 }), callback_data: cb(nonce, "d", d0) },
        { text: tr("fac-date-yesterday", { date: d1 }), callback_data: cb(nonce, "d", d1) },
      ];
      const extra = [];
      const held = isoDay(row?.heldOn);
      const planned = isoDay(row?.plannedOn);
      if (held && held !== d0 && held !== d1)
        extra.push({
          text: tr("fac-date-held", { date: held }),
          callback_data: cb(nonce, "d", held),
        });
      else if (planned && planned !== d0 && planned !== d1 && planned < d0)
        extra.push({
          text: tr("fac-date-planned", { date: planned }),
          callback_data: cb(nonce, "d", planned),
        });
      const nav = [{ text: tr("fac-back"), callback_data: cb(nonce, "b") }];
      if (!ctx.amending) nav.push({ text: tr("fac-cancel"), callback_data: cb(nonce, "x") });
      return {
        html: `${head}\n\n${tr("fac-pick-date")}${held ? `\n${tr("fac-date-current", { date: held })}` : ""}`,
        keyboard: [buttons, ...(extra.length ? [extra] : []), nav],
      };
    }
    case "attendance": {
      const members = await activeMembers(s.db, ctx.groupId!);
      const nicks = await nicknamesOf(s.db, account.id);
      const keyboard: Keyboard = members.map((m) => [
        {
          text: `${ctx.present.includes(m.id) ? "✅" : "⬜"} ${displayName(m.code, nicks.get(m.id))}`,
          callback_data: cb(nonce, "t", m.id),
        },
      ]);
      keyboard.push([
        { text: tr("fac-all-present"), callback_data: cb(nonce, "all") },
        {
          text: tr("fac-attendance-done", { n: ctx.present.length }),
          callback_data: cb(nonce, "ok"),
        },
      ]);
      const nav = [{ text: tr("fac-back"), callback_data: cb(nonce, "b") }];
      if (!ctx.amending) nav.push({ text: tr("fac-cancel"), callback_data: cb(nonce, "x") });
      keyboard.push(nav);
      const date = ctx.amending
        ? isoDay((await s.db.groupSession.findUnique({ where: { id: ctx.sessionId! } }))?.heldOn)
        : ctx.date;
      const body = members.length
        ? tr("fac-attendance", { date: date ?? "—", n: ctx.present.length, total: members.length })
        : tr("fac-no-members");
      return { html: `${head}\n\n${body}`, keyboard };
    }
    case "confirmClose": {
      const summary = await logSummary(s, account, ctx.sessionId!, locale);
      return {
        html: `${head}\n\n${summary}\n\n${tr("fac-confirm-close")}`,
        keyboard: [
          [{ text: tr("fac-close"), callback_data: cb(nonce, "cl") }],
          [{ text: tr("fac-not-yet"), callback_data: cb(nonce, "later") }],
        ],
      };
    }
    case "amendMenu": {
      const row = await s.db.groupSession.findUniqueOrThrow({ where: { id: ctx.sessionId! } });
      const q = await logQueue(s.db, s.flows, row.id);
      const nicks = await nicknamesOf(s.db, account.id);
      const keyboard: Keyboard = [
        [
          {
            text: tr("fac-edit-date", { date: isoDay(row.heldOn) ?? "—" }),
            callback_data: cb(nonce, "ed"),
          },
        ],
        [
          {
            text: tr("fac-edit-attendance", {
              n: await s.db.attendance.count({ where: { sessionId: row.id, present: true } }),
            }),
            callback_data: cb(nonce, "ea"),
          },
        ],
      ];
      for (const o of q.observations) {
        const mark = o.rs.status === "complete" ? "✓" : o.rs.status === "skipped" ? "—" : "…";
        keyboard.push([
          {
            text: `👁 ${displayName(o.participant.code, nicks.get(o.participant.id))} ${mark}`,
            callback_data: cb(nonce, o.rs.status === "complete" ? "es" : "rd", o.rs.id),
          },
        ]);
      }
      if (q.reflection)
        keyboard.push([
          {
            text: `${tr("fac-edit-reflection")} ${q.reflection.status === "complete" ? "✓" : "…"}`,
            callback_data: cb(
              nonce,
              q.reflection.status === "complete" ? "es" : "rd",
              q.reflection.id,
            ),
          },
        ]);
      keyboard.push([{ text: tr("fac-finish-amend"), callback_data: cb(nonce, "cl") }]);
      return {
        html: `${head}\n\n${tr("fac-amend-menu", { amendment: row.amendments })}`,
        keyboard,
      };
    }
    case "editSet": {
      const rs = await s.db.responseSet.findUniqueOrThrow({
        where: { id: ctx.editRs! },
        include: { answers: true, participant: true },
      });
      const ins = s.flows.instruments.get(rs.instrumentId)!;
      const nicks = await nicknamesOf(s.db, account.id);
      const who = rs.participant
        ? displayName(rs.participant.code, nicks.get(rs.participant.id))
        : tr("fac-reflection-name");
      const keyboard: Keyboard = ins.items.map((item, i) => {
        const a = rs.answers.find((x) => x.itemId === item.id);
        const value = a ? (a.skipped ? null : (a.value ?? a.text)) : undefined;
        return [
          {
            text: `${i + 1}. ${short(t(item.text, locale), 26)}: ${short(optionLabel(item, value, locale), 16)}`,
            callback_data: cb(nonce, "ei", i),
          },
        ];
      });
      keyboard.push([{ text: tr("fac-back"), callback_data: cb(nonce, "b") }]);
      return {
        html: `${head}\n\n${tr("fac-edit-set", { who, title: t(ins.title, locale) })}`,
        keyboard,
      };
    }
    case "editItem": {
      const rs = await s.db.responseSet.findUniqueOrThrow({
        where: { id: ctx.editRs! },
        include: { answers: true },
      });
      const ins = s.flows.instruments.get(rs.instrumentId)!;
      const item = ins.items.find((i) => i.id === ctx.editItem)!;
      const a = rs.answers.find((x) => x.itemId === item.id);
      const value = a ? (a.skipped ? null : (a.value ?? a.text)) : undefined;
      const lines = [
        head,
        "",
        escapeHtml(t(item.text, locale)),
        "",
        `<i>${tr("fac-current", { answer: optionLabel(item, value, locale) })}</i>`,
      ];
      const keyboard: Keyboard = [];
      if (item.type === "choice") {
        const buttons = item.options.map((o, i) => ({
          text: t(o.label, locale),
          callback_data: cb(nonce, "v", i),
        }));
        const perRow = buttons.every((b) => b.text.length <= 3)
          ? 6
          : buttons.every((b) => b.text.length <= 12)
            ? 2
            : 1;
        for (let i = 0; i < buttons.length; i += perRow)
          keyboard.push(buttons.slice(i, i + perRow));
      } else {
        lines.push(`<i>${tr("fac-type-new")}</i>`);
      }
      const nav = [{ text: tr("fac-back"), callback_data: cb(nonce, "b") }];
      if (!item.required) nav.push({ text: tr("fac-clear"), callback_data: cb(nonce, "clr") });
      keyboard.push(nav);
      return { html: lines.join("\n"), keyboard };
    }
    default:
      return { html: "", keyboard: [] };
  }
}

async function logSummary(
  s: Services,
  account: Account,
  sessionId: number,
  locale: string,
): Promise<string> {
  const q = await logQueue(s.db, s.flows, sessionId);
  const all = await s.db.attendance.findMany({ where: { sessionId } });
  const observed = q.observations.filter((o) => o.rs.status === "complete").length;
  const skipped = q.observations.filter((o) => o.rs.status === "skipped").length;
  return s.tr(locale, "fac-summary", {
    present: all.filter((a) => a.present).length,
    absent: all.filter((a) => !a.present).length,
    observed,
    skipped,
    reflection: q.reflection?.status === "complete" ? "✓" : "—",
  });
}

/** Sends the current step as a new message (older buttons removed) bound to a fresh nonce. */
async function present(s: Services, account: Account, conv: Conv): Promise<void> {
  if (conv.state.value === "logging") {
    await advance(s, account, { resume: true });
    return;
  }
  if (conv.messageId) await s.messenger.stripButtons(account.chatId!, conv.messageId);
  const nonce = conv.nonce + 1;
  await s.db.conversationState.update({ where: { id: conv.id }, data: { nonce, messageId: null } });
  const { html, keyboard } = await render(s, account, conv.state, nonce);
  const messageId = await s.messenger.send(account.chatId!, html, keyboard);
  await s.db.conversationState.update({ where: { id: conv.id }, data: { messageId } });
}

/** Redraws the step on the same message (attendance toggles) without a new nonce. */
async function redraw(s: Services, account: Account, conv: Conv, messageId: number): Promise<void> {
  const { html, keyboard } = await render(s, account, conv.state, conv.nonce);
  await s.messenger.edit(account.chatId!, messageId, html, keyboard);
}

// ---------------------------------------------------------------------------------------------
// The runner side: which set comes next, and what follows a completed one

type QueueSet = Awaited<ReturnType<typeof logQueue>>["observations"][number]["rs"];

async function pickNext(s: Services, ctx: LogContext): Promise<QueueSet | null> {
  if (ctx.sessionId === null) return null;
  const q = await logQueue(s.db, s.flows, ctx.sessionId);
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

/** "Observation 2 of 3: LK-7Q3M · Mia" under the session heading. */
async function observationHeader(
  s: Services,
  account: Account,
  ctx: LogContext,
  responseSetId: number,
): Promise<string> {
  const locale = localeOf(s, account);
  const q = await logQueue(s.db, s.flows, ctx.sessionId!);
  const idx = q.observations.findIndex((o) => o.rs.id === responseSetId);
  const p = q.observations[idx]?.participant;
  if (!p) return await heading(s, ctx, locale);
  const nick = (await nicknamesOf(s.db, account.id)).get(p.id);
  return `${await heading(s, ctx, locale)}\n\n${s.tr(locale, "fac-observe-child", { child: displayName(p.code, nick), k: idx + 1, n: q.observations.length })}`;
}

/** Drops the runner's conversation when it is about another set (after a skip, or for a new target). */
async function detachRunner(
  s: Services,
  account: Account,
  keepSetId: number | null,
): Promise<void> {
  const row = await s.db.conversationState.findUnique({
    where: { accountId_kind: { accountId: account.id, kind: "questionnaire" } },
  });
  if (!row || row.responseSetId === keepSetId) return;
  if (row.messageId) {
    // The question left unanswered (the child was skipped) would read as a gap in the record.
    try {
      await s.api.deleteMessage(Number(account.chatId), row.messageId);
    } catch {
      await s.messenger.stripButtons(account.chatId!, row.messageId);
    }
  }
  await s.db.conversationState.delete({ where: { id: row.id } });
}

/**
 * Moves the log on: the next child's observation (with a header naming the child and a "Skip this
 * child" button), the reflection, or, when everything is done, the close confirmation (or the
 * amendment menu).
 */
async function advance(
  s: Services,
  account: Account,
  opts: { resume?: boolean } = {},
): Promise<void> {
  let conv = await loadConv(s.db, account.id);
  if (!conv || conv.state.value !== "logging") return;
  const locale = localeOf(s, account);
  const rs = await pickNext(s, conv.state.context);
  if (!rs) {
    await detachRunner(s, account, null);
    const next = stepLog(conv.state, { type: "LOGGED" })!;
    conv = await saveConv(s.db, account.id, next);
    await present(s, account, conv);
    return;
  }
  await detachRunner(s, account, rs.id);
  if (opts.resume || conv.state.context.header !== rs.id) {
    if (conv.messageId) await s.messenger.stripButtons(account.chatId!, conv.messageId);
    const nonce = conv.nonce + 1;
    const next = stepLog(conv.state, { type: "HEADER", responseSetId: rs.id })!;
    conv = await saveConv(s.db, account.id, next, { nonce, messageId: null });
    const head = await heading(s, next.context, locale);
    const ins = s.flows.instruments.get(rs.instrumentId);
    const intro = ins?.intro ? `\n<i>${escapeHtml(t(ins.intro, locale))}</i>` : "";
    let messageId: number | null = null;
    if (isObservationSet(s.flows, rs)) {
      const html = `${await observationHeader(s, account, next.context, rs.id)}${intro}`;
      messageId = await s.messenger.send(account.chatId!, html, [
        [{ text: s.tr(locale, "fac-skip-child"), callback_data: cb(nonce, "sk", rs.id) }],
      ]);
    } else {
      await s.messenger.send(account.chatId!, `${head}\n\n${s.tr(locale, "fac-reflect")}${intro}`);
    }
    await s.db.conversationState.update({ where: { id: conv.id }, data: { messageId } });
  }
  await continueQuestionnaires(s, account);
}

/** Runner hook: a facilitator's set completed (already committed). */
async function onFacilitatorSetComplete(
  s: Services,
  account: Account,
  responseSetId: number,
): Promise<boolean> {
  const rs = await s.db.responseSet.findUnique({
    where: { id: responseSetId },
    include: { participant: true },
  });
  if (!rs || rs.sessionId === null) return false;
  const now = s.now();
  if (isObservationSet(s.flows, rs)) {
    await s.db.$transaction(async (tx) =>
      syncObservation(tx, s.flows, rs.id, { kind: "account", accountId: account.id }, now),
    );
  } else if (isReflectionSet(s.flows, rs)) {
    await s.db.$transaction(async (tx) => recordReflection(tx, rs.id, account.id, now));
  } else return false;
  const conv = await loadConv(s.db, account.id);
  const locale = localeOf(s, account);
  if (conv?.messageId && conv.state.context.header === rs.id && rs.participant) {
    // The header's skip button has served its purpose: it now records the outcome.
    await s.messenger.edit(
      account.chatId!,
      conv.messageId,
      `${await observationHeader(s, account, conv.state.context, rs.id)}\n<b>${s.tr(locale, "fac-observed")}</b>`,
    );
    await s.db.conversationState.update({ where: { id: conv.id }, data: { messageId: null } });
  }
  await advance(s, account);
  return true;
}

/** Runner hooks for the facilitator role: answers go to the session being logged. */
export const facilitatorRoleHooks = {
  next: async (s: Services, account: Account) => {
    const conv = await loadConv(s.db, account.id);
    if (!conv || conv.state.value !== "logging") return null;
    return pickNext(s, conv.state.context);
  },
  onComplete: onFacilitatorSetComplete,
  onNothingLeft: async (s: Services, account: Account) => advance(s, account),
};

// ---------------------------------------------------------------------------------------------
// Entry points

/** `/session`: resumes the log in progress, or starts one. */
export async function startSessionLog(s: Services, account: Account): Promise<void> {
  const locale = localeOf(s, account);
  const existing = await loadConv(s.db, account.id);
  if (existing) {
    // A group this facilitator no longer leads is not resumed.
    if (
      existing.state.context.groupId === null ||
      (await leadsGroup(s.db, account.id, existing.state.context.groupId))
    ) {
      await s.messenger.send(account.chatId!, s.tr(locale, "fac-resuming"));
      await present(s, account, existing);
      return;
    }
  }
  const groups = await facilitatorGroups(s.db, account.id);
  if (groups.length === 0) {
    await s.messenger.send(account.chatId!, s.tr(locale, "fac-no-groups"));
    return;
  }
  let state = initialLogState();
  if (groups.length === 1) state = stepLog(state, { type: "PICK_GROUP", groupId: groups[0]!.id })!;
  const conv = await saveConv(s.db, account.id, state, { messageId: null });
  await present(s, account, conv);
}

export interface LogPress {
  nonce: number;
  op: string;
  arg: string | undefined;
  messageId: number | undefined;
}

/** A button of the session log. Returns the toast (the caller answers the query). */
export async function handleSessionPress(
  s: Services,
  account: Account,
  press: LogPress,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const stale = { toast: s.tr(locale, "toast-stale") };
  const conv = await store.loadForPress(s.db, account.id, press);
  if (!conv) return stale;
  const ctx = conv.state.context;
  if (ctx.groupId !== null && !(await leadsGroup(s.db, account.id, ctx.groupId)))
    return { toast: s.tr(locale, "fac-toast-not-your-group") };
  const now = s.now();
  const num = numericArg(press.arg);

  /** Commits a transition (plus any writes) with the update id, then shows the new step. */
  const commit = async (
    event: LogEvent,
    write?: (tx: Tx) => Promise<void>,
    show: "new" | "redraw" = "new",
  ): Promise<{ toast?: string }> => {
    const next = stepLog(conv.state, event);
    if (!next) return stale;
    await s.db.$transaction(async (tx) => {
      if (write) await write(tx);
      await saveConv(tx, account.id, next);
      await markProcessed(tx);
    });
    const fresh = { ...conv, state: next };
    if (show === "redraw" && press.messageId) await redraw(s, account, fresh, press.messageId);
    else if (next.value !== "closed" && next.value !== "cancelled")
      await present(s, account, fresh);
    return {};
  };

  switch (press.op) {
    case "x": {
      const r = await commit({ type: "CANCEL" });
      if (!r.toast) {
        if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
        await s.messenger.send(account.chatId!, s.tr(locale, "fac-cancelled"));
      }
      return r;
    }
    case "b":
      return commit({ type: "BACK" });
    case "g": {
      if (num === null || !(await leadsGroup(s.db, account.id, num)))
        return { toast: s.tr(locale, "fac-toast-not-your-group") };
      return commit({ type: "PICK_GROUP", groupId: num });
    }
    case "n": {
      // Checked before ensureSession: a press from another step must not create a session row.
      if (
        conv.state.value !== "pickNumber" ||
        num === null ||
        ctx.groupId === null ||
        !sessionNumbers(s.flows).includes(num)
      )
        return stale;
      const session = await ensureSession(s.db, ctx.groupId, num);
      if (await loggedByOther(s.db, session.id, account.id))
        return { toast: s.tr(locale, "fac-toast-other-logger") };
      const present = (
        await s.db.attendance.findMany({ where: { sessionId: session.id, present: true } })
      ).map((a) => a.participantId);
      // A session closed once stays "closed" for this purpose even while an abandoned amendment left it open.
      const closed = session.status === "closed" || session.closedAt !== null;
      return commit({
        type: "PICK_NUMBER",
        number: num,
        sessionId: session.id,
        closed,
        present,
        date: isoDay(session.heldOn),
      });
    }
    case "am":
      return commit({ type: "AMEND" });
    case "d": {
      const day = press.arg ? parseDay(press.arg) : null;
      if (!day || press.arg! > today(s)) return stale;
      return chooseDate(s, account, conv, press.arg!, markProcessed);
    }
    case "t": {
      if (num === null || conv.state.value !== "attendance") return stale;
      const members = await activeMembers(s.db, ctx.groupId!);
      if (!members.some((m) => m.id === num)) return stale;
      return commit({ type: "TOGGLE", participantId: num }, undefined, "redraw");
    }
    case "all": {
      if (conv.state.value !== "attendance") return stale;
      const ids = (await activeMembers(s.db, ctx.groupId!)).map((m) => m.id);
      const all = ids.every((id) => ctx.present.includes(id));
      // A second press clears the marks again, like a "select all" checkbox.
      return commit({ type: "SET_PRESENT", present: all ? [] : ids }, undefined, "redraw");
    }
    case "ok":
      return finishAttendance(s, account, conv, press, markProcessed);
    case "sk":
      return skipChild(s, account, conv, num, press, markProcessed);
    case "later": {
      if (conv.state.value !== "confirmClose") return stale;
      if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
      await s.db.$transaction(async (tx) => {
        await tx.conversationState.update({ where: { id: conv.id }, data: { messageId: null } });
        await markProcessed(tx);
      });
      await s.messenger.send(account.chatId!, s.tr(locale, "fac-close-later"));
      return {};
    }
    case "cl":
      return close(s, account, conv, press, markProcessed);
    case "ed":
      return commit({ type: "EDIT_DATE" });
    case "ea":
      return commit({ type: "EDIT_ATTENDANCE" });
    case "es": {
      const rs = num === null ? null : await s.db.responseSet.findUnique({ where: { id: num } });
      if (
        !rs ||
        rs.sessionId !== ctx.sessionId ||
        rs.respondent !== "facilitator" ||
        rs.status !== "complete"
      )
        return stale;
      return commit({ type: "EDIT_SET", responseSetId: rs.id });
    }
    case "rd": {
      const rs = num === null ? null : await s.db.responseSet.findUnique({ where: { id: num } });
      if (
        !rs ||
        rs.sessionId !== ctx.sessionId ||
        rs.respondent !== "facilitator" ||
        rs.status === "complete"
      )
        return stale;
      if (isObservationSet(s.flows, rs)) {
        const here = await s.db.attendance.findUnique({
          where: {
            sessionId_participantId: { sessionId: rs.sessionId!, participantId: rs.participantId! },
          },
        });
        if (!here?.present) return stale;
      }
      if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
      return commit({ type: "REDO", responseSetId: rs.id }, (tx) =>
        reopenObservation(tx, rs.id, { kind: "account", accountId: account.id }, now),
      );
    }
    case "ei": {
      if (conv.state.value !== "editSet" || num === null) return stale;
      const rs = await s.db.responseSet.findUniqueOrThrow({ where: { id: ctx.editRs! } });
      const item = s.flows.instruments.get(rs.instrumentId)?.items[num];
      if (!item) return stale;
      return commit({ type: "EDIT_ITEM", itemId: item.id });
    }
    case "v":
    case "clr": {
      if (conv.state.value !== "editItem") return stale;
      const rs = await s.db.responseSet.findUniqueOrThrow({ where: { id: ctx.editRs! } });
      const item = s.flows.instruments
        .get(rs.instrumentId)
        ?.items.find((i) => i.id === ctx.editItem);
      if (!item) return stale;
      const value =
        press.op === "clr"
          ? null
          : item.type === "choice" && num !== null
            ? (item.options[num]?.value ?? undefined)
            : undefined;
      if (value === undefined) return { toast: s.tr(locale, "toast-invalid") };
      return correct(s, account, conv, item, value, markProcessed);
    }
    default:
      return stale;
  }
}

async function chooseDate(
  s: Services,
  account: Account,
  conv: Conv,
  day: string,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const next = stepLog(conv.state, { type: "PICK_DATE", date: day });
  if (!next) return { toast: s.tr(localeOf(s, account), "toast-stale") };
  await s.db.$transaction(async (tx) => {
    if (conv.state.context.amending)
      await correctSessionDate(tx, {
        sessionId: conv.state.context.sessionId!,
        heldOn: parseDay(day)!,
        accountId: account.id,
        now: s.now(),
      });
    await saveConv(tx, account.id, next);
    await markProcessed(tx);
  });
  await present(s, account, { ...conv, state: next });
  return {};
}

async function finishAttendance(
  s: Services,
  account: Account,
  conv: Conv,
  press: LogPress,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const ctx = conv.state.context;
  if (conv.state.value !== "attendance") return { toast: s.tr(locale, "toast-stale") };
  if (ctx.present.length === 0) return { toast: s.tr(locale, "fac-toast-nobody") };
  const next = stepLog(conv.state, { type: "ATTENDANCE_DONE" });
  if (!next) return { toast: s.tr(locale, "toast-stale") };
  const session = await s.db.groupSession.findUniqueOrThrow({ where: { id: ctx.sessionId! } });
  const heldOn = ctx.amending
    ? (session.heldOn ?? parseDay(today(s))!)
    : parseDay(ctx.date ?? today(s))!;
  const members = await activeMembers(s.db, ctx.groupId!);
  const result = await s.db.$transaction(async (tx) => {
    if (!ctx.amending && session.heldOn && isoDay(session.heldOn) !== ctx.date) {
      await correctSessionDate(tx, {
        sessionId: session.id,
        heldOn,
        accountId: account.id,
        now: s.now(),
      });
    }
    const r = await recordAttendance(tx, s.flows, {
      sessionId: session.id,
      present: ctx.present.filter((id) => members.some((m) => m.id === id)),
      accountId: account.id,
      heldOn,
      now: s.now(),
    });
    await saveConv(tx, account.id, next, { messageId: null });
    await markProcessed(tx);
    return r;
  });
  if (press.messageId) {
    const nicks = await nicknamesOf(s.db, account.id);
    const names = (ids: number[]) =>
      ids
        .map((id) => members.find((m) => m.id === id))
        .filter((m) => m !== undefined)
        .map((m) => escapeHtml(displayName(m.code, nicks.get(m.id))))
        .join(", ") || "—";
    const html = `${await heading(s, ctx, locale)}\n\n${s.tr(locale, "fac-attendance-saved", { date: isoDay(heldOn)! })}\n✅ ${names(result.present)}\n⬜ ${names(result.absent)}`;
    await s.messenger.edit(account.chatId!, press.messageId, html);
  }
  const fresh = await loadConv(s.db, account.id);
  if (fresh) await present(s, account, fresh);
  return {};
}

async function skipChild(
  s: Services,
  account: Account,
  conv: Conv,
  rsId: number | null,
  press: LogPress,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  if (conv.state.value !== "logging" || rsId === null || conv.state.context.header !== rsId)
    return { toast: s.tr(locale, "toast-stale") };
  const rs = await s.db.responseSet.findUnique({
    where: { id: rsId },
    include: { participant: true },
  });
  if (!rs || rs.sessionId !== conv.state.context.sessionId || !isObservationSet(s.flows, rs))
    return { toast: s.tr(locale, "toast-stale") };
  const done = await s.db.$transaction(async (tx) => {
    const ok = await skipObservation(
      tx,
      s.flows,
      rs.id,
      { kind: "account", accountId: account.id },
      s.now(),
    );
    if (ok) {
      await tx.conversationState.update({ where: { id: conv.id }, data: { messageId: null } });
      await markProcessed(tx);
    }
    return ok;
  });
  if (!done) return { toast: s.tr(locale, "toast-stale") };
  if (press.messageId) {
    await s.messenger.edit(
      account.chatId!,
      press.messageId,
      `${await observationHeader(s, account, conv.state.context, rs.id)}\n<b>${s.tr(locale, "fac-skipped-child")}</b>`,
    );
  }
  await advance(s, account);
  return {};
}

async function correct(
  s: Services,
  account: Account,
  conv: Conv,
  item: Item,
  value: number | string | null,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string; ok: boolean }> {
  const locale = localeOf(s, account);
  const next = stepLog(conv.state, { type: "ITEM_DONE" });
  if (!next) return { toast: s.tr(locale, "toast-stale"), ok: false };
  const ok = await s.db.$transaction(async (tx) => {
    const saved = await correctAnswer(tx, s.flows, {
      responseSetId: conv.state.context.editRs!,
      itemId: item.id,
      value,
      accountId: account.id,
      now: s.now(),
    });
    if (!saved) return false;
    const rs = await tx.responseSet.findUniqueOrThrow({
      where: { id: conv.state.context.editRs! },
    });
    if (isReflectionSet(s.flows, rs)) await recordReflection(tx, rs.id, account.id, s.now());
    await saveConv(tx, account.id, next);
    await markProcessed(tx);
    return true;
  });
  if (!ok) return { toast: s.tr(locale, "toast-invalid"), ok: false };
  await present(s, account, { ...conv, state: next });
  return { toast: s.tr(locale, "toast-saved"), ok: true };
}

async function close(
  s: Services,
  account: Account,
  conv: Conv,
  press: LogPress,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const ctx = conv.state.context;
  if (conv.state.value !== "confirmClose" && conv.state.value !== "amendMenu")
    return { toast: s.tr(locale, "toast-stale") };
  if (await pickNext(s, { ...ctx, target: null }))
    return { toast: s.tr(locale, "fac-toast-log-incomplete") };
  const next = stepLog(conv.state, { type: "CLOSE" })!;
  const amendment = ctx.amending;
  let result: CloseResult;
  try {
    result = await s.db.$transaction(async (tx) => {
      const r = await closeSession(tx, s.flows, {
        sessionId: ctx.sessionId!,
        accountId: account.id,
        now: s.now(),
        timeZone: s.config.QUIET_HOURS_TZ,
      });
      await saveConv(tx, account.id, next);
      await tx.conversationState.deleteMany({
        where: { accountId: account.id, kind: "questionnaire" },
      });
      await markProcessed(tx);
      return r;
    });
  } catch (e) {
    s.logger.warn(
      { err: e instanceof Error ? e.message : String(e), session: ctx.sessionId },
      "session could not be closed",
    );
    return { toast: s.tr(locale, "fac-toast-log-incomplete") };
  }
  const head = await heading(s, ctx, locale);
  if (press.messageId)
    await s.messenger.edit(
      account.chatId!,
      press.messageId,
      `${head}\n\n${s.tr(locale, amendment ? "fac-amend-saved" : "fac-closed")}`,
    );
  // The families are told and asked by the outbox jobs the close committed: wake this process's
  // scheduler so they go out now, not at its next poll.
  wakeOutbox(s.db);
  const families = result.asked;
  const lines = [
    families
      ? s.tr(locale, "fac-dispatched", { families, sets: result.satisfactionSets })
      : s.tr(locale, "fac-dispatched-none"),
  ];
  if (result.groupEnded) lines.push(s.tr(locale, "fac-group-ended"));
  for (const later of result.opensLater)
    lines.push(s.tr(locale, "fac-opens-later", { timepoint: later.timepoint, date: later.on }));
  await s.messenger.send(account.chatId!, lines.join("\n"));
  return {};
}

/** Typed text while the session log waits for a reason, a date or a corrected text; false when the log is not waiting for text. */
export async function handleSessionText(
  s: Services,
  account: Account,
  text: string | null,
  markProcessed: MarkProcessed,
): Promise<boolean> {
  const conv = await loadConv(s.db, account.id);
  if (!conv || conv.state.value === "logging") return false;
  const locale = localeOf(s, account);
  const ctx = conv.state.context;
  const value = text?.trim() ?? "";
  if (conv.state.value === "amendReason") {
    if (value.length < 3 || value.length > 500) {
      await s.messenger.send(account.chatId!, s.tr(locale, "fac-reason-invalid"));
      return true;
    }
    const next = stepLog(conv.state, { type: "REASON" })!;
    await s.db.$transaction(async (tx) => {
      await beginAmendment(tx, {
        sessionId: ctx.sessionId!,
        accountId: account.id,
        reason: value,
        now: s.now(),
      });
      await saveConv(tx, account.id, next);
      await markProcessed(tx);
    });
    await present(s, account, { ...conv, state: next });
    return true;
  }
  if (conv.state.value === "pickDate") {
    const day = parseDay(value);
    if (!day || value > today(s)) {
      await s.messenger.send(
        account.chatId!,
        s.tr(locale, "fac-date-invalid", { today: today(s) }),
      );
      return true;
    }
    await chooseDate(s, account, conv, value, markProcessed);
    return true;
  }
  if (conv.state.value === "editItem") {
    const rs = await s.db.responseSet.findUniqueOrThrow({ where: { id: ctx.editRs! } });
    const item = s.flows.instruments.get(rs.instrumentId)?.items.find((i) => i.id === ctx.editItem);
    if (item && item.type !== "choice" && text !== null) {
      const typed =
        item.type === "number"
          ? /^-?\d+([.,]\d+)?$/.test(value)
            ? Number(value.replace(",", "."))
            : Number.NaN
          : value;
      const r = await correct(s, account, conv, item, typed, markProcessed);
      if (!r.ok) {
        const key = item.type === "number" ? "q-number-invalid" : "q-text-invalid";
        await s.messenger.send(
          account.chatId!,
          s.tr(locale, key, { min: item.min ?? 0, max: item.max ?? 0 }),
        );
      }
      return true;
    }
  }
  await s.messenger.send(account.chatId!, s.tr(locale, "q-use-buttons"));
  await present(s, account, conv);
  return true;
}

/** Whether the facilitator has a session log open (any step). */
export async function hasOpenSessionLog(s: Services, account: Account): Promise<boolean> {
  return (await loadConv(s.db, account.id)) !== null;
}

/** The session currently being logged by this facilitator (notes made meanwhile are linked to it). */
export async function currentLogSession(
  s: Services,
  account: Account,
): Promise<{ sessionId: number; groupId: number } | null> {
  const conv = await loadConv(s.db, account.id);
  const c = conv?.state.context;
  return c && c.sessionId !== null && c.groupId !== null
    ? { sessionId: c.sessionId, groupId: c.groupId }
    : null;
}

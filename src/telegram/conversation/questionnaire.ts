// A family's questionnaires in the chat: one item per message, answers saved with the engine
// snapshot in one transaction, the question edited to show the answer, then the next item.
import type { Account } from "../../generated/prisma/client.js";
import type { Tx } from "../../db/client.js";
import { audit } from "../../store/audit.js";
import {
  compileQuestionnaire,
  type PersistedState,
  type Questionnaire,
  type StepResult,
  type View,
} from "../../domain/questionnaire/index.js";
import { t, type Instrument, type Item, type LoadedFlows } from "../../study/model.js";
import { askingOrder } from "../../usecases/assignments.js";
import {
  childAsKnownTo,
  commitConversationStep,
  questionnaireState,
  responseSetFacts,
  type ResponseSetFacts,
  setConversationMessage,
  setResponseSetStatus,
  storedAnswers,
  upsertAnswer,
} from "../../store/questionnaire.js";
import { encodeCallback } from "../callback-data.js";
import { escapeHtml } from "../html.js";
import { localeOf, type Keyboard, type Services } from "../services.js";

export type MarkProcessed = (tx: Tx) => Promise<void>;
const noMark: MarkProcessed = async () => {};

/** Short tag of a machine version, carried in callback data so a press for a changed instrument is refused. */
export function machineTag(machineVersion: string): string {
  let h = 0;
  for (let i = 0; i < machineVersion.length; i++)
    h = (Math.imul(h, 31) + machineVersion.charCodeAt(i)) >>> 0;
  return h.toString(36).padStart(6, "0").slice(-6);
}

/** The next response set this family should answer: earliest slot first, parent before child. */
export async function nextFamilyResponseSet(db: Tx, s: Services, participantId: number) {
  const open = await db.responseSet.findMany({
    where: { participantId, status: { not: "complete" }, respondent: { in: ["parent", "child"] } },
    orderBy: { id: "asc" },
  });
  return firstToAsk(s.flows, open);
}

/** Of a family's unfinished sets, the one asked first: by slot, parent before child, then id. */
export function firstToAsk<T extends { slot: string; respondent: string; id: number }>(
  flows: LoadedFlows,
  open: readonly T[],
): T | null {
  const sorted = [...open].sort(
    (a, b) =>
      askingOrder(flows, a.slot) - askingOrder(flows, b.slot) ||
      (a.respondent === b.respondent ? 0 : a.respondent === "parent" ? -1 : 1) ||
      a.id - b.id,
  );
  return sorted[0] ?? null;
}

type ResponseSetRow = NonNullable<Awaited<ReturnType<typeof nextFamilyResponseSet>>>;

/**
 * Per-role hooks: which response set an account answers next, and what happens when one is
 * complete. Parents are built in; other roles (the facilitator's session log) register theirs.
 */
export interface RoleHooks {
  next(s: Services, account: Account): Promise<ResponseSetRow | null>;
  /** Called after a set completes (already committed). Return true when it sent the follow-up itself. */
  onComplete?(s: Services, account: Account, responseSetId: number): Promise<boolean>;
  /** What to say when nothing is left (default: the family's "all done"). */
  onNothingLeft?(s: Services, account: Account): Promise<void>;
}

const hooks = new Map<string, RoleHooks>([
  [
    "parent",
    {
      next: async (s, account) =>
        account.participantId ? nextFamilyResponseSet(s.db, s, account.participantId) : null,
    },
  ],
]);

export function registerRoleHooks(role: string, h: RoleHooks): void {
  hooks.set(role, h);
}

export function hasRoleHooks(role: string): boolean {
  return hooks.has(role);
}

/** Called after any response set completes (committed), e.g. to check satisfaction thresholds. */
export type CompletionListener = (
  s: Services,
  account: Account,
  responseSetId: number,
) => Promise<void>;
const completionListeners: CompletionListener[] = [];
export function addCompletionListener(l: CompletionListener): void {
  if (!completionListeners.includes(l)) completionListeners.push(l);
}

interface Loaded {
  row: {
    id: number;
    nonce: number;
    messageId: number | null;
    responseSetId: number | null;
    machineVersion: string;
  };
  /** Answers as stored when the conversation was loaded (for corrections' audit). */
  stored?: Record<string, number | string | null>;
  /** Whom a facilitator's set is about (the child's code, or their private nickname for it). */
  subject?: string | null;
  rs: ResponseSetFacts;
  instrument: Instrument;
  q: Questionnaire;
  state: PersistedState;
}

// The answer path's SQL is in src/store/questionnaire.ts (raw statements: it runs for every press).

/** A facilitator rates a child: name the child on every question (code, or the facilitator's nickname). */
async function subjectOf(
  s: Services,
  account: Account,
  rs: { respondent: string; participantId: number | null },
): Promise<string | null> {
  if (rs.respondent !== "facilitator" || rs.participantId === null) return null;
  const row = await childAsKnownTo(s.db, account.id, rs.participantId);
  return row ? (row.nickname ? `${row.nickname} (${row.code})` : row.code) : null;
}

function compileFor(instrument: Instrument, respondent: string): Questionnaire {
  return compileQuestionnaire(instrument, { handoff: respondent === "child" });
}

/** Loads the account's active questionnaire conversation, migrating a snapshot from an older machine. */
async function loadActive(s: Services, account: Account): Promise<Loaded | null> {
  const row = await questionnaireState(s.db, account.id);
  if (!row || row.responseSetId === null) return null;
  const rs = await responseSetFacts(s.db, row.responseSetId);
  const instrument = rs ? s.flows.instruments.get(rs.instrumentId) : undefined;
  if (!rs || !instrument) return null;
  const q = compileFor(instrument, rs.respondent);
  // The answer rows are the truth: a snapshot that disagrees with them is rebuilt from them.
  const stored = await storedAnswers(s.db, rs.id);
  const state = q.restore(row.snapshot, row.machineVersion, stored);
  return { row, rs, instrument, q, state, stored, subject: await subjectOf(s, account, rs) };
}

/** Starts the next pending response set, or returns null when nothing is left. */
async function startNext(s: Services, account: Account): Promise<Loaded | null> {
  const rs = (await hooks.get(account.role)?.next(s, account)) ?? null;
  if (!rs) return null;
  const instrument = s.flows.instruments.get(rs.instrumentId);
  if (!instrument) {
    s.logger.error(
      { responseSet: rs.id, instrument: rs.instrumentId },
      "assigned instrument is not in the flows",
    );
    return null;
  }
  const q = compileFor(instrument, rs.respondent);
  const existing = await storedAnswers(s.db, rs.id);
  const state = Object.keys(existing).length ? q.positionFromAnswers(existing) : q.start();
  const row = await s.db.conversationState.upsert({
    where: { accountId_kind: { accountId: account.id, kind: "questionnaire" } },
    create: {
      accountId: account.id,
      kind: "questionnaire",
      machineId: q.machineId,
      machineVersion: q.machineVersion,
      snapshot: JSON.stringify(state),
      responseSetId: rs.id,
    },
    update: {
      kind: "questionnaire",
      machineId: q.machineId,
      machineVersion: q.machineVersion,
      snapshot: JSON.stringify(state),
      responseSetId: rs.id,
      messageId: null,
    },
  });
  if (rs.instrumentHash !== instrument.hash) {
    // The instrument file changed since this set was assigned: answers keep the hash they were
    // given under; the set now follows the current definition.
    await s.db.responseSet.update({
      where: { id: rs.id },
      data: { instrumentHash: instrument.hash, instrumentVersion: instrument.version },
    });
  }
  return { row, rs, instrument, q, state, subject: await subjectOf(s, account, rs) };
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

function render(
  s: Services,
  l: Loaded,
  view: View,
  locale: string,
  nonce: number,
): { html: string; keyboard: Keyboard } {
  const tag = machineTag(l.q.machineVersion);
  const title = t(l.instrument.title, locale);
  const btn = (text: string, action: "b" | "s" | "p" | "r") => ({
    text,
    callback_data: encodeCallback({ kind: "q", nonce, tag, action }),
  });
  if (view.kind === "handoff") {
    return {
      html: s.tr(locale, "q-handoff", { title }),
      keyboard: [[btn(s.tr(locale, "q-handoff-ready"), "r")]],
    };
  }
  if (view.kind !== "item") return { html: "", keyboard: [] };
  const item = view.item;
  const lines = [
    `<b>${escapeHtml(title)}</b> · ${s.tr(locale, "q-progress", { n: view.number, total: view.total })}`,
    ...(l.subject ? [`👤 ${escapeHtml(l.subject)}`] : []),
    "",
    escapeHtml(t(item.text, locale)),
  ];
  if (view.answer !== undefined)
    lines.push(
      "",
      `<i>${s.tr(locale, "q-current-answer", { answer: optionLabel(item, view.answer, locale) })}</i>`,
    );
  const keyboard: Keyboard = [];
  if (item.type === "choice") {
    const buttons = item.options.map((o, i) => ({
      text: t(o.label, locale),
      callback_data: encodeCallback({ kind: "q", nonce, tag, action: "a", option: i }),
    }));
    // Short numeric labels fit several to a row; sentences get a row each.
    const short = buttons.every((b) => b.text.length <= 3);
    const perRow = short ? 6 : buttons.every((b) => b.text.length <= 12) ? 2 : 1;
    for (let i = 0; i < buttons.length; i += perRow) keyboard.push(buttons.slice(i, i + perRow));
  } else if (item.type === "number") {
    lines.push(
      "",
      `<i>${s.tr(locale, "q-type-number", { min: item.min ?? 0, max: item.max ?? 0 })}</i>`,
    );
  } else {
    lines.push("", `<i>${s.tr(locale, "q-type-text")}</i>`);
  }
  const nav = [];
  if (view.number > 1) nav.push(btn(s.tr(locale, "q-back"), "b"));
  if (!item.required) nav.push(btn(s.tr(locale, "q-skip"), "s"));
  nav.push(btn(s.tr(locale, "q-pause"), "p"));
  keyboard.push(nav);
  return { html: lines.join("\n"), keyboard };
}

/** Sends the current step as a new message (old buttons removed) and binds it with a fresh nonce. */
async function present(
  s: Services,
  account: Account,
  l: Loaded,
  opts: { nonceIsFresh?: boolean } = {},
): Promise<void> {
  const chatId = account.chatId!;
  const locale = localeOf(s, account);
  const view = l.q.view(l.state);
  if (view.kind === "done" || view.kind === "paused") return;
  if (l.row.messageId) await s.messenger.stripButtons(chatId, l.row.messageId);
  // Bump the nonce before sending, so buttons of any earlier rendering are stale. After an
  // answer the step's own transaction already moved it and no message carries it yet.
  let nonce = l.row.nonce;
  if (!opts.nonceIsFresh) {
    nonce = l.row.nonce + 1;
    await s.db.conversationState.update({
      where: { id: l.row.id },
      data: { nonce, messageId: null },
    });
  }
  const { html, keyboard } = render(s, l, view, locale, nonce);
  const messageId = await s.messenger.send(chatId, html, keyboard);
  await setConversationMessage(s.db, l.row.id, messageId, s.now());
  l.row = { ...l.row, nonce, messageId };
}

/** Continue (or start) the family's questionnaires: resumes a pause, else shows the current item. */
export async function continueQuestionnaires(
  s: Services,
  account: Account,
  opts: { announceEmpty?: boolean } = {},
): Promise<"asking" | "nothing"> {
  let l = await loadActive(s, account);
  if (l) {
    const view = l.q.view(l.state);
    if (view.kind === "paused") {
      const r = l.q.step(l.state, { type: "RESUME" });
      if (r.accepted) {
        l.state = r.state;
        await s.db.conversationState.update({
          where: { id: l.row.id },
          data: { snapshot: JSON.stringify(r.state), machineVersion: l.q.machineVersion },
        });
        await s.messenger.send(account.chatId!, s.tr(localeOf(s, account), "q-resumed"));
      }
    } else if (view.kind === "done") {
      l = null;
    }
  }
  if (!l) l = await startNext(s, account);
  if (!l) {
    await s.db.conversationState.deleteMany({
      where: { accountId: account.id, kind: "questionnaire" },
    });
    if (opts.announceEmpty)
      await s.messenger.send(account.chatId!, s.tr(localeOf(s, account), "q-nothing-pending"));
    return "nothing";
  }
  // present() shows an item or the hand-off and does nothing for a finished or paused set.
  await present(s, account, l);
  return "asking";
}

async function writeStep(
  tx: Tx,
  s: Services,
  account: Account,
  l: Loaded,
  r: StepResult,
  nonce: number,
): Promise<void> {
  const now = s.now();
  const e = r.effect;
  const rs = l.rs;
  // First, the compare-and-set of the conversation: the press was checked against this nonce
  // before the transaction; if another process stepped meanwhile, nothing here may be written.
  // (The question message is acknowledged right after this commit; it no longer binds.)
  const moved = await commitConversationStep(tx, {
    stateId: l.row.id,
    expectedNonce: l.row.nonce,
    nonce,
    snapshot: JSON.stringify(r.state),
    machineVersion: l.q.machineVersion,
    now,
  });
  if (!moved) throw new StalePress();
  if (e && (e.type === "answered" || e.type === "skipped")) {
    const stored = l.stored ?? (await storedAnswers(tx, rs.id));
    const hadAnswer = Object.prototype.hasOwnProperty.call(stored, e.itemId);
    const previous = hadAnswer ? { value: stored[e.itemId] ?? null } : null;
    const value = e.type === "answered" && typeof e.value === "number" ? e.value : null;
    const text = e.type === "answered" && typeof e.value === "string" ? e.value : null;
    const skipped = e.type === "skipped";
    await upsertAnswer(tx, {
      responseSetId: rs.id,
      itemId: e.itemId,
      value,
      text,
      skipped,
      instrumentHash: l.instrument.hash,
      respondent: rs.respondent,
      accountId: account.id,
      at: now,
    });
    await audit(tx, {
      actor: { kind: "account", accountId: account.id },
      action: previous ? "answer.correct" : "answer.save",
      entity: "Answer",
      entityId: `${rs.id}:${e.itemId}`,
      at: now,
      data: {
        responseSet: rs.id,
        item: e.itemId,
        value: value ?? text,
        skipped,
        ...(previous ? { previous: previous.value } : {}),
      },
    });
    if (e.dropped.length) {
      // Skip logic hid items answered earlier: their answers no longer apply; the audit keeps them.
      const gone = await tx.answer.findMany({
        where: { responseSetId: rs.id, itemId: { in: e.dropped } },
      });
      await tx.answer.deleteMany({ where: { responseSetId: rs.id, itemId: { in: e.dropped } } });
      for (const g of gone) {
        await audit(tx, {
          actor: { kind: "account", accountId: account.id },
          action: "answer.drop-hidden",
          entity: "Answer",
          entityId: `${rs.id}:${g.itemId}`,
          at: now,
          data: {
            responseSet: rs.id,
            item: g.itemId,
            previous: g.skipped ? null : (g.value ?? g.text),
          },
        });
      }
    }
  }
  const status = r.completed ? "complete" : e?.type === "paused" ? "paused" : "in_progress";
  await setResponseSetStatus(tx, {
    id: rs.id,
    status,
    accountId: account.id,
    completed: r.completed,
    now,
  });
  if (r.completed) {
    await audit(tx, {
      actor: { kind: "account", accountId: account.id },
      action: "questionnaire.complete",
      entity: "ResponseSet",
      entityId: rs.id,
      at: now,
      data: { instrument: rs.instrumentId },
    });
  }
}

/** Another process (or instance) stepped this conversation first: the press no longer applies. */
class StalePress extends Error {}

export type PressOutcome = { toast?: string };

/** A button press on a questionnaire message. Returns the toast to show (always answered by the caller). */
export async function handleQuestionnairePress(
  s: Services,
  account: Account,
  press: {
    nonce: number;
    tag: string;
    action: "a" | "b" | "s" | "p" | "r";
    option?: number;
    messageId: number | undefined;
  },
  markProcessed: MarkProcessed = noMark,
): Promise<PressOutcome> {
  const locale = localeOf(s, account);
  const l = await loadActive(s, account);
  if (
    !l ||
    press.nonce !== l.row.nonce ||
    press.tag !== machineTag(l.q.machineVersion) ||
    (l.row.messageId !== null && press.messageId !== l.row.messageId)
  ) {
    return { toast: s.tr(locale, "toast-stale") };
  }
  // Crashed between sending this question and recording its message id: the press itself tells
  // us which message carries the live buttons, so it can be acknowledged like any other.
  if (l.row.messageId === null && press.messageId !== undefined)
    l.row = { ...l.row, messageId: press.messageId };
  const view = l.q.view(l.state);
  let r: StepResult;
  if (press.action === "r") r = l.q.step(l.state, { type: "READY" });
  else if (press.action === "p") r = l.q.step(l.state, { type: "PAUSE" });
  else if (press.action === "b") r = l.q.step(l.state, { type: "BACK" });
  else if (view.kind !== "item") return { toast: s.tr(locale, "toast-stale") };
  else if (press.action === "s") r = l.q.step(l.state, { type: "SKIP", itemId: view.item.id });
  else {
    const option = view.item.options[press.option ?? -1];
    if (!option) return { toast: s.tr(locale, "toast-invalid") };
    r = l.q.step(l.state, { type: "ANSWER", itemId: view.item.id, value: option.value });
  }
  if (!r.accepted) {
    const key =
      r.reason === "not-optional"
        ? "toast-not-optional"
        : r.reason === "no-back"
          ? "toast-no-back"
          : r.reason === "finished"
            ? "toast-done"
            : r.reason === "invalid"
              ? "toast-invalid"
              : "toast-stale";
    return { toast: s.tr(locale, key) };
  }
  if ((await applyStep(s, account, l, r, view, markProcessed)) === "stale")
    return { toast: s.tr(locale, "toast-stale") };
  return {};
}

/** Typed text (or media) while a questionnaire is active. Returns false when no questionnaire is active. */
export async function handleQuestionnaireText(
  s: Services,
  account: Account,
  text: string | null,
  markProcessed: MarkProcessed = noMark,
): Promise<boolean> {
  const locale = localeOf(s, account);
  const l = await loadActive(s, account);
  if (!l) return false;
  const view = l.q.view(l.state);
  if (view.kind === "paused") {
    await continueQuestionnaires(s, account);
    return true;
  }
  if (view.kind === "done") return false;
  if (view.kind === "handoff" || view.item.type === "choice" || text === null) {
    await s.messenger.send(
      account.chatId!,
      s.tr(
        locale,
        text === null && view.kind === "item" && view.item.type !== "choice"
          ? "unsupported-message"
          : "q-use-buttons",
      ),
    );
    await present(s, account, l);
    return true;
  }
  const item = view.item;
  // A typed answer counts only for a question on screen. After a crash between saving the previous
  // answer and showing this question, a re-typed answer (meant for the previous question) would
  // otherwise be taken for this one: show the question instead.
  if (l.row.messageId === null) {
    await present(s, account, l);
    return true;
  }
  let value: number | string;
  if (item.type === "number") {
    const n = Number(text.trim().replace(",", "."));
    if (
      !/^-?\d+([.,]\d+)?$/.test(text.trim()) ||
      !Number.isFinite(n) ||
      n < (item.min ?? -Infinity) ||
      n > (item.max ?? Infinity)
    ) {
      await s.messenger.send(
        account.chatId!,
        s.tr(locale, "q-number-invalid", { min: item.min ?? 0, max: item.max ?? 0 }),
      );
      return true;
    }
    value = n;
  } else {
    value = text.trim();
  }
  const r = l.q.step(l.state, { type: "ANSWER", itemId: item.id, value });
  if (!r.accepted) {
    await s.messenger.send(
      account.chatId!,
      s.tr(locale, item.type === "number" ? "q-number-invalid" : "q-text-invalid", {
        min: item.min ?? 0,
        max: item.max ?? 0,
      }),
    );
    return true;
  }
  await applyStep(s, account, l, r, view, markProcessed);
  return true;
}

async function applyStep(
  s: Services,
  account: Account,
  l: Loaded,
  r: StepResult,
  before: View,
  markProcessed: MarkProcessed,
): Promise<"applied" | "stale"> {
  const locale = localeOf(s, account);
  const chatId = account.chatId!;
  // The nonce moves with the step, in the same transaction: if we crash before the question is
  // edited or the next one sent, a second press on the old question is refused as stale instead
  // of answering the item that is now current with a choice made for the previous one.
  const nonce = l.row.nonce + 1;
  try {
    await s.db.$transaction(async (tx) => {
      await writeStep(tx, s, account, l, r, nonce);
      await markProcessed(tx);
    });
  } catch (e) {
    if (e instanceof StalePress) return "stale";
    throw e;
  }
  l.row = { ...l.row, nonce };
  l.state = r.state;
  const oldMessage = l.row.messageId;
  // Acknowledge on the question itself: it now shows the answer and no buttons.
  if (oldMessage && before.kind === "item") {
    const e = r.effect;
    const base = render(s, l, before, locale, l.row.nonce).html.split("\n\n<i>")[0]!;
    let suffix = "";
    if (e?.type === "answered")
      suffix = s.tr(locale, "q-answered", { answer: optionLabel(before.item, e.value, locale) });
    else if (e?.type === "skipped") suffix = s.tr(locale, "q-skipped");
    else if (e?.type === "paused") suffix = "⏸";
    else if (e?.type === "back") suffix = "◀";
    await s.messenger.edit(chatId, oldMessage, suffix ? `${base}\n\n<b>${suffix}</b>` : base);
  } else if (oldMessage) {
    // The hand-off message: its button goes now (the step's commit already unbound it).
    await s.messenger.stripButtons(chatId, oldMessage);
  }
  l.row = { ...l.row, messageId: null };
  if (r.effect?.type === "paused") {
    await s.messenger.send(chatId, s.tr(locale, "q-paused"));
    return "applied";
  }
  if (r.completed) {
    for (const listener of completionListeners) {
      try {
        await listener(s, account, l.rs.id);
      } catch (e) {
        s.logger.error(
          { err: e instanceof Error ? e.message : String(e), responseSet: l.rs.id },
          "completion listener failed",
        );
      }
    }
    const h = hooks.get(account.role);
    if (h?.onComplete && (await h.onComplete(s, account, l.rs.id))) return "applied";
    await s.messenger.send(
      chatId,
      s.tr(locale, "q-instrument-done", { title: t(l.instrument.title, locale) }),
    );
    const next = await continueQuestionnaires(s, account);
    if (next === "nothing") {
      if (h?.onNothingLeft) await h.onNothingLeft(s, account);
      else await s.messenger.send(chatId, s.tr(locale, "q-all-done"));
    }
    return "applied";
  }
  await present(s, account, l, { nonceIsFresh: true });
  return "applied";
}

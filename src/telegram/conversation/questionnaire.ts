// Questionnaires in the chat (a family's, and the observations and reflection a facilitator's
// session log runs as its child): one item per message, the question edited to show the answer,
// then the next item. Each step runs on the conversation runtime (src/conversations/runtime.ts)
// as the questionnaire kind (src/conversations/questionnaire.ts): the press check, the answer
// rows and the engine snapshot in one transaction with the processed update; this module parses
// the update, calls the runtime and renders. Which sets are answered and what follows a completed
// one is the caller's QuestionnaireOwner (default: the family's).
import type { Account } from "../../generated/prisma/client.js";
import type { Tx } from "../../db/client.js";
import { t } from "../../study/model.js";
import { nextFamilyResponseSet } from "../../usecases/assignments.js";
import { onResponseSetCompleted } from "../../usecases/sessions.js";
import { followCurrentInstrument } from "../../usecases/answers.js";
import { deleteConversation } from "../../store/conversations.js";
import type { ResponseSetFacts } from "../../store/questionnaire.js";
import { conversationRuntime, versionTag, type Conversation } from "../../conversations/runtime.js";
import {
  optionLabel,
  questionnaireKind,
  questionnaireScreen,
  type QuestionnaireAction,
  type QuestionnaireConv,
  type QuestionnaireInput,
} from "../../conversations/questionnaire.js";
import type { RejectReason } from "../../domain/questionnaire/index.js";
import type { QuestionnaireEffect } from "../../conversations/questionnaire.js";
import { encodeCallback } from "../callback-data.js";
import { localeOf, type Services } from "../services.js";
import { chatPresenter } from "./present.js";

export type MarkProcessed = (tx: Tx) => Promise<void>;
const noMark: MarkProcessed = async () => {};

/** Short tag of a machine version, carried in callback data so a press for a changed instrument is refused. */
export const machineTag = versionTag;

/**
 * Who runs a questionnaire conversation, given explicitly by the caller: which set is answered
 * next, what commits with a set's completion and what follows it. A family works through its own
 * sets (familyQuestionnaires, the default); a session log runs the observation or reflection set
 * it is at as its child conversation (sessionLogChild in ./session-log.ts).
 */
export interface QuestionnaireOwner {
  /** The set to answer now, or null when nothing is left. */
  next(): Promise<ResponseSetFacts | null>;
  /** Written with a set's completion, in the completing step's transaction. */
  onComplete?(tx: Tx, responseSetId: number): Promise<void>;
  /**
   * After a set completed (committed, its last question acknowledged). Without it: the
   * instrument's "done", then the next set or the family's "all done".
   */
  completed?(responseSetId: number): Promise<void>;
}

/** A family's questionnaires: the parent's and the child's sets in the order they are asked. */
export function familyQuestionnaires(s: Services, account: Account): QuestionnaireOwner {
  return {
    next: async () =>
      account.role === "parent" && account.participantId
        ? nextFamilyResponseSet(s.db, s.flows, account.participantId)
        : null,
  };
}

type Conv = Conversation<QuestionnaireConv>;

/** The questionnaire kind for this account and owner, its runtime and its chat. */
function questionnaireRuntime(s: Services, account: Account, owner: QuestionnaireOwner) {
  const locale = localeOf(s, account);
  const tr = (key: string, vars?: Record<string, string | number>) => s.tr(locale, key, vars);
  const kind = questionnaireKind({
    db: s.db,
    accountId: account.id,
    locale,
    tr,
    now: () => s.now(),
    flows: s.flows,
    onMissingInstrument: (responseSet, instrument) =>
      s.logger.error({ responseSet, instrument }, "assigned instrument is not in the flows"),
    ...(owner.onComplete ? { onComplete: owner.onComplete } : {}),
  });
  const rt = conversationRuntime(kind, { db: s.db, now: () => s.now() });
  /** Buttons carry the nonce and the tag of the instrument's machine version. */
  const presenter = (conv: Conv) => {
    const tag = machineTag(conv.state.q.machineVersion);
    return chatPresenter(s, account.chatId!, (nonce, b) =>
      b.op === "a"
        ? encodeCallback({ kind: "q", nonce, tag, action: "a", option: Number(b.arg) })
        : encodeCallback({ kind: "q", nonce, tag, action: b.op as "b" | "s" | "p" | "r" }),
    );
  };
  /** Shows an item or the hand-off; a finished or paused set shows nothing. */
  const showing = (conv: Conv) => {
    const v = conv.state.q.view(conv.state.state).kind;
    return v === "item" || v === "handoff";
  };
  return { kind, rt, presenter, showing, locale, tr, owner };
}

type QRuntime = ReturnType<typeof questionnaireRuntime>;

/** Starts the next pending response set, or returns null when nothing is left. */
async function startNext(s: Services, account: Account, q: QRuntime): Promise<Conv | null> {
  const rs = await q.owner.next();
  if (!rs) return null;
  const state = await q.kind.open(rs);
  if (!state) return null;
  const instrument = state.instrument;
  return q.rt.start(account.id, state, {
    responseSetId: rs.id,
    // The instrument file changed since this set was assigned: answers keep the hash they were
    // given under; the set now follows the current definition.
    effects: async (tx) => {
      if (rs.instrumentHash !== instrument.hash)
        await followCurrentInstrument(tx, rs.id, instrument);
    },
  });
}

/** Continue (or start) the owner's questionnaires: resumes a pause, else shows the current item. */
export async function continueQuestionnaires(
  s: Services,
  account: Account,
  opts: { announceEmpty?: boolean; owner?: QuestionnaireOwner } = {},
): Promise<"asking" | "nothing"> {
  const owner = opts.owner ?? familyQuestionnaires(s, account);
  const q = questionnaireRuntime(s, account, owner);
  let conv = await q.rt.load(account.id);
  let fresh = false;
  if (conv) {
    const view = conv.state.q.view(conv.state.state);
    if (view.kind === "paused") {
      const out = await q.rt.step(conv, { type: "resume" });
      if (out.status === "stepped") {
        conv = out.conv;
        fresh = true;
        await s.messenger.send(account.chatId!, q.tr("q-resumed"));
      }
    } else if (view.kind === "done") {
      conv = null;
    }
  }
  if (!conv) {
    conv = await startNext(s, account, q);
    fresh = true;
  }
  if (!conv) {
    await deleteConversation(s.db, account.id, "questionnaire");
    if (opts.announceEmpty) await s.messenger.send(account.chatId!, q.tr("q-nothing-pending"));
    return "nothing";
  }
  if (q.showing(conv)) {
    if (fresh) await q.rt.present(conv, q.presenter(conv), { replacing: conv.messageId });
    else await q.rt.reshow(conv, q.presenter(conv));
  }
  return "asking";
}

export type PressOutcome = { toast?: string };

function toastFor(tr: QRuntime["tr"], reason: RejectReason): string {
  return tr(
    reason === "not-optional"
      ? "toast-not-optional"
      : reason === "no-back"
        ? "toast-no-back"
        : reason === "finished"
          ? "toast-done"
          : reason === "invalid"
            ? "toast-invalid"
            : "toast-stale",
  );
}

/** A button press on a questionnaire message. Returns the toast to show (always answered by the caller). */
export async function handleQuestionnairePress(
  s: Services,
  account: Account,
  press: {
    nonce: number;
    tag: string;
    action: QuestionnaireAction;
    option?: number;
    messageId: number | undefined;
  },
  markProcessed: MarkProcessed = noMark,
  owner: QuestionnaireOwner = familyQuestionnaires(s, account),
): Promise<PressOutcome> {
  const q = questionnaireRuntime(s, account, owner);
  const input: QuestionnaireInput =
    press.action === "a"
      ? {
          type: "press",
          action: "a",
          ...(press.option === undefined ? {} : { option: press.option }),
        }
      : { type: "press", action: press.action };
  const out = await q.rt.press(
    account.id,
    { nonce: press.nonce, messageId: press.messageId, tag: press.tag },
    input,
    markProcessed,
  );
  if (out.status === "stale") return { toast: q.tr("toast-stale") };
  if (out.status === "rejected") return { toast: toastFor(q.tr, out.reason) };
  // Crashed between sending this question and recording its message id: the press itself tells
  // us which message carries the live buttons, so it can be acknowledged like any other.
  await afterStep(s, account, q, out, out.before.messageId ?? press.messageId ?? null);
  return {};
}

/** Typed text (or media) while a questionnaire is active. Returns false when no questionnaire is active. */
export async function handleQuestionnaireText(
  s: Services,
  account: Account,
  text: string | null,
  markProcessed: MarkProcessed = noMark,
  owner: QuestionnaireOwner = familyQuestionnaires(s, account),
): Promise<boolean> {
  const q = questionnaireRuntime(s, account, owner);
  const conv = await q.rt.load(account.id);
  if (!conv) return false;
  const view = conv.state.q.view(conv.state.state);
  if (view.kind === "paused") {
    await continueQuestionnaires(s, account, { owner });
    return true;
  }
  if (view.kind === "done") return false;
  if (view.kind === "handoff" || view.item.type === "choice" || text === null) {
    await s.messenger.send(
      account.chatId!,
      q.tr(
        text === null && view.kind === "item" && view.item.type !== "choice"
          ? "unsupported-message"
          : "q-use-buttons",
      ),
    );
    await q.rt.reshow(conv, q.presenter(conv));
    return true;
  }
  const item = view.item;
  // A typed answer counts only for a question on screen. After a crash between saving the previous
  // answer and showing this question, a re-typed answer (meant for the previous question) would
  // otherwise be taken for this one: show the question instead.
  if (conv.messageId === null) {
    await q.rt.reshow(conv, q.presenter(conv));
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
        q.tr("q-number-invalid", { min: item.min ?? 0, max: item.max ?? 0 }),
      );
      return true;
    }
    value = n;
  } else {
    value = text.trim();
  }
  const out = await q.rt.step(conv, { type: "answer", itemId: item.id, value }, markProcessed);
  if (out.status === "rejected") {
    await s.messenger.send(
      account.chatId!,
      q.tr(item.type === "number" ? "q-number-invalid" : "q-text-invalid", {
        min: item.min ?? 0,
        max: item.max ?? 0,
      }),
    );
    return true;
  }
  if (out.status === "stepped") await afterStep(s, account, q, out, conv.messageId);
  return true;
}

/** After a committed step: acknowledge it on its message, then the next item or what follows. */
async function afterStep(
  s: Services,
  account: Account,
  q: QRuntime,
  out: { before: Conv; conv: Conv; effects: QuestionnaireEffect[] },
  oldMessage: number | null,
): Promise<void> {
  const chatId = account.chatId!;
  const { locale, tr } = q;
  const before = out.before.state;
  const beforeView = before.q.view(before.state);
  const r = out.effects[0]!.result;
  // Acknowledge on the question itself: it now shows the answer and no buttons.
  if (oldMessage && beforeView.kind === "item") {
    const e = r.effect;
    const base = questionnaireScreen(before, beforeView, { locale, tr }).html.split("\n\n<i>")[0]!;
    let suffix = "";
    if (e?.type === "answered")
      suffix = tr("q-answered", { answer: optionLabel(beforeView.item, e.value, locale) });
    else if (e?.type === "skipped") suffix = tr("q-skipped");
    else if (e?.type === "paused") suffix = "⏸";
    else if (e?.type === "back") suffix = "◀";
    await s.messenger.edit(chatId, oldMessage, suffix ? `${base}\n\n<b>${suffix}</b>` : base);
  } else if (oldMessage) {
    // The hand-off message: its button goes now (the step's commit already unbound it).
    await s.messenger.stripButtons(chatId, oldMessage);
  }
  if (r.effect?.type === "paused") {
    await s.messenger.send(chatId, tr("q-paused"));
    return;
  }
  if (r.completed) {
    const responseSetId = before.rs.id;
    // Every completed set is checked for the facilitators' alerts (a family's session rating, the
    // facilitator's reflection): an outbox job, claimed at once by this process's scheduler.
    try {
      await onResponseSetCompleted(s, account, responseSetId);
    } catch (e) {
      s.logger.error(
        { err: e instanceof Error ? e.message : String(e), responseSet: responseSetId },
        "completion check failed",
      );
    }
    if (q.owner.completed) {
      await q.owner.completed(responseSetId);
      return;
    }
    await s.messenger.send(
      chatId,
      tr("q-instrument-done", { title: t(before.instrument.title, locale) }),
    );
    const next = await continueQuestionnaires(s, account, { owner: q.owner });
    if (next === "nothing") await s.messenger.send(chatId, tr("q-all-done"));
    return;
  }
  await q.rt.present(out.conv, q.presenter(out.conv));
}

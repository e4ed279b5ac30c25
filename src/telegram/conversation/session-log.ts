// `/session`: a facilitator logs a group session on the ward, on a phone. Group → session number
// (default: the next one) → date → attendance (toggle keyboard) → one observation per attending
// child (skippable) → the reflection → close. Amending a closed session: reason → menu (date,
// attendance, one child's observation, reflection) → close again.
//
// The log runs on the conversation runtime (src/conversations/runtime.ts) as the session-log kind
// (src/conversations/session-log.ts: the pure machine and step of src/domain/conversations/
// session-log.ts, its view and its writes through src/usecases); its state lives in
// ConversationState (kind "session"), so a restart resumes at the same step with the same buttons
// still valid. Each observation and the reflection is answered as a questionnaire conversation
// that is the log's child: the log starts it for the set it is at and hears of its completion
// through the owner it gives the questionnaire (sessionLogChild). This module parses the update,
// calls the runtime and renders.
import type { Account } from "../../generated/prisma/client.js";
import { wakeOutbox } from "../../scheduler/outbox.js";
import { facilitatorGroups, leadsGroup } from "../../usecases/groups.js";
import { isObservationSet } from "../../usecases/sessions.js";
import {
  initialLogState,
  stepLog,
  type LogEffect,
  type LogRejection,
  type LogState,
} from "../../domain/conversations/session-log.js";
import { pressIsLive } from "../../domain/conversations/press.js";
import { conversationRuntime, type Conversation } from "../../conversations/runtime.js";
import {
  childCompletion,
  dropChildQuestionnaire,
  nextLogSet,
  resolveLogPress,
  resolveLogText,
  sessionLogKind,
  typedItem,
  type SessionLogEnv,
} from "../../conversations/session-log.js";
import { today } from "../../conversations/session-log-view.js";
import { localeOf, type Services } from "../services.js";
import {
  continueQuestionnaires,
  type MarkProcessed,
  type QuestionnaireOwner,
} from "./questionnaire.js";
import { featureCallback } from "./stored.js";
import { chatPresenter } from "./present.js";

const cb = featureCallback("ses");

type Conv = Conversation<LogState>;

/** The session-log kind for this account, its runtime and where it is shown. */
function logRuntime(s: Services, account: Account) {
  const locale = localeOf(s, account);
  const env: SessionLogEnv = {
    db: s.db,
    accountId: account.id,
    flows: s.flows,
    locale,
    tr: (key, vars) => s.tr(locale, key, vars),
    now: () => s.now(),
    timeZone: s.config.QUIET_HOURS_TZ,
    logger: s.logger,
  };
  const kind = sessionLogKind(env);
  const rt = conversationRuntime(kind, { db: s.db, now: () => s.now() });
  const presenter = chatPresenter(s, account.chatId!, (nonce, b) => cb(nonce, b.op, b.arg));
  return { env, kind, rt, presenter, tr: env.tr, chatId: account.chatId! };
}

type Log = ReturnType<typeof logRuntime>;

/**
 * The log's child: the questionnaire conversation of the observation or reflection set the log
 * is at. Its completion writes the Observation rows (or the Reflection) with the last answer, and
 * the log moves on to the next set.
 */
export function sessionLogChild(s: Services, account: Account): QuestionnaireOwner {
  const log = logRuntime(s, account);
  return {
    async next() {
      const conv = await log.rt.load(account.id);
      return conv?.state.value === "logging" ? nextLogSet(s.db, s.flows, conv.state.context) : null;
    },
    onComplete: childCompletion(log.env),
    completed: (responseSetId) => childDone(s, account, log, responseSetId),
  };
}

/** The child's set is complete (committed): its header records it, and the log moves on. */
async function childDone(s: Services, account: Account, log: Log, responseSetId: number) {
  const conv = await log.rt.load(account.id);
  const rs = await s.db.responseSet.findUnique({ where: { id: responseSetId } });
  let headerDone = false;
  if (
    conv?.messageId &&
    conv.state.context.header === responseSetId &&
    rs &&
    isObservationSet(s.flows, rs)
  ) {
    // The header's skip button has served its purpose: it now records the outcome.
    await s.messenger.edit(
      log.chatId,
      conv.messageId,
      await log.kind.texts.headerOutcome(conv.state.context, responseSetId, "observed"),
    );
    headerDone = true;
  }
  await advance(s, account, log, { headerDone });
}

/** Removes the question of a child conversation that ended unanswered (a skipped child). */
async function removeQuestion(s: Services, chatId: string, messageId: number): Promise<void> {
  // The question left unanswered would read as a gap in the record.
  try {
    await s.api.deleteMessage(Number(chatId), messageId);
  } catch {
    await s.messenger.stripButtons(chatId, messageId);
  }
}

/**
 * Moves the log on while it is logging: the next child's observation (a header naming the child
 * with a "Skip this child" button, then the child questionnaire), the reflection, or, when
 * everything is done, the close confirmation (or the amendment menu). `resume` shows the current
 * set's header again; `headerDone`: the header message was already finished (no buttons to remove).
 */
async function advance(
  s: Services,
  account: Account,
  log: Log,
  opts: { resume?: boolean; headerDone?: boolean } = {},
): Promise<void> {
  const conv = await log.rt.load(account.id);
  if (!conv || conv.state.value !== "logging") return;
  const rs = await nextLogSet(s.db, s.flows, conv.state.context);
  // The child is always about the set the log is at; one about another set ends here.
  const dropped = await dropChildQuestionnaire(s.db, account.id, rs?.id ?? null);
  if (dropped?.messageId) await removeQuestion(s, log.chatId, dropped.messageId);
  const replacing = opts.headerDone ? null : conv.messageId;
  if (!rs) {
    const out = await log.rt.step(conv, { type: "logged" });
    // Not stepped: another update moved the log on and shows it.
    if (out.status === "stepped") await log.rt.present(out.conv, log.presenter, { replacing });
    return;
  }
  if (opts.resume || conv.state.context.header !== rs.id) {
    const out = await log.rt.step(conv, { type: "header", responseSetId: rs.id });
    if (out.status !== "stepped") return;
    if (isObservationSet(s.flows, rs)) {
      await log.rt.present(out.conv, log.presenter, { replacing });
    } else {
      // The reflection's header has no buttons: it is sent, not bound to the conversation.
      if (replacing) await s.messenger.stripButtons(log.chatId, replacing);
      await s.messenger.send(log.chatId, (await log.kind.view(out.conv.state)).html);
    }
  }
  await continueQuestionnaires(s, account, { owner: sessionLogChild(s, account) });
}

/** Shows the log again without a step (older buttons go stale); the logging step resumes its set. */
async function reshow(s: Services, account: Account, log: Log, conv: Conv): Promise<void> {
  if (conv.state.value === "logging") await advance(s, account, log, { resume: true });
  else await log.rt.reshow(conv, log.presenter);
}

/** After a committed step: the new step (or what the step leaves behind) in the chat. */
async function showStep(
  s: Services,
  account: Account,
  log: Log,
  out: { before: Conv; conv: Conv; effects: LogEffect[] },
  messageId: number | undefined,
): Promise<void> {
  const show = out.effects.find((e) => e.type === "show")?.as ?? "step";
  const ctx = out.before.state.context;
  /** The new step; `replacing`: the message whose buttons go (none when it was just finished). */
  const next = (replacing: number | null = out.before.messageId) =>
    out.conv.state.value === "logging"
      ? advance(s, account, log, { resume: true })
      : log.rt.present(out.conv, log.presenter, { replacing });
  const finish = async (html: string) => {
    if (messageId) await s.messenger.edit(log.chatId, messageId, html);
  };
  const strip = async () => {
    if (messageId) await s.messenger.stripButtons(log.chatId, messageId);
  };
  switch (show) {
    case "redraw":
      if (messageId) await log.rt.present(out.conv, log.presenter, { edit: messageId });
      else await next();
      return;
    case "cancelled":
      await strip();
      await s.messenger.send(log.chatId, log.tr("fac-cancelled"));
      return;
    case "later":
      await strip();
      await s.messenger.send(log.chatId, log.tr("fac-close-later"));
      return;
    case "attendance-saved": {
      const saved = out.effects.find((e) => e.type === "record-attendance")!;
      await finish(await log.kind.texts.attendanceSaved(ctx, saved));
      await next(null);
      return;
    }
    case "skipped": {
      const skipped = out.effects.find((e) => e.type === "skip-observation")!;
      await finish(await log.kind.texts.headerOutcome(ctx, skipped.responseSetId, "skipped"));
      await advance(s, account, log);
      return;
    }
    case "closed": {
      await finish(await log.kind.texts.closedText(ctx, ctx.amending));
      // The families are told and asked by the outbox jobs the close committed: wake this
      // process's scheduler so they go out now, not at its next poll.
      wakeOutbox(s.db);
      await s.messenger.send(log.chatId, log.kind.texts.closeReport(log.kind.closed!));
      return;
    }
    case "step":
    case "corrected":
    case "moved":
      // A redone set leaves the amendment menu for the logging step: the menu's buttons go.
      if (out.conv.state.value === "logging") await strip();
      await next();
      return;
  }
}

function toastFor(log: Log, reason: LogRejection): string {
  switch (reason) {
    case "not-your-group":
      return log.tr("fac-toast-not-your-group");
    case "other-logger":
      return log.tr("fac-toast-other-logger");
    case "nobody":
      return log.tr("fac-toast-nobody");
    case "incomplete":
      return log.tr("fac-toast-log-incomplete");
    case "invalid":
      return log.tr("toast-invalid");
    default:
      return log.tr("toast-stale");
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** `/session`: resumes the log in progress, or starts one. */
export async function startSessionLog(s: Services, account: Account): Promise<void> {
  const log = logRuntime(s, account);
  const existing = await log.rt.load(account.id);
  if (existing) {
    // A group this facilitator no longer leads is not resumed.
    const groupId = existing.state.context.groupId;
    if (groupId === null || (await leadsGroup(s.db, account.id, groupId))) {
      await s.messenger.send(log.chatId, log.tr("fac-resuming"));
      await reshow(s, account, log, existing);
      return;
    }
  }
  const groups = await facilitatorGroups(s.db, account.id);
  if (groups.length === 0) {
    await s.messenger.send(log.chatId, log.tr("fac-no-groups"));
    return;
  }
  let state = initialLogState();
  if (groups.length === 1) state = stepLog(state, { type: "PICK_GROUP", groupId: groups[0]!.id })!;
  const conv = await log.rt.start(account.id, state);
  await log.rt.present(conv, log.presenter);
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
  const log = logRuntime(s, account);
  const conv = await log.rt.load(account.id);
  if (!conv || !pressIsLive(conv, press)) return { toast: log.tr("toast-stale") };
  const resolved = await resolveLogPress(log.env, conv.state, press);
  if (!resolved.ok) return { toast: toastFor(log, resolved.reason) };
  const out = await log.rt.step(conv, resolved.input, markProcessed);
  if (out.status === "stale") return { toast: log.tr("toast-stale") };
  if (out.status === "rejected") return { toast: toastFor(log, out.reason) };
  await showStep(s, account, log, out, press.messageId);
  const corrected = out.effects.some((e) => e.type === "show" && e.as === "corrected");
  return corrected ? { toast: log.tr("toast-saved") } : {};
}

/** Typed text while the session log waits for a reason, a date or a corrected text; false when the log is not waiting for text. */
export async function handleSessionText(
  s: Services,
  account: Account,
  text: string | null,
  markProcessed: MarkProcessed,
): Promise<boolean> {
  const log = logRuntime(s, account);
  const conv = await log.rt.load(account.id);
  if (!conv) return false;
  const resolved = await resolveLogText(log.env, conv.state, text);
  const out = resolved.ok ? await log.rt.step(conv, resolved.input, markProcessed) : null;
  if (out?.status === "stepped") {
    await showStep(s, account, log, out, undefined);
    return true;
  }
  const reason = !resolved.ok ? resolved.reason : out?.status === "rejected" ? out.reason : null;
  switch (reason) {
    case "not-waiting":
      return false;
    case "reason-invalid":
      await s.messenger.send(log.chatId, log.tr("fac-reason-invalid"));
      return true;
    case "invalid-date":
      await s.messenger.send(log.chatId, log.tr("fac-date-invalid", { today: today(log.env) }));
      return true;
    case "invalid": {
      const item = await typedItem(log.env, conv.state);
      const key = item?.type === "number" ? "q-number-invalid" : "q-text-invalid";
      await s.messenger.send(log.chatId, log.tr(key, { min: item?.min ?? 0, max: item?.max ?? 0 }));
      return true;
    }
    case null: {
      // A step committed meanwhile (another update): show where the log is now.
      const now = await log.rt.load(account.id);
      if (now) await reshow(s, account, log, now);
      return true;
    }
    default:
      await s.messenger.send(log.chatId, log.tr("q-use-buttons"));
      await reshow(s, account, log, conv);
      return true;
  }
}

/** Whether the facilitator has a session log open (any step). */
export async function hasOpenSessionLog(s: Services, account: Account): Promise<boolean> {
  return (await logRuntime(s, account).rt.load(account.id)) !== null;
}

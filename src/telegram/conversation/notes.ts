// `/note` and `/interview` in the chat: free-text observation or interview notes on one child,
// tagged with the study's qualitative codes (multi-select keyboard). The conversation runs on the
// runtime (src/conversations/runtime.ts) as the note kind (src/conversations/note.ts: the pure
// machine of src/domain/conversations/note.ts, its view and its effects); this module parses the
// update, calls the runtime and renders. The state lives in ConversationState (kind "note"), so a
// note survives a restart; it lives beside a session log in progress without disturbing it.
import type { Account } from "../../generated/prisma/client.js";
import { t } from "../../study/model.js";
import { displayName, isoDay, nicknamesOf } from "../../usecases/groups.js";
import {
  NOTE_MAX_LENGTH,
  startNoteState,
  stepNote,
  type NoteKind,
  type NoteRejection,
} from "../../domain/conversations/note.js";
import { conversationRuntime } from "../../conversations/runtime.js";
import { noteableChildren, noteKind, type SavedNote } from "../../conversations/note.js";
import { cutText } from "../html.js";
import { localeOf, type Services } from "../services.js";
import type { MarkProcessed } from "./questionnaire.js";
import { featureCallback } from "./stored.js";
import { chatPresenter } from "./present.js";

const cb = featureCallback("note");

/** The note kind for this account, its runtime and where it is shown. */
function noteRuntime(s: Services, account: Account) {
  const locale = localeOf(s, account);
  const kind = noteKind({
    db: s.db,
    accountId: account.id,
    flows: s.flows,
    locale,
    tr: (key, vars) => s.tr(locale, key, vars),
    now: () => s.now(),
    timeZone: s.config.QUIET_HOURS_TZ,
  });
  const rt = conversationRuntime(kind, { db: s.db, now: () => s.now() });
  const presenter = chatPresenter(s, account.chatId!, (nonce, b) => cb(nonce, b.op, b.arg));
  return { kind, rt, presenter, locale };
}

/** `/note [code] [text]` or `/interview [code] [text]`. A note in progress is shown again instead. */
export async function startNote(
  s: Services,
  account: Account,
  kind: NoteKind,
  args: string,
  markProcessed: MarkProcessed,
): Promise<void> {
  const { rt, presenter, locale } = noteRuntime(s, account);
  const open = await rt.load(account.id);
  if (open) {
    await s.messenger.send(account.chatId!, s.tr(locale, "fac-note-open"));
    await rt.reshow(open, presenter);
    return;
  }
  const [code, ...rest] = args.trim().split(/\s+/).filter(Boolean);
  let participantId: number | null = null;
  if (code) {
    const kid = (await noteableChildren(s.db, account.id)).find(
      (k) => k.code.toLowerCase() === code.toLowerCase(),
    );
    if (!kid) {
      await s.messenger.send(account.chatId!, s.tr(locale, "fac-unknown-child", { code }));
      return;
    }
    participantId = kid.id;
  }
  let state = startNoteState(kind, participantId);
  const text = rest.join(" ").trim();
  if (participantId !== null && text)
    state = stepNote(state, { type: "TEXT", text: cutText(text, NOTE_MAX_LENGTH) }) ?? state;
  const conv = await rt.start(account.id, state, { alsoCommit: markProcessed });
  await rt.present(conv, presenter);
}

function rejectionToast(s: Services, locale: string, reason: NoteRejection): { toast: string } {
  return {
    toast: s.tr(locale, reason === "not-your-group" ? "fac-toast-not-your-group" : "toast-stale"),
  };
}

export async function handleNotePress(
  s: Services,
  account: Account,
  press: { nonce: number; op: string; arg: string | undefined; messageId: number | undefined },
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const { kind, rt, presenter, locale } = noteRuntime(s, account);
  const out = await rt.press(
    account.id,
    { nonce: press.nonce, messageId: press.messageId },
    { type: "press", op: press.op, arg: press.arg },
    markProcessed,
  );
  if (out.status === "stale") return { toast: s.tr(locale, "toast-stale") };
  if (out.status === "rejected") return rejectionToast(s, locale, out.reason);
  const effect = out.effects.find((e) => e.type !== "check-child")!;
  if (effect.type === "save") {
    if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
    await confirmSaved(s, account, kind.saved!);
    return {};
  }
  if (effect.type === "cancelled") {
    if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
    await s.messenger.send(account.chatId!, s.tr(locale, "fac-note-cancelled"));
    return {};
  }
  if (effect.type === "redraw" && press.messageId) {
    await rt.present(out.conv, presenter, { edit: press.messageId });
    return {};
  }
  await rt.present(out.conv, presenter, { replacing: out.before.messageId });
  return {};
}

async function confirmSaved(s: Services, account: Account, saved: SavedNote): Promise<void> {
  const locale = localeOf(s, account);
  const labels = s.flows.study.codes
    .filter((c) => saved.note.codes.includes(c.id))
    .map((c) => t(c.label, locale));
  const nick = (await nicknamesOf(s.db, account.id)).get(saved.kid.id);
  const session = saved.sessionId
    ? await s.db.groupSession.findUnique({ where: { id: saved.sessionId } })
    : null;
  await s.messenger.send(
    account.chatId!,
    s.tr(locale, "fac-note-saved", {
      kind: s.tr(locale, `fac-${saved.note.kind}-label`),
      child: displayName(saved.kid.code, nick),
      codes: labels.join(", ") || "—",
      session: session
        ? s.tr(locale, "fac-note-session", {
            number: session.number,
            date: isoDay(session.heldOn) ?? "",
          })
        : "",
    }),
  );
}

/** Typed text while a note waits for it; false when no note is waiting for text. */
export async function handleNoteText(
  s: Services,
  account: Account,
  text: string | null,
  markProcessed: MarkProcessed,
): Promise<boolean> {
  const { rt, presenter, locale } = noteRuntime(s, account);
  const value = text?.trim() ?? "";
  const out = await rt.input(
    account.id,
    { type: "text", text: value ? cutText(value, NOTE_MAX_LENGTH) : null },
    markProcessed,
  );
  if (out.status === "stale") {
    // No note open (the message is someone else's to handle), or a step committed meanwhile.
    const now = await rt.load(account.id);
    if (!now) return false;
    await rt.reshow(now, presenter);
    return true;
  }
  if (out.status === "rejected") {
    if (out.reason === "not-waiting") return false;
    await s.messenger.send(
      account.chatId!,
      out.reason === "empty"
        ? s.tr(locale, "unsupported-message")
        : s.tr(locale, "fac-note-too-long", { max: NOTE_MAX_LENGTH }),
    );
    return true;
  }
  await rt.present(out.conv, presenter, { replacing: out.before.messageId });
  return true;
}

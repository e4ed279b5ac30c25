// `/note` and `/interview`: free-text observation or interview notes on one child, tagged with the
// study's qualitative codes (multi-select keyboard), stored for the qualitative analysis. The
// steps (child → text → codes → saved), what each press means and which buttons each step offers
// are pure rules in src/domain/conversations/note.ts; the note is written by src/usecases/notes.ts.
// The state lives in ConversationState (kind "note"), so a note survives a restart; it lives beside
// a session log in progress without disturbing it.
import type { Account } from "../../generated/prisma/client.js";
import type { Tx } from "../../db/client.js";
import { t } from "../../study/model.js";
import {
  displayName,
  facilitatorGroups,
  isoDay,
  localDay,
  nicknamesOf,
  parseDay,
} from "../../usecases/groups.js";
import {
  NOTE_MACHINE_VERSION,
  NOTE_MAX_LENGTH,
  noteButtons,
  noteFinished,
  parseNoteState,
  pressNote,
  startNoteState,
  stepNote,
  typeNote,
  type NoteButton,
  type NoteKind,
  type NoteRejection,
  type NoteState,
} from "../../domain/conversations/note.js";
import { recordNote } from "../../usecases/notes.js";
import { cutText, escapeHtml } from "../html.js";
import { localeOf, type Keyboard, type Services } from "../services.js";
import type { MarkProcessed } from "./questionnaire.js";
import { currentLogSession } from "./session-log.js";
import { conversationStore, featureCallback, type StoredConversation } from "./stored.js";

// ---------------------------------------------------------------------------------------------

type Conv = StoredConversation<NoteState>;

const KIND = "note";

const store = conversationStore<NoteState>({
  kind: KIND,
  machineId: "note",
  version: NOTE_MACHINE_VERSION,
  parse: parseNoteState,
  finished: noteFinished,
});
const loadConv = (db: Tx, accountId: number): Promise<Conv | null> => store.load(db, accountId);
const saveConv = async (
  db: Tx,
  accountId: number,
  state: NoteState,
  extra: { nonce?: number; messageId?: number | null } = {},
) => (await store.save(db, accountId, state, extra)).id;
const cb = featureCallback("note");

/** Children a facilitator may write about: consented members of their groups. */
async function noteableChildren(s: Services, accountId: number) {
  const groups = await facilitatorGroups(s.db, accountId);
  const kids = await s.db.participant.findMany({
    where: { groupId: { in: groups.map((g) => g.id) }, status: "consented" },
    orderBy: { code: "asc" },
  });
  const names = new Map(groups.map((g) => [g.id, g.name]));
  return kids.map((k) => ({ ...k, groupName: names.get(k.groupId!) ?? "" }));
}

async function render(
  s: Services,
  account: Account,
  state: NoteState,
  nonce: number,
): Promise<{ html: string; keyboard: Keyboard }> {
  const locale = localeOf(s, account);
  const tr = (key: string, vars?: Record<string, string | number>) => s.tr(locale, key, vars);
  const kindLabel = tr(`fac-${state.context.kind}-label`);
  const codes = s.flows.study.codes;
  const nicks = await nicknamesOf(s.db, account.id);
  const kids = state.value === "pickChild" ? await noteableChildren(s, account.id) : [];
  const multi = new Set(kids.map((k) => k.groupId)).size > 1;
  const kidById = new Map(kids.map((k) => [k.id, k]));
  const label = (b: NoteButton): string => {
    switch (b.op) {
      case "p": {
        const k = kidById.get(b.participantId)!;
        return `${multi ? `${k.groupName}: ` : ""}${displayName(k.code, nicks.get(k.id))}`;
      }
      case "c":
        return `${b.on ? "✅" : "⬜"} ${t(codes[b.index]!.label, locale)}`;
      case "s":
        return tr("fac-note-save", { n: b.count });
      case "b":
        return tr("fac-back");
      case "x":
        return tr("fac-cancel");
    }
  };
  const arg = (b: NoteButton) =>
    b.op === "p" ? b.participantId : b.op === "c" ? b.index : undefined;
  const keyboard: Keyboard = noteButtons(state, {
    children: kids.map((k) => k.id),
    codes: codes.map((c) => c.id),
  }).map((row) => row.map((b) => ({ text: label(b), callback_data: cb(nonce, b.op, arg(b)) })));
  if (state.value === "pickChild") {
    return {
      html: tr(kids.length ? "fac-note-pick" : "fac-note-nobody", { kind: kindLabel }),
      keyboard,
    };
  }
  const p = await s.db.participant.findUniqueOrThrow({
    where: { id: state.context.participantId! },
  });
  const who = displayName(p.code, nicks.get(p.id));
  if (state.value === "typing")
    return { html: tr("fac-note-type", { kind: kindLabel, child: who }), keyboard };
  const preview =
    state.context.text.length > 300 ? `${cutText(state.context.text, 299)}…` : state.context.text;
  const html = `${tr("fac-note-coding", { kind: kindLabel, child: who, chars: state.context.text.length })}\n\n<i>${escapeHtml(preview)}</i>\n\n${tr(codes.length ? "fac-note-codes" : "fac-note-no-codes")}`;
  return { html, keyboard };
}

async function present(s: Services, account: Account, conv: Conv): Promise<void> {
  if (conv.messageId) await s.messenger.stripButtons(account.chatId!, conv.messageId);
  const nonce = conv.nonce + 1;
  await s.db.conversationState.update({ where: { id: conv.id }, data: { nonce, messageId: null } });
  const { html, keyboard } = await render(s, account, conv.state, nonce);
  const messageId = await s.messenger.send(account.chatId!, html, keyboard);
  await s.db.conversationState.update({ where: { id: conv.id }, data: { messageId } });
}

/** `/note [code] [text]` or `/interview [code] [text]`. A note in progress is shown again instead. */
export async function startNote(
  s: Services,
  account: Account,
  kind: NoteKind,
  args: string,
  markProcessed: MarkProcessed,
): Promise<void> {
  const locale = localeOf(s, account);
  const open = await loadConv(s.db, account.id);
  if (open) {
    await s.messenger.send(account.chatId!, s.tr(locale, "fac-note-open"));
    await present(s, account, open);
    return;
  }
  const [code, ...rest] = args.trim().split(/\s+/).filter(Boolean);
  let participantId: number | null = null;
  if (code) {
    const kid = (await noteableChildren(s, account.id)).find(
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
  let id = 0;
  await s.db.$transaction(async (tx) => {
    id = await saveConv(tx, account.id, state, { messageId: null });
    await markProcessed(tx);
  });
  await present(s, account, { id, nonce: 0, messageId: null, state });
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
  const locale = localeOf(s, account);
  const conv = await loadConv(s.db, account.id);
  if (!conv) return { toast: s.tr(locale, "toast-stale") };
  const codes = s.flows.study.codes.map((c) => c.id);
  const r = pressNote(conv, press, codes);
  if (!r.ok) return rejectionToast(s, locale, r.reason);
  // A picked child must be one of the facilitator's (a group change since the keyboard was sent).
  if (
    r.event.type === "PICK" &&
    !(await noteableChildren(s, account.id)).some((k) => k.id === r.state.context.participantId)
  )
    return rejectionToast(s, locale, "not-your-group");
  const effect = r.effects[0]!;
  if (effect.type === "save") return save(s, account, r.state, effect.note, press, markProcessed);
  await s.db.$transaction(async (tx) => {
    await saveConv(tx, account.id, r.state);
    await markProcessed(tx);
  });
  if (effect.type === "cancelled") {
    if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
    await s.messenger.send(account.chatId!, s.tr(locale, "fac-note-cancelled"));
    return {};
  }
  if (effect.type === "redraw" && press.messageId) {
    const { html, keyboard } = await render(s, account, r.state, conv.nonce);
    await s.messenger.edit(account.chatId!, press.messageId, html, keyboard);
    return {};
  }
  await present(s, account, { ...conv, state: r.state });
  return {};
}

/** The session a note belongs to: the one being logged for the child's group, else one held today. */
async function noteSession(
  s: Services,
  account: Account,
  groupId: number | null,
): Promise<number | null> {
  if (groupId === null) return null;
  const logging = await currentLogSession(s, account);
  if (logging && logging.groupId === groupId) return logging.sessionId;
  const day = parseDay(localDay(s.now(), s.config.QUIET_HOURS_TZ))!;
  const held = await s.db.groupSession.findFirst({ where: { groupId, heldOn: day } });
  return held?.id ?? null;
}

async function save(
  s: Services,
  account: Account,
  next: NoteState,
  note: { participantId: number; kind: NoteKind; text: string; codes: string[] },
  press: { messageId: number | undefined },
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const kid = (await noteableChildren(s, account.id)).find((k) => k.id === note.participantId);
  if (!kid) return rejectionToast(s, locale, "not-your-group");
  const sessionId = await noteSession(s, account, kid.groupId);
  await recordNote(
    s.db,
    {
      accountId: account.id,
      participant: { id: kid.id, code: kid.code },
      sessionId,
      kind: note.kind,
      text: note.text,
      codes: note.codes,
    },
    s.now(),
    async (tx) => {
      await saveConv(tx, account.id, next);
      await markProcessed(tx);
    },
  );
  const labels = s.flows.study.codes
    .filter((c) => note.codes.includes(c.id))
    .map((c) => t(c.label, locale));
  const nick = (await nicknamesOf(s.db, account.id)).get(kid.id);
  if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
  const session = sessionId
    ? await s.db.groupSession.findUnique({ where: { id: sessionId } })
    : null;
  await s.messenger.send(
    account.chatId!,
    s.tr(locale, "fac-note-saved", {
      kind: s.tr(locale, `fac-${note.kind}-label`),
      child: displayName(kid.code, nick),
      codes: labels.join(", ") || "—",
      session: session
        ? s.tr(locale, "fac-note-session", {
            number: session.number,
            date: isoDay(session.heldOn) ?? "",
          })
        : "",
    }),
  );
  return {};
}

/** Typed text while a note waits for it; false when no note is waiting for text. */
export async function handleNoteText(
  s: Services,
  account: Account,
  text: string | null,
  markProcessed: MarkProcessed,
): Promise<boolean> {
  const conv = await loadConv(s.db, account.id);
  if (!conv) return false;
  const value = text?.trim() ?? "";
  const r = typeNote(conv.state, value ? cutText(value, NOTE_MAX_LENGTH) : null);
  if (!r.ok && r.reason === "not-waiting") return false;
  const locale = localeOf(s, account);
  if (!r.ok) {
    await s.messenger.send(
      account.chatId!,
      r.reason === "empty"
        ? s.tr(locale, "unsupported-message")
        : s.tr(locale, "fac-note-too-long", { max: NOTE_MAX_LENGTH }),
    );
    return true;
  }
  await s.db.$transaction(async (tx) => {
    await saveConv(tx, account.id, r.state);
    await markProcessed(tx);
  });
  await present(s, account, { ...conv, state: r.state });
  return true;
}

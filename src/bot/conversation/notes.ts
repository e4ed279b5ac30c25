// `/note` and `/interview`: free-text observation or interview notes on one child, tagged with the
// study's qualitative codes (multi-select keyboard), stored for the qualitative analysis. A small
// XState machine (child → text → codes → saved) kept in ConversationState (kind "note"), so a
// note survives a restart; it lives beside a session log in progress without disturbing it.
import { setup, assign, transition, type SnapshotFrom } from "xstate";
import type { Account } from "../../generated/prisma/client.js";
import type { Tx } from "../../db/client.js";
import { audit } from "../../audit/log.js";
import { t } from "../../flows/model.js";
import {
  displayName,
  facilitatorGroups,
  isoDay,
  localDay,
  nicknamesOf,
  parseDay,
} from "../../services/groups.js";
import { textDigest } from "../../services/sessions.js";
import { cutText, escapeHtml } from "../html.js";
import { localeOf, type Keyboard, type Services } from "../services.js";
import type { MarkProcessed } from "./questionnaire.js";
import { currentLogSession } from "./session-log.js";
import {
  conversationStore,
  featureCallback,
  numericArg,
  type StoredConversation,
} from "./stored.js";

export type NoteKind = "note" | "interview";
/** Telegram's message limit: an interview may be typed as several messages, each appended. */
export const NOTE_MAX_LENGTH = 8000;

export interface NoteContext {
  kind: NoteKind;
  participantId: number | null;
  text: string;
  codes: string[];
}

export type NoteEvent =
  | { type: "PICK"; participantId: number }
  | { type: "TEXT"; text: string }
  | { type: "TOGGLE"; code: string }
  | { type: "SAVE" }
  | { type: "BACK" }
  | { type: "CANCEL" };

export type NoteStep = "pickChild" | "typing" | "coding" | "saved" | "cancelled";

export const NOTE_MACHINE_VERSION = "note.1";

export const noteMachine = setup({
  types: {} as { context: NoteContext; events: NoteEvent },
}).createMachine({
  id: "note",
  initial: "pickChild",
  context: { kind: "note", participantId: null, text: "", codes: [] },
  states: {
    pickChild: {
      on: {
        PICK: {
          target: "typing",
          actions: assign({ participantId: ({ event }) => event.participantId }),
        },
        CANCEL: "cancelled",
      },
    },
    typing: {
      on: {
        TEXT: { target: "coding", actions: assign({ text: ({ event }) => event.text }) },
        BACK: { target: "pickChild", actions: assign({ participantId: null }) },
        CANCEL: "cancelled",
      },
    },
    coding: {
      on: {
        // More messages while coding are more of the same note (long interview notes).
        TEXT: {
          guard: ({ context, event }) =>
            context.text.length + 1 + event.text.length <= NOTE_MAX_LENGTH,
          actions: assign({ text: ({ context, event }) => `${context.text}\n${event.text}` }),
        },
        TOGGLE: {
          actions: assign({
            codes: ({ context, event }) =>
              context.codes.includes(event.code)
                ? context.codes.filter((c) => c !== event.code)
                : [...context.codes, event.code],
          }),
        },
        SAVE: "saved",
        CANCEL: "cancelled",
      },
    },
    saved: { type: "final" },
    cancelled: { type: "final" },
  },
});

type NoteSnapshot = SnapshotFrom<typeof noteMachine>;
export interface NoteState {
  value: NoteStep;
  context: NoteContext;
}

/** A child named in the command skips the picker. */
export function startNoteState(kind: NoteKind, participantId: number | null): NoteState {
  return {
    value: participantId === null ? "pickChild" : "typing",
    context: { kind, participantId, text: "", codes: [] },
  };
}

function toState(snap: NoteSnapshot): NoteState {
  return { value: snap.value as NoteStep, context: snap.context };
}

export function stepNote(state: NoteState, event: NoteEvent): NoteState | null {
  const snap = noteMachine.resolveState({ value: state.value, context: state.context });
  if (!snap.can(event)) return null;
  return toState(transition(noteMachine, snap, event)[0]);
}

// ---------------------------------------------------------------------------------------------

type Conv = StoredConversation<NoteState>;

const KIND = "note";

const store = conversationStore<NoteState>({
  kind: KIND,
  machineId: "note",
  version: NOTE_MACHINE_VERSION,
  parse(snapshot) {
    try {
      const st = JSON.parse(snapshot) as NoteState;
      const ok =
        ["pickChild", "typing", "coding"].includes(st.value) &&
        st.context &&
        Array.isArray(st.context.codes);
      return ok ? st : null;
    } catch {
      return null;
    }
  },
  finished: (st) => st.value === "saved" || st.value === "cancelled",
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
  const cancel = { text: tr("fac-cancel"), callback_data: cb(nonce, "x") };
  const nicks = await nicknamesOf(s.db, account.id);
  if (state.value === "pickChild") {
    const kids = await noteableChildren(s, account.id);
    const multi = new Set(kids.map((k) => k.groupId)).size > 1;
    const keyboard: Keyboard = [];
    const buttons = kids.map((k) => ({
      text: `${multi ? `${k.groupName}: ` : ""}${displayName(k.code, nicks.get(k.id))}`,
      callback_data: cb(nonce, "p", k.id),
    }));
    for (let i = 0; i < buttons.length; i += 2) keyboard.push(buttons.slice(i, i + 2));
    keyboard.push([cancel]);
    return {
      html: tr(kids.length ? "fac-note-pick" : "fac-note-nobody", { kind: kindLabel }),
      keyboard,
    };
  }
  const p = await s.db.participant.findUniqueOrThrow({
    where: { id: state.context.participantId! },
  });
  const who = displayName(p.code, nicks.get(p.id));
  if (state.value === "typing") {
    return {
      html: tr("fac-note-type", { kind: kindLabel, child: who }),
      keyboard: [[{ text: tr("fac-back"), callback_data: cb(nonce, "b") }, cancel]],
    };
  }
  const codes = s.flows.study.codes;
  const keyboard: Keyboard = [];
  const buttons = codes.map((c, i) => ({
    text: `${state.context.codes.includes(c.id) ? "✅" : "⬜"} ${t(c.label, locale)}`,
    callback_data: cb(nonce, "c", i),
  }));
  for (let i = 0; i < buttons.length; i += 2) keyboard.push(buttons.slice(i, i + 2));
  keyboard.push([
    { text: tr("fac-note-save", { n: state.context.codes.length }), callback_data: cb(nonce, "s") },
    cancel,
  ]);
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

export async function handleNotePress(
  s: Services,
  account: Account,
  press: { nonce: number; op: string; arg: string | undefined; messageId: number | undefined },
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const stale = { toast: s.tr(locale, "toast-stale") };
  const conv = await store.loadForPress(s.db, account.id, press);
  if (!conv) return stale;
  const num = numericArg(press.arg);
  let event: NoteEvent;
  switch (press.op) {
    case "p": {
      if (num === null || !(await noteableChildren(s, account.id)).some((k) => k.id === num))
        return { toast: s.tr(locale, "fac-toast-not-your-group") };
      event = { type: "PICK", participantId: num };
      break;
    }
    case "c": {
      const code = num === null ? undefined : s.flows.study.codes[num];
      if (!code) return stale;
      event = { type: "TOGGLE", code: code.id };
      break;
    }
    case "s":
      return save(s, account, conv, press.messageId, markProcessed);
    case "b":
      event = { type: "BACK" };
      break;
    case "x":
      event = { type: "CANCEL" };
      break;
    default:
      return stale;
  }
  const next = stepNote(conv.state, event);
  if (!next) return stale;
  // The child must still be one of the facilitator's (a group change since the keyboard was sent).
  await s.db.$transaction(async (tx) => {
    await saveConv(tx, account.id, next);
    await markProcessed(tx);
  });
  if (next.value === "cancelled") {
    if (press.messageId) await s.messenger.stripButtons(account.chatId!, press.messageId);
    await s.messenger.send(account.chatId!, s.tr(locale, "fac-note-cancelled"));
    return {};
  }
  if (event.type === "TOGGLE" && press.messageId) {
    const { html, keyboard } = await render(s, account, next, conv.nonce);
    await s.messenger.edit(account.chatId!, press.messageId, html, keyboard);
    return {};
  }
  await present(s, account, { ...conv, state: next });
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
  conv: Conv,
  messageId: number | undefined,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const next = stepNote(conv.state, { type: "SAVE" });
  const ctx = conv.state.context;
  if (!next || ctx.participantId === null || !ctx.text)
    return { toast: s.tr(locale, "toast-stale") };
  const kid = (await noteableChildren(s, account.id)).find((k) => k.id === ctx.participantId);
  if (!kid) return { toast: s.tr(locale, "fac-toast-not-your-group") };
  const sessionId = await noteSession(s, account, kid.groupId);
  const codes = s.flows.study.codes.filter((c) => ctx.codes.includes(c.id)).map((c) => c.id);
  await s.db.$transaction(async (tx) => {
    const note = await tx.note.create({
      data: {
        participantId: kid.id,
        accountId: account.id,
        sessionId,
        kind: ctx.kind,
        text: ctx.text,
        codes: JSON.stringify(codes),
        createdAt: s.now(),
      },
    });
    // The text stays in its table (exported for the qualitative analysis); the audit holds a digest.
    await audit(tx, {
      actor: { kind: "account", accountId: account.id },
      action: "note.create",
      entity: "Note",
      entityId: note.id,
      at: s.now(),
      data: {
        participant: kid.code,
        kind: ctx.kind,
        codes,
        session: sessionId,
        chars: ctx.text.length,
        digest: textDigest(ctx.text),
      },
    });
    await saveConv(tx, account.id, next);
    await markProcessed(tx);
  });
  const labels = s.flows.study.codes
    .filter((c) => codes.includes(c.id))
    .map((c) => t(c.label, locale));
  const nick = (await nicknamesOf(s.db, account.id)).get(kid.id);
  if (messageId) await s.messenger.stripButtons(account.chatId!, messageId);
  const session = sessionId
    ? await s.db.groupSession.findUnique({ where: { id: sessionId } })
    : null;
  await s.messenger.send(
    account.chatId!,
    s.tr(locale, "fac-note-saved", {
      kind: s.tr(locale, `fac-${ctx.kind}-label`),
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
  if (!conv || conv.state.value === "pickChild") return false;
  const locale = localeOf(s, account);
  const value = text?.trim() ?? "";
  if (!value) {
    await s.messenger.send(account.chatId!, s.tr(locale, "unsupported-message"));
    return true;
  }
  const next = stepNote(conv.state, { type: "TEXT", text: cutText(value, NOTE_MAX_LENGTH) });
  if (!next) {
    await s.messenger.send(
      account.chatId!,
      s.tr(locale, "fac-note-too-long", { max: NOTE_MAX_LENGTH }),
    );
    return true;
  }
  await s.db.$transaction(async (tx) => {
    await saveConv(tx, account.id, next);
    await markProcessed(tx);
  });
  await present(s, account, { ...conv, state: next });
  return true;
}

// `/note` and `/interview` as a conversation kind: the pure machine is
// src/domain/conversations/note.ts; the view lists the facilitator's children or the study's
// qualitative codes; the effects check (inside the step's transaction) that a picked child is
// still one of the facilitator's and write the note through src/usecases/notes.ts.
// Built per update (it carries the account, its language and what a save wrote).
import type { Db, Tx } from "../db/client.js";
import { t, type LoadedFlows } from "../study/model.js";
import {
  NOTE_MACHINE_VERSION,
  noteButtons,
  noteFinished,
  parseNoteState,
  pressNoteOp,
  typeNote,
  type NoteButton,
  type NoteEffect,
  type NoteKind,
  type NoteRejection,
  type NoteState,
} from "../domain/conversations/note.js";
import { LOG_MACHINE_VERSION, parseStored } from "../domain/conversations/session-log.js";
import {
  displayName,
  facilitatorGroups,
  localDay,
  nicknamesOf,
  parseDay,
} from "../usecases/groups.js";
import { writeNote } from "../usecases/notes.js";
import { conversationRow } from "../store/conversations.js";
import { cutText, escapeHtml } from "./text.js";
import { StepRejected, type Button, type ConversationKind, type Screen } from "./kind.js";

export type NoteInput =
  | { type: "press"; op: string; arg: string | undefined }
  /** Typed text, trimmed and cut to NOTE_MAX_LENGTH; null for media or an empty message. */
  | { type: "text"; text: string | null };

export type NoteStepEffect =
  | NoteEffect
  /** A picked child must still be one of the facilitator's (a group change since the keyboard). */
  | { type: "check-child"; participantId: number };

/** What a save wrote, for the confirmation. */
export interface SavedNote {
  noteId: number;
  kid: { id: number; code: string };
  sessionId: number | null;
  note: { kind: NoteKind; text: string; codes: string[] };
}

export interface NoteEnv {
  db: Db;
  accountId: number;
  flows: LoadedFlows;
  locale: string;
  tr(key: string, vars?: Record<string, string | number>): string;
  now(): Date;
  /** The study's time zone: which day "today" is for a session held today. */
  timeZone: string;
}

export type NoteConversationKind = ConversationKind<
  NoteState,
  NoteInput,
  NoteStepEffect,
  NoteRejection
> & {
  /** Set by a committed save. */
  saved: SavedNote | null;
};

/** Children a facilitator may write about: consented members of their groups. */
export async function noteableChildren(db: Tx, accountId: number) {
  const groups = await facilitatorGroups(db, accountId);
  const kids = await db.participant.findMany({
    where: { groupId: { in: groups.map((g) => g.id) }, status: "consented" },
    orderBy: { code: "asc" },
  });
  const names = new Map(groups.map((g) => [g.id, g.name]));
  return kids.map((k) => ({ ...k, groupName: names.get(k.groupId!) ?? "" }));
}

/** The session this facilitator is logging right now (their session-log conversation), if any. */
async function loggingSession(
  db: Tx,
  accountId: number,
): Promise<{ sessionId: number; groupId: number } | null> {
  const row = await conversationRow(db, accountId, "session");
  if (!row || row.machineVersion !== LOG_MACHINE_VERSION) return null;
  const st = parseStored(row.snapshot);
  if (!st || st.value === "closed" || st.value === "cancelled") return null;
  const c = st.context;
  return c.sessionId !== null && c.groupId !== null
    ? { sessionId: c.sessionId, groupId: c.groupId }
    : null;
}

/** The session a note belongs to: the one being logged for the child's group, else one held today. */
async function noteSession(tx: Tx, env: NoteEnv, groupId: number | null): Promise<number | null> {
  if (groupId === null) return null;
  const logging = await loggingSession(tx, env.accountId);
  if (logging && logging.groupId === groupId) return logging.sessionId;
  const day = parseDay(localDay(env.now(), env.timeZone))!;
  const held = await tx.groupSession.findFirst({ where: { groupId, heldOn: day } });
  return held?.id ?? null;
}

export function noteKind(env: NoteEnv): NoteConversationKind {
  const codes = env.flows.study.codes;
  const codeIds = codes.map((c) => c.id);
  const tr = env.tr;

  async function view(state: NoteState): Promise<Screen> {
    const kindLabel = tr(`fac-${state.context.kind}-label`);
    const nicks = await nicknamesOf(env.db, env.accountId);
    const kids = state.value === "pickChild" ? await noteableChildren(env.db, env.accountId) : [];
    const multi = new Set(kids.map((k) => k.groupId)).size > 1;
    const kidById = new Map(kids.map((k) => [k.id, k]));
    const label = (b: NoteButton): string => {
      switch (b.op) {
        case "p": {
          const k = kidById.get(b.participantId)!;
          return `${multi ? `${k.groupName}: ` : ""}${displayName(k.code, nicks.get(k.id))}`;
        }
        case "c":
          return `${b.on ? "✅" : "⬜"} ${t(codes[b.index]!.label, env.locale)}`;
        case "s":
          return tr("fac-note-save", { n: b.count });
        case "b":
          return tr("fac-back");
        case "x":
          return tr("fac-cancel");
      }
    };
    const button = (b: NoteButton): Button => {
      const arg = b.op === "p" ? b.participantId : b.op === "c" ? b.index : undefined;
      return { text: label(b), op: b.op, ...(arg === undefined ? {} : { arg }) };
    };
    const buttons = noteButtons(state, {
      children: kids.map((k) => k.id),
      codes: codeIds,
    }).map((row) => row.map(button));
    if (state.value === "pickChild") {
      return {
        html: tr(kids.length ? "fac-note-pick" : "fac-note-nobody", { kind: kindLabel }),
        buttons,
      };
    }
    const p = await env.db.participant.findUniqueOrThrow({
      where: { id: state.context.participantId! },
    });
    const who = displayName(p.code, nicks.get(p.id));
    if (state.value === "typing")
      return { html: tr("fac-note-type", { kind: kindLabel, child: who }), buttons };
    const text = state.context.text;
    const preview = text.length > 300 ? `${cutText(text, 299)}…` : text;
    const html = `${tr("fac-note-coding", { kind: kindLabel, child: who, chars: text.length })}\n\n<i>${escapeHtml(preview)}</i>\n\n${tr(codes.length ? "fac-note-codes" : "fac-note-no-codes")}`;
    return { html, buttons };
  }

  const kind: NoteConversationKind = {
    kind: "note",
    machineId: "note",
    machineVersion: NOTE_MACHINE_VERSION,
    parse: parseNoteState,
    finished: noteFinished,
    saved: null,
    step(state, input) {
      const r =
        input.type === "press" ? pressNoteOp(state, input, codeIds) : typeNote(state, input.text);
      if (!r.ok) return { ok: false, reason: r.reason };
      const effects: NoteStepEffect[] =
        r.event.type === "PICK"
          ? [{ type: "check-child", participantId: r.event.participantId }, ...r.effects]
          : r.effects;
      return { ok: true, state: r.state, effects };
    },
    async apply(tx, effects) {
      for (const e of effects) {
        if (e.type === "check-child") {
          const kids = await noteableChildren(tx, env.accountId);
          if (!kids.some((k) => k.id === e.participantId)) throw new StepRejected("not-your-group");
        } else if (e.type === "save") {
          const kid = (await noteableChildren(tx, env.accountId)).find(
            (k) => k.id === e.note.participantId,
          );
          if (!kid) throw new StepRejected("not-your-group");
          const sessionId = await noteSession(tx, env, kid.groupId);
          const now = env.now();
          const noteId = await writeNote(
            tx,
            {
              accountId: env.accountId,
              participant: { id: kid.id, code: kid.code },
              sessionId,
              kind: e.note.kind,
              text: e.note.text,
              codes: e.note.codes,
            },
            now,
          );
          kind.saved = { noteId, kid: { id: kid.id, code: kid.code }, sessionId, note: e.note };
        }
      }
    },
    view,
  };
  return kind;
}

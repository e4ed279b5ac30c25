// `/note` and `/interview` as pure rules: a small XState machine (child → text → codes → saved),
// what a button press or a typed message means in each step, and which buttons each step offers.
// No database, no Telegram: src/telegram/conversation/notes.ts stores the state, checks that a picked
// child is one of the facilitator's, saves the note through src/usecases/notes.ts and renders.
import { setup, assign, transition, type SnapshotFrom } from "xstate";
import { numericArg, pressIsLive, type LiveButtons, type Press } from "./press.js";

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

/** Applies an event: the next state, or null when the current step does not take it. */
export function stepNote(state: NoteState, event: NoteEvent): NoteState | null {
  const snap = noteMachine.resolveState({ value: state.value, context: state.context });
  if (!snap.can(event)) return null;
  return toState(transition(noteMachine, snap, event)[0]);
}

export function noteFinished(state: NoteState): boolean {
  return state.value === "saved" || state.value === "cancelled";
}

/** A stored state this machine can continue, or null (corrupt JSON, a finished or unknown step). */
export function parseNoteState(snapshot: string): NoteState | null {
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
}

// ---------------------------------------------------------------------------------------------
// Buttons

/** Button operations as they travel in callback data (with the conversation's nonce). */
export type NoteOp = "p" | "c" | "s" | "b" | "x";

export type NoteButton =
  | { op: "p"; participantId: number }
  | { op: "c"; index: number; code: string; on: boolean }
  | { op: "s"; count: number }
  | { op: "b" }
  | { op: "x" };

/** The keyboard each step shows, row by row: children or codes two to a row, then the controls. */
export function noteButtons(
  state: NoteState,
  offer: { children: readonly number[]; codes: readonly string[] },
): NoteButton[][] {
  const pairs = <T>(xs: T[]): T[][] => {
    const rows: T[][] = [];
    for (let i = 0; i < xs.length; i += 2) rows.push(xs.slice(i, i + 2));
    return rows;
  };
  const cancel: NoteButton = { op: "x" };
  switch (state.value) {
    case "pickChild":
      return [
        ...pairs(offer.children.map((participantId): NoteButton => ({ op: "p", participantId }))),
        [cancel],
      ];
    case "typing":
      return [[{ op: "b" }, cancel]];
    case "coding":
      return [
        ...pairs(
          offer.codes.map((code, index): NoteButton => ({
            op: "c",
            index,
            code,
            on: state.context.codes.includes(code),
          })),
        ),
        [{ op: "s", count: state.context.codes.length }, cancel],
      ];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Presses and typed text

export type NoteRejection = "stale" | "not-your-group" | "too-long" | "empty" | "not-waiting";

/** What the adapter does after an accepted step. */
export type NoteEffect =
  /** Remove the old buttons and send the step's message anew, with a fresh nonce. */
  | { type: "present" }
  /** Edit the same message in place (a code was ticked: the nonce and the message stay). */
  | { type: "redraw" }
  | { type: "cancelled" }
  /** Write the note (the adapter confirms the child is still one of the facilitator's first). */
  | {
      type: "save";
      note: { participantId: number; kind: NoteKind; text: string; codes: string[] };
    };

export type NoteStepResult =
  | { ok: true; state: NoteState; event: NoteEvent; effects: NoteEffect[] }
  | { ok: false; reason: NoteRejection; state: NoteState };

export interface NotePress extends Press {
  op: string;
  arg: string | undefined;
}

/**
 * A button press: it must be live (nonce, message), name an operation of the step and a valid
 * argument. `codes` are the study's qualitative codes in definition order; the saved codes keep
 * that order whatever order they were ticked in. A picked child's membership is the adapter's
 * check (it reads the groups); this only requires a number.
 */
export function pressNote(
  live: LiveButtons & { state: NoteState },
  press: NotePress,
  codes: readonly string[],
): NoteStepResult {
  if (!pressIsLive(live, press)) return { ok: false, reason: "stale", state: live.state };
  return pressNoteOp(live.state, press, codes);
}

/** What a live press means in the step (the press check itself is the runtime's, or pressNote's). */
export function pressNoteOp(
  state: NoteState,
  press: { op: string; arg: string | undefined },
  codes: readonly string[],
): NoteStepResult {
  const reject = (reason: NoteRejection): NoteStepResult => ({ ok: false, reason, state });
  const num = numericArg(press.arg);
  let event: NoteEvent;
  switch (press.op) {
    case "p":
      if (num === null) return reject("not-your-group");
      event = { type: "PICK", participantId: num };
      break;
    case "c": {
      const code = num === null ? undefined : codes[num];
      if (code === undefined) return reject("stale");
      event = { type: "TOGGLE", code };
      break;
    }
    case "s":
      event = { type: "SAVE" };
      break;
    case "b":
      event = { type: "BACK" };
      break;
    case "x":
      event = { type: "CANCEL" };
      break;
    default:
      return reject("stale");
  }
  const next = stepNote(state, event);
  if (!next) return reject("stale");
  if (event.type === "SAVE") {
    const ctx = state.context;
    if (ctx.participantId === null || !ctx.text) return reject("stale");
    const chosen = codes.filter((c) => ctx.codes.includes(c));
    return {
      ok: true,
      state: next,
      event,
      effects: [
        {
          type: "save",
          note: { participantId: ctx.participantId, kind: ctx.kind, text: ctx.text, codes: chosen },
        },
      ],
    };
  }
  const effect: NoteEffect =
    next.value === "cancelled"
      ? { type: "cancelled" }
      : event.type === "TOGGLE"
        ? { type: "redraw" }
        : { type: "present" };
  return { ok: true, state: next, event, effects: [effect] };
}

/**
 * A typed message (already trimmed and cut to NOTE_MAX_LENGTH by the adapter; null for media).
 * While a child is being picked nothing waits for text: the message is someone else's to handle.
 */
export function typeNote(state: NoteState, text: string | null): NoteStepResult {
  if (state.value === "pickChild") return { ok: false, reason: "not-waiting", state };
  const value = text ?? "";
  if (!value) return { ok: false, reason: "empty", state };
  const event: NoteEvent = { type: "TEXT", text: value };
  const next = stepNote(state, event);
  if (!next) return { ok: false, reason: "too-long", state };
  return { ok: true, state: next, event, effects: [{ type: "present" }] };
}

// The session log's setup steps as a pure XState machine: group → number → date → attendance →
// logging → close, plus the amendment branch. No side effects: the Telegram adapter
// (src/telegram/conversation/session-log.ts) stores the state in ConversationState and acts on each step.
import { setup, assign, transition, type SnapshotFrom } from "xstate";

export interface LogContext {
  groupId: number | null;
  number: number | null;
  sessionId: number | null;
  /** The day chosen at the date step (first log), "YYYY-MM-DD". */
  date: string | null;
  /** Participant ids marked present so far. */
  present: number[];
  amending: boolean;
  /** During an amendment: the one response set being (re)done through the runner. */
  target: number | null;
  /** The response set whose header ("Observation 2/3: LK-…") was sent last. */
  header: number | null;
  editRs: number | null;
  editItem: string | null;
}

export type LogEvent =
  | { type: "PICK_GROUP"; groupId: number }
  | {
      type: "PICK_NUMBER";
      number: number;
      sessionId: number;
      closed: boolean;
      present: number[];
      date: string | null;
    }
  | { type: "AMEND" }
  | { type: "REASON" }
  | { type: "PICK_DATE"; date: string }
  | { type: "TOGGLE"; participantId: number }
  | { type: "SET_PRESENT"; present: number[] }
  | { type: "ATTENDANCE_DONE" }
  | { type: "HEADER"; responseSetId: number }
  | { type: "LOGGED" }
  | { type: "EDIT_DATE" }
  | { type: "EDIT_ATTENDANCE" }
  | { type: "EDIT_SET"; responseSetId: number }
  | { type: "REDO"; responseSetId: number }
  | { type: "EDIT_ITEM"; itemId: string }
  | { type: "ITEM_DONE" }
  | { type: "BACK" }
  | { type: "CLOSE" }
  | { type: "CANCEL" };

export type LogStep =
  | "pickGroup"
  | "pickNumber"
  | "confirmAmend"
  | "amendReason"
  | "pickDate"
  | "attendance"
  | "logging"
  | "confirmClose"
  | "amendMenu"
  | "editSet"
  | "editItem"
  | "closed"
  | "cancelled";

export const LOG_MACHINE_VERSION = "session-log.1";

export const sessionLogMachine = setup({
  types: {} as { context: LogContext; events: LogEvent },
  guards: {
    amending: ({ context }) => context.amending,
    anyonePresent: ({ context }) => context.present.length > 0,
  },
  actions: {
    clearTarget: assign({ target: null, header: null }),
  },
}).createMachine({
  id: "session-log",
  initial: "pickGroup",
  context: {
    groupId: null,
    number: null,
    sessionId: null,
    date: null,
    present: [],
    amending: false,
    target: null,
    header: null,
    editRs: null,
    editItem: null,
  },
  states: {
    pickGroup: {
      on: {
        PICK_GROUP: {
          target: "pickNumber",
          actions: assign({ groupId: ({ event }) => event.groupId }),
        },
        CANCEL: "cancelled",
      },
    },
    pickNumber: {
      on: {
        PICK_NUMBER: [
          {
            guard: ({ event }) => event.closed,
            target: "confirmAmend",
            actions: assign({
              number: ({ event }) => event.number,
              sessionId: ({ event }) => event.sessionId,
              present: ({ event }) => event.present,
              date: ({ event }) => event.date,
            }),
          },
          {
            target: "pickDate",
            actions: assign({
              number: ({ event }) => event.number,
              sessionId: ({ event }) => event.sessionId,
              present: ({ event }) => event.present,
              date: ({ event }) => event.date,
            }),
          },
        ],
        BACK: "pickGroup",
        CANCEL: "cancelled",
      },
    },
    confirmAmend: { on: { AMEND: "amendReason", BACK: "pickNumber", CANCEL: "cancelled" } },
    amendReason: {
      on: {
        REASON: { target: "amendMenu", actions: assign({ amending: true }) },
        BACK: "confirmAmend",
        CANCEL: "cancelled",
      },
    },
    pickDate: {
      on: {
        PICK_DATE: [
          {
            guard: "amending",
            target: "amendMenu",
            actions: assign({ date: ({ event }) => event.date }),
          },
          { target: "attendance", actions: assign({ date: ({ event }) => event.date }) },
        ],
        BACK: [{ guard: "amending", target: "amendMenu" }, { target: "pickNumber" }],
        CANCEL: { guard: ({ context }) => !context.amending, target: "cancelled" },
      },
    },
    attendance: {
      on: {
        TOGGLE: {
          actions: assign({
            present: ({ context, event }) =>
              context.present.includes(event.participantId)
                ? context.present.filter((x) => x !== event.participantId)
                : [...context.present, event.participantId],
          }),
        },
        SET_PRESENT: { actions: assign({ present: ({ event }) => event.present }) },
        ATTENDANCE_DONE: [
          {
            guard: ({ context }) => context.amending && context.present.length > 0,
            target: "amendMenu",
          },
          { guard: "anyonePresent", target: "logging", actions: "clearTarget" },
        ],
        BACK: [{ guard: "amending", target: "amendMenu" }, { target: "pickDate" }],
        CANCEL: { guard: ({ context }) => !context.amending, target: "cancelled" },
      },
    },
    logging: {
      on: {
        HEADER: { actions: assign({ header: ({ event }) => event.responseSetId }) },
        LOGGED: [
          { guard: "amending", target: "amendMenu", actions: "clearTarget" },
          { target: "confirmClose", actions: "clearTarget" },
        ],
      },
    },
    confirmClose: { on: { CLOSE: "closed" } },
    amendMenu: {
      on: {
        EDIT_DATE: "pickDate",
        EDIT_ATTENDANCE: "attendance",
        EDIT_SET: {
          target: "editSet",
          actions: assign({ editRs: ({ event }) => event.responseSetId }),
        },
        REDO: {
          target: "logging",
          actions: assign({ target: ({ event }) => event.responseSetId, header: null }),
        },
        CLOSE: "closed",
      },
    },
    editSet: {
      on: {
        EDIT_ITEM: {
          target: "editItem",
          actions: assign({ editItem: ({ event }) => event.itemId }),
        },
        BACK: { target: "amendMenu", actions: assign({ editRs: null }) },
      },
    },
    editItem: {
      on: {
        ITEM_DONE: { target: "editSet", actions: assign({ editItem: null }) },
        BACK: { target: "editSet", actions: assign({ editItem: null }) },
      },
    },
    closed: { type: "final" },
    cancelled: { type: "final" },
  },
});

type LogSnapshot = SnapshotFrom<typeof sessionLogMachine>;
export const STEPS: readonly LogStep[] = [
  "pickGroup",
  "pickNumber",
  "confirmAmend",
  "amendReason",
  "pickDate",
  "attendance",
  "logging",
  "confirmClose",
  "amendMenu",
  "editSet",
  "editItem",
  "closed",
  "cancelled",
];

export interface LogState {
  value: LogStep;
  context: LogContext;
}

export function initialLogState(): LogState {
  return {
    value: "pickGroup",
    context: structuredClone(sessionLogMachine.config.context as LogContext),
  };
}

function resolve(state: LogState): LogSnapshot {
  return sessionLogMachine.resolveState({ value: state.value, context: state.context });
}

/** Applies an event: the next state, or null when the current step does not take it. */
export function stepLog(state: LogState, event: LogEvent): LogState | null {
  const snap = resolve(state);
  if (!snap.can(event)) return null;
  const [next] = transition(sessionLogMachine, snap, event);
  return { value: next.value as LogStep, context: next.context };
}

export function parseStored(json: string): LogState | null {
  try {
    const v = JSON.parse(json) as Partial<LogState>;
    if (
      !v ||
      typeof v !== "object" ||
      !STEPS.includes(v.value as LogStep) ||
      !v.context ||
      !Array.isArray(v.context.present)
    )
      return null;
    return { value: v.value as LogStep, context: { ...initialLogState().context, ...v.context } };
  } catch {
    return null;
  }
}

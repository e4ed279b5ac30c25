// The session log's steps as a pure XState machine: group → number → date → attendance →
// logging → close, plus the amendment branch; and the conversation kind's step over it
// (stepSessionLog: an input already resolved against the database → the next state, the writes
// it commits and how it is shown) with the buttons each step offers (logButtons). No side
// effects: src/conversations/session-log.ts runs it on the conversation runtime.
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

// ---------------------------------------------------------------------------------------------
// The kind's step. Inputs carry the facts the rules need (read by the kind before the step:
// members, response sets, today's date), so the step itself reads nothing.

/** A response set a press names, as the log's checks need it. */
export interface LogSetFacts {
  id: number;
  sessionId: number | null;
  /** Answered by the facilitator (an observation or the reflection). */
  facilitator: boolean;
  status: string;
  /** A child's observation set (else the reflection or something else). */
  observation: boolean;
  /** For an observation: whether the child is marked present at the session. */
  present: boolean;
}

export type LogInput =
  | { type: "cancel" }
  | { type: "back" }
  | { type: "group"; groupId: number }
  | {
      type: "number";
      number: number;
      session: { id: number; closed: boolean; present: number[]; date: string | null };
    }
  | { type: "amend" }
  /** The amendment's reason, typed (trimmed). */
  | { type: "reason"; text: string }
  /** A day ("YYYY-MM-DD", a real date) pressed or typed; `today` is the study's local day. */
  | { type: "date"; date: string; today: string }
  | { type: "toggle"; participantId: number; members: number[] }
  | { type: "all"; members: number[] }
  | { type: "attendance-done"; members: number[]; sessionHeldOn: string | null; today: string }
  | { type: "skip"; set: LogSetFacts }
  | { type: "later" }
  /** `complete`: no observation or reflection of the session is left open. */
  | { type: "close"; complete: boolean }
  | { type: "edit-date" }
  | { type: "edit-attendance" }
  | { type: "edit-set"; set: LogSetFacts }
  | { type: "redo"; set: LogSetFacts }
  | { type: "edit-item"; itemId: string }
  /** A corrected answer for the item being edited; undefined when the press named no value. */
  | { type: "correct"; value: number | string | null | undefined }
  /** The log moves on to the header of the set it works through next (or shows it again). */
  | { type: "header"; responseSetId: number }
  /** Nothing is left to observe or reflect on. */
  | { type: "logged" };

/** How the adapter shows a step that was taken. */
export type LogShow =
  /** The new step as a new message (older buttons removed). */
  | "step"
  /** The same message redrawn (attendance toggles). */
  | "redraw"
  | "cancelled"
  /** "Not yet" at the close confirmation: the log stays open. */
  | "later"
  | "attendance-saved"
  | "skipped"
  | "closed"
  /** A correction saved: the set's items again, with a "saved" toast. */
  | "corrected"
  /** The log moved inside the logging step (a header, or everything logged). */
  | "moved";

export type LogEffect =
  | { type: "correct-date"; sessionId: number; date: string }
  | {
      type: "record-attendance";
      sessionId: number;
      /** Members marked present and absent, in the group's order. */
      present: number[];
      absent: number[];
      heldOn: string;
      /** The session already had another date: it is corrected to `heldOn` first. */
      correctDate: boolean;
    }
  | { type: "begin-amendment"; sessionId: number; reason: string }
  | { type: "skip-observation"; responseSetId: number }
  | { type: "reopen-observation"; responseSetId: number }
  | {
      type: "correct-answer";
      responseSetId: number;
      itemId: string;
      value: number | string | null;
    }
  | { type: "close"; sessionId: number; amendment: boolean }
  | { type: "show"; as: LogShow };

export type LogRejection =
  /** A press of another step, conversation or set: nothing changes (the "no longer active" toast). */
  | "stale"
  | "not-your-group"
  | "other-logger"
  /** Attendance done with nobody present. */
  | "nobody"
  /** Closing while an observation or the reflection is still open (or the close failed). */
  | "incomplete"
  /** A day that does not parse, or one after today. */
  | "invalid-date"
  | "reason-invalid"
  /** A correction the item does not take. */
  | "invalid";

export type LogStepResult =
  { ok: true; state: LogState; effects: LogEffect[] } | { ok: false; reason: LogRejection };

const REASON_MIN_LENGTH = 3;
const REASON_MAX_LENGTH = 500;

function refuse(reason: LogRejection): LogStepResult {
  return { ok: false, reason };
}

/** The machine's event for an input, with the writes it commits and how it is shown. */
function through(
  state: LogState,
  event: LogEvent,
  effects: LogEffect[],
  show: LogShow,
): LogStepResult {
  const next = stepLog(state, event);
  return next
    ? { ok: true, state: next, effects: [...effects, { type: "show", as: show }] }
    : refuse("stale");
}

/** A step that changes the state only by moving the nonce (its effects are the point). */
function stay(state: LogState, effects: LogEffect[], show: LogShow): LogStepResult {
  return { ok: true, state, effects: [...effects, { type: "show", as: show }] };
}

/** The session log's step: pure, so a refused input leaves the state (and the database) as it was. */
export function stepSessionLog(state: LogState, input: LogInput): LogStepResult {
  const ctx = state.context;
  switch (input.type) {
    case "cancel":
      return through(state, { type: "CANCEL" }, [], "cancelled");
    case "back":
      return through(state, { type: "BACK" }, [], "step");
    case "group":
      return through(state, { type: "PICK_GROUP", groupId: input.groupId }, [], "step");
    case "number": {
      const s = input.session;
      const event: LogEvent = {
        type: "PICK_NUMBER",
        number: input.number,
        sessionId: s.id,
        closed: s.closed,
        present: s.present,
        date: s.date,
      };
      return through(state, event, [], "step");
    }
    case "amend":
      return through(state, { type: "AMEND" }, [], "step");
    case "reason": {
      if (state.value !== "amendReason") return refuse("stale");
      const n = input.text.length;
      if (n < REASON_MIN_LENGTH || n > REASON_MAX_LENGTH) return refuse("reason-invalid");
      const write: LogEffect = {
        type: "begin-amendment",
        sessionId: ctx.sessionId!,
        reason: input.text,
      };
      return through(state, { type: "REASON" }, [write], "step");
    }
    case "date": {
      if (input.date > input.today) return refuse("invalid-date");
      // During an amendment the day is corrected at once; a first log records it with attendance.
      const writes: LogEffect[] = ctx.amending
        ? [{ type: "correct-date", sessionId: ctx.sessionId!, date: input.date }]
        : [];
      return through(state, { type: "PICK_DATE", date: input.date }, writes, "step");
    }
    case "toggle":
      if (!input.members.includes(input.participantId)) return refuse("stale");
      return through(state, { type: "TOGGLE", participantId: input.participantId }, [], "redraw");
    case "all": {
      const all = input.members.every((id) => ctx.present.includes(id));
      // A second press clears the marks again, like a "select all" checkbox.
      const present = all ? [] : input.members;
      return through(state, { type: "SET_PRESENT", present }, [], "redraw");
    }
    case "attendance-done": {
      if (state.value !== "attendance") return refuse("stale");
      if (ctx.present.length === 0) return refuse("nobody");
      const heldOn = ctx.amending
        ? (input.sessionHeldOn ?? input.today)
        : (ctx.date ?? input.today);
      const write: LogEffect = {
        type: "record-attendance",
        sessionId: ctx.sessionId!,
        present: input.members.filter((id) => ctx.present.includes(id)),
        absent: input.members.filter((id) => !ctx.present.includes(id)),
        heldOn,
        correctDate:
          !ctx.amending && input.sessionHeldOn !== null && input.sessionHeldOn !== ctx.date,
      };
      return through(state, { type: "ATTENDANCE_DONE" }, [write], "attendance-saved");
    }
    case "skip": {
      const rs = input.set;
      if (
        state.value !== "logging" ||
        ctx.header !== rs.id ||
        rs.sessionId !== ctx.sessionId ||
        !rs.observation
      )
        return refuse("stale");
      return stay(state, [{ type: "skip-observation", responseSetId: rs.id }], "skipped");
    }
    case "later":
      if (state.value !== "confirmClose") return refuse("stale");
      return stay(state, [], "later");
    case "close": {
      if (state.value !== "confirmClose" && state.value !== "amendMenu") return refuse("stale");
      if (!input.complete) return refuse("incomplete");
      const write: LogEffect = {
        type: "close",
        sessionId: ctx.sessionId!,
        amendment: ctx.amending,
      };
      return through(state, { type: "CLOSE" }, [write], "closed");
    }
    case "edit-date":
      return through(state, { type: "EDIT_DATE" }, [], "step");
    case "edit-attendance":
      return through(state, { type: "EDIT_ATTENDANCE" }, [], "step");
    case "edit-set": {
      const rs = input.set;
      if (rs.sessionId !== ctx.sessionId || !rs.facilitator || rs.status !== "complete")
        return refuse("stale");
      return through(state, { type: "EDIT_SET", responseSetId: rs.id }, [], "step");
    }
    case "redo": {
      const rs = input.set;
      if (
        rs.sessionId !== ctx.sessionId ||
        !rs.facilitator ||
        rs.status === "complete" ||
        (rs.observation && !rs.present)
      )
        return refuse("stale");
      const write: LogEffect = { type: "reopen-observation", responseSetId: rs.id };
      return through(state, { type: "REDO", responseSetId: rs.id }, [write], "step");
    }
    case "edit-item":
      return through(state, { type: "EDIT_ITEM", itemId: input.itemId }, [], "step");
    case "correct": {
      if (state.value !== "editItem") return refuse("stale");
      if (input.value === undefined) return refuse("invalid");
      const write: LogEffect = {
        type: "correct-answer",
        responseSetId: ctx.editRs!,
        itemId: ctx.editItem!,
        value: input.value,
      };
      return through(state, { type: "ITEM_DONE" }, [write], "corrected");
    }
    case "header":
      return through(state, { type: "HEADER", responseSetId: input.responseSetId }, [], "moved");
    case "logged":
      return through(state, { type: "LOGGED" }, [], "moved");
  }
}

// ---------------------------------------------------------------------------------------------
// Buttons offered. The view labels them; each carries the operation (and argument) its press
// sends back, bound by the adapter to the conversation's nonce.

export type LogButton =
  | { op: "g"; groupId: number }
  /** A session number: `next` is the one offered first (its own row), else one of the row. */
  | { op: "n"; number: number; next: boolean; closed: boolean }
  | { op: "d"; date: string; which: "today" | "yesterday" | "held" | "planned" }
  | { op: "t"; participantId: number; present: boolean }
  | { op: "all" }
  | { op: "ok"; count: number }
  | { op: "sk"; responseSetId: number }
  | { op: "cl"; amending: boolean }
  | { op: "later" }
  | { op: "am" }
  | { op: "ed" }
  | { op: "ea" }
  /** A set of the amendment menu: edit a completed one, (re)do an open or skipped one. */
  | { op: "es" | "rd"; responseSetId: number; participantId: number | null; status: string }
  | { op: "ei"; index: number }
  | { op: "v"; index: number }
  | { op: "clr" }
  | { op: "b" }
  | { op: "x" };

/** What the buttons of a step are made of (read by the view; only the current step's part is used). */
export interface LogFacts {
  /** pickGroup: the facilitator's groups; pickNumber: Back is offered when there are several. */
  groups?: number[];
  /** pickNumber: the study's session numbers (closed or not) and the one to log next. */
  numbers?: { number: number; closed: boolean }[];
  next?: number;
  /** pickDate: today, the day before, and the session's held or planned day. */
  days?: { today: string; yesterday: string; held: string | null; planned: string | null };
  /** attendance: the group's active members, in order. */
  members?: number[];
  /** logging: the set whose header is shown, when it is a child's observation (it can be skipped). */
  skippable?: number | null;
  /** amendMenu: the log's observation sets in order, then the reflection. */
  sets?: { id: number; participantId: number | null; status: string }[];
  /** editSet: the number of items of the set's instrument. */
  items?: number;
  /** editItem: the option labels of a choice item (none for a typed one), and whether it may be cleared. */
  item?: { options: string[]; required: boolean };
}

/** The third day a date step offers: the held day, else a planned day before today. */
function thirdDay(days: NonNullable<LogFacts["days"]>): LogButton | null {
  const { today, yesterday, held, planned } = days;
  if (held && held !== today && held !== yesterday) return { op: "d", date: held, which: "held" };
  if (planned && planned !== today && planned !== yesterday && planned < today)
    return { op: "d", date: planned, which: "planned" };
  return null;
}

/** Choice options: short numeric labels fit six to a row, short words two, sentences one. */
function optionsPerRow(labels: readonly string[]): number {
  if (labels.every((l) => l.length <= 3)) return 6;
  return labels.every((l) => l.length <= 12) ? 2 : 1;
}

export function logButtons(state: LogState, facts: LogFacts): LogButton[][] {
  const ctx = state.context;
  const back: LogButton = { op: "b" };
  const cancel: LogButton = { op: "x" };
  /** Cancel is offered until a closed session is being amended (then it must be closed again). */
  const nav: LogButton[] = ctx.amending ? [back] : [back, cancel];
  switch (state.value) {
    case "pickGroup":
      return [
        ...(facts.groups ?? []).map((groupId): LogButton[] => [{ op: "g", groupId }]),
        [cancel],
      ];
    case "pickNumber": {
      const numbers = facts.numbers ?? [];
      const next = facts.next ?? numbers[0]?.number ?? 1;
      return [
        [{ op: "n", number: next, next: true, closed: false }],
        numbers.map((n): LogButton => ({
          op: "n",
          number: n.number,
          next: false,
          closed: n.closed,
        })),
        (facts.groups ?? []).length > 1 ? [back, cancel] : [cancel],
      ];
    }
    case "confirmAmend":
      return [[{ op: "am" }], [back, cancel]];
    case "amendReason":
      return [[back, cancel]];
    case "pickDate": {
      if (!facts.days) return [nav];
      const extra = thirdDay(facts.days);
      return [
        [
          { op: "d", date: facts.days.today, which: "today" },
          { op: "d", date: facts.days.yesterday, which: "yesterday" },
        ],
        ...(extra ? [[extra]] : []),
        nav,
      ];
    }
    case "attendance":
      return [
        ...(facts.members ?? []).map((id): LogButton[] => [
          { op: "t", participantId: id, present: ctx.present.includes(id) },
        ]),
        [{ op: "all" }, { op: "ok", count: ctx.present.length }],
        nav,
      ];
    case "logging":
      return facts.skippable ? [[{ op: "sk", responseSetId: facts.skippable }]] : [];
    case "confirmClose":
      return [[{ op: "cl", amending: false }], [{ op: "later" }]];
    case "amendMenu":
      return [
        [{ op: "ed" }],
        [{ op: "ea" }],
        ...(facts.sets ?? []).map((rs): LogButton[] => [
          {
            op: rs.status === "complete" ? "es" : "rd",
            responseSetId: rs.id,
            participantId: rs.participantId,
            status: rs.status,
          },
        ]),
        [{ op: "cl", amending: true }],
      ];
    case "editSet":
      return [
        ...Array.from({ length: facts.items ?? 0 }, (_, index): LogButton[] => [
          { op: "ei", index },
        ]),
        [back],
      ];
    case "editItem": {
      const labels = facts.item?.options ?? [];
      const perRow = optionsPerRow(labels);
      const rows: LogButton[][] = [];
      for (let i = 0; i < labels.length; i += perRow)
        rows.push(
          labels.slice(i, i + perRow).map((_, k): LogButton => ({ op: "v", index: i + k })),
        );
      rows.push(facts.item && !facts.item.required ? [back, { op: "clr" }] : [back]);
      return rows;
    }
    case "closed":
    case "cancelled":
      return [];
  }
}

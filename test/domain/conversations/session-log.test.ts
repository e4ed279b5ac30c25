// Table tests of the session log's pure machine: (state, event) → next state, and which events
// each step takes (what its buttons can do). An event the step does not take — a press left over
// from an earlier step, Cancel during an amendment, Done with nobody present — returns null and
// the stored state stays as it was. Then the conversation kind's step over it (an input resolved
// against the database → next state, the writes it commits, how it is shown; refused inputs leave
// the state as it was) and the buttons each step offers. No database, no Telegram.
import { describe, expect, it } from "vitest";
import {
  initialLogState,
  logButtons,
  parseStored,
  stepLog,
  stepSessionLog,
  type LogButton,
  type LogContext,
  type LogEffect,
  type LogEvent,
  type LogFacts,
  type LogInput,
  type LogRejection,
  type LogSetFacts,
  type LogShow,
  type LogState,
  type LogStep,
} from "../../../src/domain/conversations/session-log.js";

function st(value: LogStep, ctx: Partial<LogContext> = {}): LogState {
  return { value, context: { ...initialLogState().context, ...ctx } };
}

const PICK_NUMBER = (closed: boolean): LogEvent => ({
  type: "PICK_NUMBER",
  number: 3,
  sessionId: 30,
  closed,
  present: closed ? [1, 2] : [],
  date: closed ? "2026-12-01" : null,
});

describe("session log: accepted steps", () => {
  const rows: Array<{ name: string; from: LogState; event: LogEvent; to: LogState }> = [
    {
      name: "pick a group",
      from: st("pickGroup"),
      event: { type: "PICK_GROUP", groupId: 7 },
      to: st("pickNumber", { groupId: 7 }),
    },
    {
      name: "pick an open session: the date comes next",
      from: st("pickNumber", { groupId: 7 }),
      event: PICK_NUMBER(false),
      to: st("pickDate", { groupId: 7, number: 3, sessionId: 30 }),
    },
    {
      name: "pick a closed session: confirm the amendment",
      from: st("pickNumber", { groupId: 7 }),
      event: PICK_NUMBER(true),
      to: st("confirmAmend", {
        groupId: 7,
        number: 3,
        sessionId: 30,
        present: [1, 2],
        date: "2026-12-01",
      }),
    },
    {
      name: "back from the number to the group",
      from: st("pickNumber", { groupId: 7 }),
      event: { type: "BACK" },
      to: st("pickGroup", { groupId: 7 }),
    },
    {
      name: "pick the date: attendance next",
      from: st("pickDate", { sessionId: 30 }),
      event: { type: "PICK_DATE", date: "2026-12-02" },
      to: st("attendance", { sessionId: 30, date: "2026-12-02" }),
    },
    {
      name: "tick a child present",
      from: st("attendance", { present: [1] }),
      event: { type: "TOGGLE", participantId: 2 },
      to: st("attendance", { present: [1, 2] }),
    },
    {
      name: "untick a child",
      from: st("attendance", { present: [1, 2] }),
      event: { type: "TOGGLE", participantId: 1 },
      to: st("attendance", { present: [2] }),
    },
    {
      name: "attendance done with someone present: observations",
      from: st("attendance", { present: [2], header: 5, target: 9 }),
      event: { type: "ATTENDANCE_DONE" },
      to: st("logging", { present: [2] }),
    },
    {
      name: "a set's header is remembered",
      from: st("logging", { present: [2] }),
      event: { type: "HEADER", responseSetId: 41 },
      to: st("logging", { present: [2], header: 41 }),
    },
    {
      name: "everything logged: confirm the close",
      from: st("logging", { present: [2], header: 41 }),
      event: { type: "LOGGED" },
      to: st("confirmClose", { present: [2] }),
    },
    { name: "close", from: st("confirmClose"), event: { type: "CLOSE" }, to: st("closed") },
    {
      name: "cancel before anything is logged",
      from: st("pickDate"),
      event: { type: "CANCEL" },
      to: st("cancelled"),
    },
    {
      name: "amend: the reason opens the menu",
      from: st("amendReason", { sessionId: 30 }),
      event: { type: "REASON" },
      to: st("amendMenu", { sessionId: 30, amending: true }),
    },
    {
      name: "amending the date returns to the menu",
      from: st("pickDate", { amending: true, date: "2026-12-01" }),
      event: { type: "PICK_DATE", date: "2026-12-03" },
      to: st("amendMenu", { amending: true, date: "2026-12-03" }),
    },
    {
      name: "amending attendance returns to the menu",
      from: st("attendance", { amending: true, present: [1] }),
      event: { type: "ATTENDANCE_DONE" },
      to: st("amendMenu", { amending: true, present: [1] }),
    },
    {
      name: "redo one child's observation",
      from: st("amendMenu", { amending: true, header: 3 }),
      event: { type: "REDO", responseSetId: 12 },
      to: st("logging", { amending: true, target: 12 }),
    },
    {
      name: "the redone set returns to the menu",
      from: st("logging", { amending: true, target: 12, header: 12 }),
      event: { type: "LOGGED" },
      to: st("amendMenu", { amending: true }),
    },
    {
      name: "edit one item of a set",
      from: st("editSet", { amending: true, editRs: 12 }),
      event: { type: "EDIT_ITEM", itemId: "o3" },
      to: st("editItem", { amending: true, editRs: 12, editItem: "o3" }),
    },
    {
      name: "the item is done",
      from: st("editItem", { amending: true, editRs: 12, editItem: "o3" }),
      event: { type: "ITEM_DONE" },
      to: st("editSet", { amending: true, editRs: 12 }),
    },
  ];
  it.each(rows)("$name", ({ from, event, to }) => {
    const before = structuredClone(from);
    expect(stepLog(from, event)).toEqual(to);
    expect(from).toEqual(before);
  });
});

describe("session log: events a step does not take change nothing", () => {
  const rows: Array<{ name: string; from: LogState; event: LogEvent }> = [
    {
      name: "a group press at the date step",
      from: st("pickDate"),
      event: { type: "PICK_GROUP", groupId: 1 },
    },
    {
      name: "attendance done with nobody present",
      from: st("attendance"),
      event: { type: "ATTENDANCE_DONE" },
    },
    {
      name: "cancel during an amendment (the session stays amended or not, never half)",
      from: st("attendance", { amending: true, present: [1] }),
      event: { type: "CANCEL" },
    },
    {
      name: "close before everything is logged",
      from: st("logging", { present: [1] }),
      event: { type: "CLOSE" },
    },
    { name: "back while logging", from: st("logging", { present: [1] }), event: { type: "BACK" } },
    {
      name: "cancel at the close confirmation",
      from: st("confirmClose"),
      event: { type: "CANCEL" },
    },
    { name: "a second close", from: st("closed"), event: { type: "CLOSE" } },
    {
      name: "a date press after cancelling",
      from: st("cancelled"),
      event: { type: "PICK_DATE", date: "2026-12-01" },
    },
    { name: "amend without a closed session", from: st("pickDate"), event: { type: "AMEND" } },
  ];
  it.each(rows)("$name", ({ from, event }) => {
    const before = structuredClone(from);
    expect(stepLog(from, event)).toBeNull();
    expect(from).toEqual(before);
  });
});

describe("session log: what each step's buttons can do", () => {
  const probes: LogEvent[] = [
    { type: "PICK_GROUP", groupId: 1 },
    PICK_NUMBER(false),
    { type: "AMEND" },
    { type: "REASON" },
    { type: "PICK_DATE", date: "2026-12-01" },
    { type: "TOGGLE", participantId: 1 },
    { type: "SET_PRESENT", present: [1] },
    { type: "ATTENDANCE_DONE" },
    { type: "HEADER", responseSetId: 1 },
    { type: "LOGGED" },
    { type: "EDIT_DATE" },
    { type: "EDIT_ATTENDANCE" },
    { type: "EDIT_SET", responseSetId: 1 },
    { type: "REDO", responseSetId: 1 },
    { type: "EDIT_ITEM", itemId: "o1" },
    { type: "ITEM_DONE" },
    { type: "BACK" },
    { type: "CLOSE" },
    { type: "CANCEL" },
  ];
  const rows: Array<{ from: LogState; takes: string[] }> = [
    { from: st("pickGroup"), takes: ["PICK_GROUP", "CANCEL"] },
    { from: st("pickNumber"), takes: ["PICK_NUMBER", "BACK", "CANCEL"] },
    { from: st("confirmAmend"), takes: ["AMEND", "BACK", "CANCEL"] },
    { from: st("amendReason"), takes: ["REASON", "BACK", "CANCEL"] },
    { from: st("pickDate"), takes: ["PICK_DATE", "BACK", "CANCEL"] },
    { from: st("pickDate", { amending: true }), takes: ["PICK_DATE", "BACK"] },
    { from: st("attendance"), takes: ["TOGGLE", "SET_PRESENT", "BACK", "CANCEL"] },
    {
      from: st("attendance", { present: [1] }),
      takes: ["TOGGLE", "SET_PRESENT", "ATTENDANCE_DONE", "BACK", "CANCEL"],
    },
    { from: st("logging"), takes: ["HEADER", "LOGGED"] },
    { from: st("confirmClose"), takes: ["CLOSE"] },
    {
      from: st("amendMenu", { amending: true }),
      takes: ["EDIT_DATE", "EDIT_ATTENDANCE", "EDIT_SET", "REDO", "CLOSE"],
    },
    { from: st("editSet"), takes: ["EDIT_ITEM", "BACK"] },
    { from: st("editItem"), takes: ["ITEM_DONE", "BACK"] },
    { from: st("closed"), takes: [] },
    { from: st("cancelled"), takes: [] },
  ];
  it.each(rows)("$from.value (amending: $from.context.amending)", ({ from, takes }) => {
    expect(probes.filter((e) => stepLog(from, e) !== null).map((e) => e.type)).toEqual(takes);
  });
});

describe("session log: stored states", () => {
  it.each([
    ["corrupt JSON", "{"],
    ["an unknown step", JSON.stringify({ value: "dancing", context: initialLogState().context })],
    ["a context without attendance", JSON.stringify({ value: "attendance", context: {} })],
    ["null", "null"],
  ])("%s is not continued", (_name, json) => {
    expect(parseStored(json)).toBeNull();
  });

  it("a state from before a context field existed gets its default", () => {
    const old = { value: "attendance", context: { groupId: 7, present: [1] } };
    expect(parseStored(JSON.stringify(old))).toEqual(
      st("attendance", { groupId: 7, present: [1] }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The kind's step

const TODAY = "2026-12-01";
const show = (as: LogShow): LogEffect => ({ type: "show", as });

/** An observation set of session 30 for a child marked present, open. */
function obs(id: number, over: Partial<LogSetFacts> = {}): LogSetFacts {
  return {
    id,
    sessionId: 30,
    facilitator: true,
    status: "in_progress",
    observation: true,
    present: true,
    ...over,
  };
}

describe("session log kind: an input → next state, the writes it commits, how it is shown", () => {
  const rows: Array<{
    name: string;
    from: LogState;
    input: LogInput;
    to: LogState;
    effects: LogEffect[];
  }> = [
    {
      name: "pick a group",
      from: st("pickGroup"),
      input: { type: "group", groupId: 7 },
      to: st("pickNumber", { groupId: 7 }),
      effects: [show("step")],
    },
    {
      name: "pick an open session: its facts come with the press",
      from: st("pickNumber", { groupId: 7 }),
      input: {
        type: "number",
        number: 3,
        session: { id: 30, closed: false, present: [], date: null },
      },
      to: st("pickDate", { groupId: 7, number: 3, sessionId: 30 }),
      effects: [show("step")],
    },
    {
      name: "a first log's date is kept for the attendance (nothing written yet)",
      from: st("pickDate", { sessionId: 30 }),
      input: { type: "date", date: "2026-11-30", today: TODAY },
      to: st("attendance", { sessionId: 30, date: "2026-11-30" }),
      effects: [show("step")],
    },
    {
      name: "today itself is a valid day",
      from: st("pickDate", { sessionId: 30 }),
      input: { type: "date", date: TODAY, today: TODAY },
      to: st("attendance", { sessionId: 30, date: TODAY }),
      effects: [show("step")],
    },
    {
      name: "an amendment's date is corrected at once",
      from: st("pickDate", { sessionId: 30, amending: true }),
      input: { type: "date", date: "2026-11-30", today: TODAY },
      to: st("amendMenu", { sessionId: 30, amending: true, date: "2026-11-30" }),
      effects: [{ type: "correct-date", sessionId: 30, date: "2026-11-30" }, show("step")],
    },
    {
      name: "tick a member: the same message is redrawn",
      from: st("attendance", { present: [1] }),
      input: { type: "toggle", participantId: 2, members: [1, 2, 3] },
      to: st("attendance", { present: [1, 2] }),
      effects: [show("redraw")],
    },
    {
      name: "“All” marks every member",
      from: st("attendance", { present: [1] }),
      input: { type: "all", members: [1, 2] },
      to: st("attendance", { present: [1, 2] }),
      effects: [show("redraw")],
    },
    {
      name: "“All” again clears the marks",
      from: st("attendance", { present: [2, 1] }),
      input: { type: "all", members: [1, 2] },
      to: st("attendance", { present: [] }),
      effects: [show("redraw")],
    },
    {
      name: "attendance done: recorded on the chosen day, members in the group's order",
      from: st("attendance", { sessionId: 30, date: "2026-11-30", present: [3, 1] }),
      input: { type: "attendance-done", members: [1, 2, 3], sessionHeldOn: null, today: TODAY },
      to: st("logging", { sessionId: 30, date: "2026-11-30", present: [3, 1] }),
      effects: [
        {
          type: "record-attendance",
          sessionId: 30,
          present: [1, 3],
          absent: [2],
          heldOn: "2026-11-30",
          correctDate: false,
        },
        show("attendance-saved"),
      ],
    },
    {
      name: "attendance done for a session logged before on another day: the day is corrected",
      from: st("attendance", { sessionId: 30, date: "2026-11-30", present: [1] }),
      input: { type: "attendance-done", members: [1], sessionHeldOn: "2026-11-28", today: TODAY },
      to: st("logging", { sessionId: 30, date: "2026-11-30", present: [1] }),
      effects: [
        {
          type: "record-attendance",
          sessionId: 30,
          present: [1],
          absent: [],
          heldOn: "2026-11-30",
          correctDate: true,
        },
        show("attendance-saved"),
      ],
    },
    {
      name: "attendance amended: the session keeps its day, back to the menu",
      from: st("attendance", { sessionId: 30, amending: true, present: [2] }),
      input: {
        type: "attendance-done",
        members: [1, 2],
        sessionHeldOn: "2026-11-28",
        today: TODAY,
      },
      to: st("amendMenu", { sessionId: 30, amending: true, present: [2] }),
      effects: [
        {
          type: "record-attendance",
          sessionId: 30,
          present: [2],
          absent: [1],
          heldOn: "2026-11-28",
          correctDate: false,
        },
        show("attendance-saved"),
      ],
    },
    {
      name: "the next set's header",
      from: st("logging", { sessionId: 30, present: [1] }),
      input: { type: "header", responseSetId: 41 },
      to: st("logging", { sessionId: 30, present: [1], header: 41 }),
      effects: [show("moved")],
    },
    {
      name: "skip the child whose header shows: the state stays, the nonce moves",
      from: st("logging", { sessionId: 30, header: 41 }),
      input: { type: "skip", set: obs(41) },
      to: st("logging", { sessionId: 30, header: 41 }),
      effects: [{ type: "skip-observation", responseSetId: 41 }, show("skipped")],
    },
    {
      name: "everything logged: the close confirmation",
      from: st("logging", { sessionId: 30, header: 41 }),
      input: { type: "logged" },
      to: st("confirmClose", { sessionId: 30 }),
      effects: [show("moved")],
    },
    {
      name: "“Not yet”: the log stays at the confirmation",
      from: st("confirmClose", { sessionId: 30 }),
      input: { type: "later" },
      to: st("confirmClose", { sessionId: 30 }),
      effects: [show("later")],
    },
    {
      name: "close",
      from: st("confirmClose", { sessionId: 30 }),
      input: { type: "close", complete: true },
      to: st("closed", { sessionId: 30 }),
      effects: [{ type: "close", sessionId: 30, amendment: false }, show("closed")],
    },
    {
      name: "close again after an amendment",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "close", complete: true },
      to: st("closed", { sessionId: 30, amending: true }),
      effects: [{ type: "close", sessionId: 30, amendment: true }, show("closed")],
    },
    {
      name: "the amendment's reason begins the amendment",
      from: st("amendReason", { sessionId: 30 }),
      input: { type: "reason", text: "Wrong date." },
      to: st("amendMenu", { sessionId: 30, amending: true }),
      effects: [{ type: "begin-amendment", sessionId: 30, reason: "Wrong date." }, show("step")],
    },
    {
      name: "redo a skipped child: reopened, observed through the child questionnaire",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "redo", set: obs(12, { status: "skipped" }) },
      to: st("logging", { sessionId: 30, amending: true, target: 12 }),
      effects: [{ type: "reopen-observation", responseSetId: 12 }, show("step")],
    },
    {
      name: "redo the reflection (no attendance behind it)",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "redo", set: obs(13, { observation: false, present: false }) },
      to: st("logging", { sessionId: 30, amending: true, target: 13 }),
      effects: [{ type: "reopen-observation", responseSetId: 13 }, show("step")],
    },
    {
      name: "edit a completed set",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "edit-set", set: obs(12, { status: "complete" }) },
      to: st("editSet", { sessionId: 30, amending: true, editRs: 12 }),
      effects: [show("step")],
    },
    {
      name: "correct an item: written, then the set's items again",
      from: st("editItem", { amending: true, editRs: 12, editItem: "o3" }),
      input: { type: "correct", value: 2 },
      to: st("editSet", { amending: true, editRs: 12 }),
      effects: [
        { type: "correct-answer", responseSetId: 12, itemId: "o3", value: 2 },
        show("corrected"),
      ],
    },
    {
      name: "clear an optional item",
      from: st("editItem", { amending: true, editRs: 12, editItem: "note" }),
      input: { type: "correct", value: null },
      to: st("editSet", { amending: true, editRs: 12 }),
      effects: [
        { type: "correct-answer", responseSetId: 12, itemId: "note", value: null },
        show("corrected"),
      ],
    },
    {
      name: "cancel before anything is logged",
      from: st("attendance", { sessionId: 30, present: [1] }),
      input: { type: "cancel" },
      to: st("cancelled", { sessionId: 30, present: [1] }),
      effects: [show("cancelled")],
    },
  ];
  it.each(rows)("$name", ({ from, input, to, effects }) => {
    const before = structuredClone(from);
    expect(stepSessionLog(from, input)).toEqual({ ok: true, state: to, effects });
    expect(from).toEqual(before);
  });
});

describe("session log kind: refused inputs change nothing and write nothing", () => {
  const rows: Array<{ name: string; from: LogState; input: LogInput; reason: LogRejection }> = [
    {
      name: "a child of another group (a forged toggle)",
      from: st("attendance", { present: [1] }),
      input: { type: "toggle", participantId: 9, members: [1, 2] },
      reason: "stale",
    },
    {
      name: "a toggle left over from the attendance step",
      from: st("logging", { present: [1], header: 41 }),
      input: { type: "toggle", participantId: 1, members: [1, 2] },
      reason: "stale",
    },
    {
      name: "attendance done with nobody marked",
      from: st("attendance", { sessionId: 30 }),
      input: { type: "attendance-done", members: [1], sessionHeldOn: null, today: TODAY },
      reason: "nobody",
    },
    {
      name: "attendance done pressed again after it was saved",
      from: st("logging", { sessionId: 30, present: [1] }),
      input: { type: "attendance-done", members: [1], sessionHeldOn: TODAY, today: TODAY },
      reason: "stale",
    },
    {
      name: "a day after today",
      from: st("pickDate", { sessionId: 30 }),
      input: { type: "date", date: "2026-12-02", today: TODAY },
      reason: "invalid-date",
    },
    {
      name: "a date press at the attendance step",
      from: st("attendance", { sessionId: 30 }),
      input: { type: "date", date: "2026-11-30", today: TODAY },
      reason: "stale",
    },
    {
      name: "a reason too short for the audit trail",
      from: st("amendReason", { sessionId: 30 }),
      input: { type: "reason", text: "no" },
      reason: "reason-invalid",
    },
    {
      name: "a reason over 500 characters",
      from: st("amendReason", { sessionId: 30 }),
      input: { type: "reason", text: "x".repeat(501) },
      reason: "reason-invalid",
    },
    {
      name: "skip a child whose header is no longer shown",
      from: st("logging", { sessionId: 30, header: 42 }),
      input: { type: "skip", set: obs(41) },
      reason: "stale",
    },
    {
      name: "skip a set of another session",
      from: st("logging", { sessionId: 30, header: 41 }),
      input: { type: "skip", set: obs(41, { sessionId: 31 }) },
      reason: "stale",
    },
    {
      name: "skip the reflection",
      from: st("logging", { sessionId: 30, header: 43 }),
      input: { type: "skip", set: obs(43, { observation: false }) },
      reason: "stale",
    },
    {
      name: "close while a child still needs an observation",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "close", complete: false },
      reason: "incomplete",
    },
    {
      name: "close while logging",
      from: st("logging", { sessionId: 30, header: 41 }),
      input: { type: "close", complete: true },
      reason: "stale",
    },
    {
      name: "“Not yet” in the amendment menu",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "later" },
      reason: "stale",
    },
    {
      name: "redo a completed set",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "redo", set: obs(12, { status: "complete" }) },
      reason: "stale",
    },
    {
      name: "redo a child marked absent since",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "redo", set: obs(12, { present: false }) },
      reason: "stale",
    },
    {
      name: "redo a set of another session",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "redo", set: obs(12, { sessionId: 31 }) },
      reason: "stale",
    },
    {
      name: "redo a family's set",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "redo", set: obs(12, { facilitator: false, observation: false }) },
      reason: "stale",
    },
    {
      name: "edit a set not completed yet",
      from: st("amendMenu", { sessionId: 30, amending: true }),
      input: { type: "edit-set", set: obs(12) },
      reason: "stale",
    },
    {
      name: "a correction without a value the item has",
      from: st("editItem", { amending: true, editRs: 12, editItem: "o3" }),
      input: { type: "correct", value: undefined },
      reason: "invalid",
    },
    {
      name: "a correction outside the item step",
      from: st("editSet", { amending: true, editRs: 12 }),
      input: { type: "correct", value: 2 },
      reason: "stale",
    },
    {
      name: "cancel during an amendment",
      from: st("pickDate", { sessionId: 30, amending: true }),
      input: { type: "cancel" },
      reason: "stale",
    },
    {
      name: "a group press at the date step",
      from: st("pickDate", { sessionId: 30 }),
      input: { type: "group", groupId: 7 },
      reason: "stale",
    },
    {
      name: "a session number at the attendance step",
      from: st("attendance", { sessionId: 30 }),
      input: {
        type: "number",
        number: 2,
        session: { id: 31, closed: false, present: [], date: null },
      },
      reason: "stale",
    },
    {
      name: "anything once closed",
      from: st("closed", { sessionId: 30 }),
      input: { type: "back" },
      reason: "stale",
    },
  ];
  it.each(rows)("$name", ({ from, input, reason }) => {
    const before = structuredClone(from);
    expect(stepSessionLog(from, input)).toEqual({ ok: false, reason });
    expect(from).toEqual(before);
  });
});

describe("session log kind: the buttons each step offers", () => {
  const days = { today: TODAY, yesterday: "2026-11-30", held: null, planned: null };
  const rows: Array<{ name: string; state: LogState; facts: LogFacts; buttons: LogButton[][] }> = [
    {
      name: "groups, then Cancel",
      state: st("pickGroup"),
      facts: { groups: [4, 7] },
      buttons: [[{ op: "g", groupId: 4 }], [{ op: "g", groupId: 7 }], [{ op: "x" }]],
    },
    {
      name: "the next session first, every number, Cancel (one group: no Back)",
      state: st("pickNumber", { groupId: 7 }),
      facts: {
        groups: [7],
        next: 2,
        numbers: [
          { number: 1, closed: true },
          { number: 2, closed: false },
        ],
      },
      buttons: [
        [{ op: "n", number: 2, next: true, closed: false }],
        [
          { op: "n", number: 1, next: false, closed: true },
          { op: "n", number: 2, next: false, closed: false },
        ],
        [{ op: "x" }],
      ],
    },
    {
      name: "several groups: Back to the group",
      state: st("pickNumber", { groupId: 7 }),
      facts: { groups: [4, 7], next: 1, numbers: [{ number: 1, closed: false }] },
      buttons: [
        [{ op: "n", number: 1, next: true, closed: false }],
        [{ op: "n", number: 1, next: false, closed: false }],
        [{ op: "b" }, { op: "x" }],
      ],
    },
    {
      name: "a closed session: amend, Back, Cancel",
      state: st("confirmAmend", { sessionId: 30 }),
      facts: {},
      buttons: [[{ op: "am" }], [{ op: "b" }, { op: "x" }]],
    },
    {
      name: "the reason is typed: Back and Cancel only",
      state: st("amendReason", { sessionId: 30 }),
      facts: {},
      buttons: [[{ op: "b" }, { op: "x" }]],
    },
    {
      name: "today and yesterday",
      state: st("pickDate", { sessionId: 30 }),
      facts: { days },
      buttons: [
        [
          { op: "d", date: TODAY, which: "today" },
          { op: "d", date: "2026-11-30", which: "yesterday" },
        ],
        [{ op: "b" }, { op: "x" }],
      ],
    },
    {
      name: "the day logged before, when it is neither; no Cancel while amending",
      state: st("pickDate", { sessionId: 30, amending: true }),
      facts: { days: { ...days, held: "2026-11-20", planned: "2026-11-25" } },
      buttons: [
        [
          { op: "d", date: TODAY, which: "today" },
          { op: "d", date: "2026-11-30", which: "yesterday" },
        ],
        [{ op: "d", date: "2026-11-20", which: "held" }],
        [{ op: "b" }],
      ],
    },
    {
      name: "a planned day before today; never one still to come",
      state: st("pickDate", { sessionId: 30 }),
      facts: { days: { ...days, planned: "2026-11-25" } },
      buttons: [
        [
          { op: "d", date: TODAY, which: "today" },
          { op: "d", date: "2026-11-30", which: "yesterday" },
        ],
        [{ op: "d", date: "2026-11-25", which: "planned" }],
        [{ op: "b" }, { op: "x" }],
      ],
    },
    {
      name: "a planned day after today offers nothing extra",
      state: st("pickDate", { sessionId: 30 }),
      facts: { days: { ...days, planned: "2026-12-05" } },
      buttons: [
        [
          { op: "d", date: TODAY, which: "today" },
          { op: "d", date: "2026-11-30", which: "yesterday" },
        ],
        [{ op: "b" }, { op: "x" }],
      ],
    },
    {
      name: "one toggle per member, All and Done (with the count), Back and Cancel",
      state: st("attendance", { sessionId: 30, present: [2] }),
      facts: { members: [1, 2] },
      buttons: [
        [{ op: "t", participantId: 1, present: false }],
        [{ op: "t", participantId: 2, present: true }],
        [{ op: "all" }, { op: "ok", count: 1 }],
        [{ op: "b" }, { op: "x" }],
      ],
    },
    {
      name: "a child's header: Skip this child",
      state: st("logging", { sessionId: 30, header: 41 }),
      facts: { skippable: 41 },
      buttons: [[{ op: "sk", responseSetId: 41 }]],
    },
    {
      name: "the reflection's header: no buttons",
      state: st("logging", { sessionId: 30, header: 43 }),
      facts: { skippable: null },
      buttons: [],
    },
    {
      name: "close, or not yet",
      state: st("confirmClose", { sessionId: 30 }),
      facts: {},
      buttons: [[{ op: "cl", amending: false }], [{ op: "later" }]],
    },
    {
      name: "the amendment menu: date, attendance, edit a done set, (re)do an open one, close",
      state: st("amendMenu", { sessionId: 30, amending: true }),
      facts: {
        sets: [
          { id: 11, participantId: 1, status: "complete" },
          { id: 12, participantId: 2, status: "skipped" },
          { id: 13, participantId: null, status: "in_progress" },
        ],
      },
      buttons: [
        [{ op: "ed" }],
        [{ op: "ea" }],
        [{ op: "es", responseSetId: 11, participantId: 1, status: "complete" }],
        [{ op: "rd", responseSetId: 12, participantId: 2, status: "skipped" }],
        [{ op: "rd", responseSetId: 13, participantId: null, status: "in_progress" }],
        [{ op: "cl", amending: true }],
      ],
    },
    {
      name: "one button per item of the set, Back",
      state: st("editSet", { amending: true, editRs: 12 }),
      facts: { items: 2 },
      buttons: [[{ op: "ei", index: 0 }], [{ op: "ei", index: 1 }], [{ op: "b" }]],
    },
    {
      name: "short numeric options six to a row; an optional item can be cleared",
      state: st("editItem", { amending: true, editRs: 12, editItem: "o1" }),
      facts: {
        item: { options: ["0", "1", "2", "3", "4", "5", "6", "7"], required: false },
      },
      buttons: [
        [0, 1, 2, 3, 4, 5].map((index): LogButton => ({ op: "v", index })),
        [6, 7].map((index): LogButton => ({ op: "v", index })),
        [{ op: "b" }, { op: "clr" }],
      ],
    },
    {
      name: "short words two to a row; a required item cannot be cleared",
      state: st("editItem", { amending: true, editRs: 12, editItem: "o1" }),
      facts: { item: { options: ["Never", "Sometimes", "Often"], required: true } },
      buttons: [
        [
          { op: "v", index: 0 },
          { op: "v", index: 1 },
        ],
        [{ op: "v", index: 2 }],
        [{ op: "b" }],
      ],
    },
    {
      name: "sentences one to a row",
      state: st("editItem", { amending: true, editRs: 12, editItem: "o1" }),
      facts: { item: { options: ["Not seen", "Throughout the session"], required: true } },
      buttons: [[{ op: "v", index: 0 }], [{ op: "v", index: 1 }], [{ op: "b" }]],
    },
    {
      name: "a typed item: only Back (and Clear when optional)",
      state: st("editItem", { amending: true, editRs: 12, editItem: "note" }),
      facts: { item: { options: [], required: false } },
      buttons: [[{ op: "b" }, { op: "clr" }]],
    },
    { name: "closed: none", state: st("closed"), facts: {}, buttons: [] },
  ];
  it.each(rows)("$name", ({ state, facts, buttons }) => {
    expect(logButtons(state, facts)).toEqual(buttons);
  });
});

// Table tests of the session log's pure machine: (state, event) → next state, and which events
// each step takes (what its buttons can do). An event the step does not take — a press left over
// from an earlier step, Cancel during an amendment, Done with nobody present — returns null and
// the stored state stays as it was. No database, no Telegram.
import { describe, expect, it } from "vitest";
import {
  initialLogState,
  parseStored,
  stepLog,
  type LogContext,
  type LogEvent,
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

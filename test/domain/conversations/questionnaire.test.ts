// Table tests of the questionnaire conversation's pure step: (state, event) → next state, effect
// and what the next message offers (answer options, Back, Skip). Rejected events — a press for
// another item, an answer that is not an option, Skip on a required item, anything while paused
// or finished — leave the state exactly as it was. No database, no Telegram.
import { describe, expect, it } from "vitest";
import {
  compileQuestionnaire,
  type EngineEvent,
  type PersistedState,
  type Questionnaire,
} from "../../../src/domain/conversations/questionnaire.js";
import { choice, makeInstrument, num, text } from "../questionnaire/fixtures.js";

// q1 (required choice 0–2) → q2 (optional choice) → q3 (shown only when q1 = 2) → q4 (number 1–10)
// → q5 (optional text).
const instrument = makeInstrument([
  choice("q1"),
  choice("q2", { required: false }),
  choice("q3", { showIf: "q1 == 2" }),
  num("q4", 1, 10),
  text("q5"),
]);
const direct = compileQuestionnaire(instrument, { handoff: false });
const child = compileQuestionnaire(instrument, { handoff: true });

function walk(q: Questionnaire, events: EngineEvent[]): PersistedState {
  let state = q.start();
  for (const e of events) {
    const r = q.step(state, e);
    expect(r.accepted, JSON.stringify(e)).toBe(true);
    state = r.state;
  }
  return state;
}

/** What the chat offers in a state: the item's option values, Back, Skip (or the kind of step). */
function offered(q: Questionnaire, state: PersistedState) {
  const v = q.view(state);
  if (v.kind !== "item") return { kind: v.kind };
  return {
    item: v.item.id,
    progress: `${v.number}/${v.total}`,
    options: v.item.options.map((o) => o.value),
    back: v.canGoBack,
    skip: !v.item.required,
    ...(v.answer !== undefined ? { answer: v.answer } : {}),
  };
}

const A = (itemId: string, value: number | string): EngineEvent => ({
  type: "ANSWER",
  itemId,
  value,
});

describe("questionnaire: accepted steps", () => {
  const rows: Array<{
    name: string;
    q: Questionnaire;
    from: EngineEvent[];
    event: EngineEvent;
    value: string;
    effect: unknown;
    completed?: boolean;
    offers: unknown;
  }> = [
    {
      name: "answer the first item",
      q: direct,
      from: [],
      event: A("q1", 1),
      value: "item_q2",
      effect: { type: "answered", itemId: "q1", value: 1, dropped: [] },
      offers: { item: "q2", progress: "2/5", options: [0, 1, 2], back: true, skip: true },
    },
    {
      name: "skip an optional item",
      q: direct,
      from: [A("q1", 1)],
      event: { type: "SKIP", itemId: "q2" },
      value: "item_q4",
      effect: { type: "skipped", itemId: "q2", dropped: [] },
      offers: { item: "q4", progress: "4/5", options: [], back: true, skip: false },
    },
    {
      name: "skip logic shows q3 when q1 = 2",
      q: direct,
      from: [A("q1", 2)],
      event: A("q2", 0),
      value: "item_q3",
      effect: { type: "answered", itemId: "q2", value: 0, dropped: [] },
      offers: { item: "q3", progress: "3/5", options: [0, 1, 2], back: true, skip: false },
    },
    {
      name: "a number is typed",
      q: direct,
      from: [A("q1", 0), A("q2", 0)],
      event: A("q4", 7),
      value: "item_q5",
      effect: { type: "answered", itemId: "q4", value: 7, dropped: [] },
      offers: { item: "q5", progress: "5/5", options: [], back: true, skip: true },
    },
    {
      name: "free text is trimmed and finishes the questionnaire",
      q: direct,
      from: [A("q1", 0), A("q2", 0), A("q4", 7)],
      event: A("q5", "  fine  "),
      value: "done",
      effect: { type: "answered", itemId: "q5", value: "fine", dropped: [] },
      completed: true,
      offers: { kind: "done" },
    },
    {
      name: "Back shows the previous item with its saved answer",
      q: direct,
      from: [A("q1", 1)],
      event: { type: "BACK" },
      value: "item_q1",
      effect: { type: "back", itemId: "q1" },
      offers: {
        item: "q1",
        progress: "1/5",
        options: [0, 1, 2],
        back: false,
        skip: false,
        answer: 1,
      },
    },
    {
      name: "a changed answer hides q3 and drops its answer",
      q: direct,
      from: [
        A("q1", 2),
        A("q2", 0),
        A("q3", 1),
        { type: "BACK" },
        { type: "BACK" },
        { type: "BACK" },
      ],
      event: A("q1", 0),
      value: "item_q2",
      effect: { type: "answered", itemId: "q1", value: 0, dropped: ["q3"] },
      offers: {
        item: "q2",
        progress: "2/5",
        options: [0, 1, 2],
        back: true,
        skip: true,
        answer: 0,
      },
    },
    {
      name: "Pause keeps the position",
      q: direct,
      from: [A("q1", 1)],
      event: { type: "PAUSE" },
      value: "paused",
      effect: { type: "paused", itemId: "q2" },
      offers: { kind: "paused" },
    },
    {
      name: "Resume returns to the paused item",
      q: direct,
      from: [A("q1", 1), { type: "PAUSE" }],
      event: { type: "RESUME" },
      value: "item_q2",
      effect: { type: "resumed", itemId: "q2" },
      offers: { item: "q2", progress: "2/5", options: [0, 1, 2], back: true, skip: true },
    },
    {
      name: "the child takes the phone",
      q: child,
      from: [],
      event: { type: "READY" },
      value: "item_q1",
      effect: { type: "ready" },
      offers: { item: "q1", progress: "1/5", options: [0, 1, 2], back: false, skip: false },
    },
  ];
  it.each(rows)("$name", (row) => {
    const before = walk(row.q, row.from);
    const r = row.q.step(before, row.event);
    expect(r.accepted).toBe(true);
    expect(r.state.value).toBe(row.value);
    expect(r.effect).toEqual(row.effect);
    expect(r.completed).toBe(row.completed ?? false);
    expect(offered(row.q, r.state)).toEqual(row.offers);
  });
});

describe("questionnaire: rejected events leave the state unchanged", () => {
  const rows: Array<{
    name: string;
    q: Questionnaire;
    from: EngineEvent[];
    event: EngineEvent;
    reason: string;
  }> = [
    {
      name: "an answer for another item (a stale press)",
      q: direct,
      from: [],
      event: A("q2", 1),
      reason: "stale",
    },
    {
      name: "a value that is not an option",
      q: direct,
      from: [],
      event: A("q1", 7),
      reason: "invalid",
    },
    {
      name: "text where a choice is expected",
      q: direct,
      from: [],
      event: A("q1", "two"),
      reason: "invalid",
    },
    {
      name: "a number out of range",
      q: direct,
      from: [A("q1", 0), A("q2", 0)],
      event: A("q4", 11),
      reason: "invalid",
    },
    {
      name: "blank text",
      q: direct,
      from: [A("q1", 0), A("q2", 0), A("q4", 1)],
      event: A("q5", "   "),
      reason: "invalid",
    },
    {
      name: "Skip on a required item",
      q: direct,
      from: [],
      event: { type: "SKIP", itemId: "q1" },
      reason: "not-optional",
    },
    {
      name: "Back on the first item",
      q: direct,
      from: [],
      event: { type: "BACK" },
      reason: "no-back",
    },
    {
      name: "Resume while asking",
      q: direct,
      from: [],
      event: { type: "RESUME" },
      reason: "stale",
    },
    {
      name: "an answer while paused",
      q: direct,
      from: [A("q1", 1), { type: "PAUSE" }],
      event: A("q2", 1),
      reason: "paused",
    },
    {
      name: "an answer before the child has the phone",
      q: child,
      from: [],
      event: A("q1", 1),
      reason: "stale",
    },
    {
      name: "Back at the hand-off",
      q: child,
      from: [],
      event: { type: "BACK" },
      reason: "no-back",
    },
    {
      name: "anything once finished",
      q: direct,
      from: [A("q1", 0), A("q2", 0), A("q4", 1), { type: "SKIP", itemId: "q5" }],
      event: { type: "BACK" },
      reason: "finished",
    },
  ];
  it.each(rows)("$name → $reason", (row) => {
    const before = walk(row.q, row.from);
    const copy = structuredClone(before);
    const r = row.q.step(before, row.event);
    expect(r.accepted).toBe(false);
    expect(r.reason).toBe(row.reason);
    expect(r.effect).toBeUndefined();
    expect(r.state).toEqual(copy);
    expect(before).toEqual(copy);
  });
});

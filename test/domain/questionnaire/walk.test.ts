import { describe, expect, it } from "vitest";
import {
  compileQuestionnaire,
  TEXT_MAX_LENGTH,
  type PersistedState,
  type Questionnaire,
} from "../../../src/domain/questionnaire/index.js";
import { choice, makeInstrument, num, text } from "./fixtures.js";

function basic(): Questionnaire {
  return compileQuestionnaire(
    makeInstrument([
      choice("mood"),
      num("hours", 0, 24),
      choice("sleep", { required: false }),
      text("note"),
    ]),
  );
}

function expectRejected(
  q: Questionnaire,
  state: PersistedState,
  event: Parameters<Questionnaire["step"]>[1],
  reason: string,
) {
  const before = JSON.stringify(state);
  const r = q.step(state, event);
  expect(r.accepted).toBe(false);
  expect(r.reason).toBe(reason);
  expect(r.effect).toBeUndefined();
  expect(r.completed).toBe(false);
  expect(r.state).toBe(state);
  expect(JSON.stringify(state)).toBe(before);
}

describe("walking through a questionnaire", () => {
  it("asks every item in order and finishes with all answers", () => {
    const q = basic();
    let s = q.start();
    expect(q.view(s)).toMatchObject({
      kind: "item",
      index: 0,
      number: 1,
      total: 4,
      canGoBack: false,
    });
    expect(q.view(s)).not.toHaveProperty("answer");

    let r = q.step(s, { type: "ANSWER", itemId: "mood", value: 2 });
    expect(r).toMatchObject({
      accepted: true,
      completed: false,
      effect: { type: "answered", itemId: "mood", value: 2, dropped: [] },
    });
    s = r.state;
    expect(q.view(s)).toMatchObject({
      kind: "item",
      index: 1,
      number: 2,
      item: { id: "hours" },
      canGoBack: true,
    });

    s = q.step(s, { type: "ANSWER", itemId: "hours", value: 7.5 }).state;
    r = q.step(s, { type: "SKIP", itemId: "sleep" });
    expect(r.effect).toEqual({ type: "skipped", itemId: "sleep", dropped: [] });
    s = r.state;
    r = q.step(s, { type: "ANSWER", itemId: "note", value: "  fine today \n" });
    expect(r.effect).toEqual({
      type: "answered",
      itemId: "note",
      value: "fine today",
      dropped: [],
    });
    expect(r.completed).toBe(true);
    s = r.state;

    expect(q.view(s)).toEqual({ kind: "done" });
    expect(q.answers(s)).toEqual({ mood: 2, hours: 7.5, sleep: null, note: "fine today" });
    expectRejected(q, s, { type: "ANSWER", itemId: "note", value: "again" }, "finished");
    expectRejected(q, s, { type: "BACK" }, "finished");
  });

  it("rejects stale, invalid and non-optional events without changing anything", () => {
    const q = basic();
    const s = q.start();
    expectRejected(q, s, { type: "ANSWER", itemId: "hours", value: 3 }, "stale");
    expectRejected(q, s, { type: "ANSWER", itemId: "mood", value: 3 }, "invalid");
    expectRejected(q, s, { type: "ANSWER", itemId: "mood", value: 1.5 }, "invalid");
    expectRejected(q, s, { type: "ANSWER", itemId: "mood", value: "1" }, "invalid");
    expectRejected(q, s, { type: "SKIP", itemId: "mood" }, "not-optional");
    expectRejected(q, s, { type: "SKIP", itemId: "sleep" }, "stale");
    expectRejected(q, s, { type: "BACK" }, "no-back");
    expectRejected(q, s, { type: "RESUME" }, "stale");
    expectRejected(q, s, { type: "READY" }, "stale");

    const atHours = q.step(s, { type: "ANSWER", itemId: "mood", value: 0 }).state;
    for (const bad of [-1, 24.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectRejected(q, atHours, { type: "ANSWER", itemId: "hours", value: bad }, "invalid");
    }
    // A repeated delivery of the previous answer is stale, not a second answer.
    expectRejected(q, atHours, { type: "ANSWER", itemId: "mood", value: 0 }, "stale");
    expect(q.step(atHours, { type: "ANSWER", itemId: "hours", value: 24 }).accepted).toBe(true);
    expect(q.step(atHours, { type: "ANSWER", itemId: "hours", value: 0 }).accepted).toBe(true);
  });

  it("accepts texts up to the length limit and refuses blank or longer ones", () => {
    const q = compileQuestionnaire(makeInstrument([text("note", { required: true })]));
    const s = q.start();
    expectRejected(q, s, { type: "ANSWER", itemId: "note", value: "   " }, "invalid");
    expectRejected(
      q,
      s,
      { type: "ANSWER", itemId: "note", value: "x".repeat(TEXT_MAX_LENGTH + 1) },
      "invalid",
    );
    expectRejected(q, s, { type: "ANSWER", itemId: "note", value: 5 }, "invalid");
    const r = q.step(s, {
      type: "ANSWER",
      itemId: "note",
      value: ` ${"x".repeat(TEXT_MAX_LENGTH)} `,
    });
    expect(r.accepted).toBe(true);
    expect(q.answers(r.state).note).toHaveLength(TEXT_MAX_LENGTH);
  });

  it("goes back to the previous item showing its answer, and a changed answer replaces it", () => {
    const q = basic();
    let s = q.start();
    s = q.step(s, { type: "ANSWER", itemId: "mood", value: 1 }).state;
    s = q.step(s, { type: "ANSWER", itemId: "hours", value: 8 }).state;
    s = q.step(s, { type: "SKIP", itemId: "sleep" }).state;

    let r = q.step(s, { type: "BACK" });
    expect(r.effect).toEqual({ type: "back", itemId: "sleep" });
    expect(q.view(r.state)).toMatchObject({ kind: "item", item: { id: "sleep" }, answer: null });
    r = q.step(r.state, { type: "BACK" });
    expect(q.view(r.state)).toMatchObject({ kind: "item", item: { id: "hours" }, answer: 8 });
    r = q.step(r.state, { type: "BACK" });
    expect(q.view(r.state)).toMatchObject({ kind: "item", item: { id: "mood" }, answer: 1 });
    expectRejected(q, r.state, { type: "BACK" }, "no-back");

    s = q.step(r.state, { type: "ANSWER", itemId: "mood", value: 2 }).state;
    // The next item still shows its earlier answer, which can be kept by sending it again.
    expect(q.view(s)).toMatchObject({ kind: "item", item: { id: "hours" }, answer: 8 });
    s = q.step(s, { type: "ANSWER", itemId: "hours", value: 8 }).state;
    s = q.step(s, { type: "ANSWER", itemId: "sleep", value: 0 }).state;
    s = q.step(s, { type: "ANSWER", itemId: "note", value: "ok" }).state;
    expect(q.answers(s)).toEqual({ mood: 2, hours: 8, sleep: 0, note: "ok" });
  });

  it("pauses and resumes at the exact same item", () => {
    const q = basic();
    let s = q.step(q.start(), { type: "ANSWER", itemId: "mood", value: 1 }).state;
    s = q.step(s, { type: "ANSWER", itemId: "hours", value: 3 }).state;
    s = q.step(s, { type: "BACK" }).state;
    const r = q.step(s, { type: "PAUSE" });
    expect(r.effect).toEqual({ type: "paused", itemId: "hours" });
    expect(q.view(r.state)).toEqual({ kind: "paused", itemId: "hours", number: 2, total: 4 });
    for (const ev of [
      { type: "ANSWER", itemId: "hours", value: 3 },
      { type: "SKIP", itemId: "hours" },
      { type: "BACK" },
      { type: "PAUSE" },
      { type: "READY" },
    ] as const) {
      expectRejected(q, r.state, ev, "paused");
    }
    const resumed = q.step(r.state, { type: "RESUME" });
    expect(resumed.effect).toEqual({ type: "resumed", itemId: "hours" });
    expect(resumed.state).toEqual(s);
    expect(q.view(resumed.state)).toMatchObject({ kind: "item", item: { id: "hours" }, answer: 3 });
  });

  it("starts child-report instruments with a handoff step that only READY leaves", () => {
    const inst = makeInstrument([choice("a"), choice("b")], { respondent: "child" });
    const q = compileQuestionnaire(inst);
    expect(q.handoff).toBe(true);
    const s = q.start();
    expect(q.view(s)).toEqual({ kind: "handoff" });
    expectRejected(q, s, { type: "ANSWER", itemId: "a", value: 1 }, "stale");
    expectRejected(q, s, { type: "PAUSE" }, "stale");
    expectRejected(q, s, { type: "BACK" }, "no-back");
    const r = q.step(s, { type: "READY" });
    expect(r).toMatchObject({ accepted: true, completed: false, effect: { type: "ready" } });
    expect(q.view(r.state)).toMatchObject({ kind: "item", item: { id: "a" }, number: 1 });
    // BACK from the first item does not return to the handoff.
    expectRejected(q, r.state, { type: "BACK" }, "no-back");

    const direct = compileQuestionnaire(inst, { handoff: false });
    expect(direct.machineVersion).not.toBe(q.machineVersion);
    expect(q.view(direct.start())).toMatchObject({ kind: "item", item: { id: "a" } });
    expectRejected(direct, direct.start(), { type: "READY" }, "stale");
    const parentWithHandoff = compileQuestionnaire(makeInstrument([choice("a")]), {
      handoff: true,
    });
    expect(parentWithHandoff.view(parentWithHandoff.start())).toEqual({ kind: "handoff" });
  });

  it("compiles once per machine version", () => {
    const inst = makeInstrument([choice("a")]);
    const q = compileQuestionnaire(inst);
    expect(compileQuestionnaire({ ...inst })).toBe(q);
    expect(compileQuestionnaire(inst, { handoff: true })).not.toBe(q);
    expect(compileQuestionnaire({ ...inst, hash: "f".repeat(64) })).not.toBe(q);
    expect(q.machineVersion).toContain(inst.hash.slice(0, 16));
    expect(q.machineId).toContain(inst.id);
    expect(q.machine.id).toBe(q.machineId);
  });
});

import { describe, expect, it } from "vitest";
import {
  compileQuestionnaire,
  type PersistedState,
  type Questionnaire,
} from "../../../src/domain/questionnaire/index.js";
import { choice, makeInstrument, num } from "./fixtures.js";

// pain → (if pain >= 1) where → (if where == 2) detail; then sleep; extra only after an answered (not skipped) where.
function painInstrument(): Questionnaire {
  return compileQuestionnaire(
    makeInstrument([
      choice("pain"),
      choice("where", { showIf: "pain >= 1", required: false }),
      num("detail", 1, 10, { showIf: "where == 2" }),
      choice("sleep"),
      choice("extra", { showIf: "answered(where) and not (sleep == 0)" }),
    ]),
  );
}

function answerAll(
  q: Questionnaire,
  s: PersistedState,
  pairs: Array<[string, number | null]>,
): PersistedState {
  for (const [itemId, value] of pairs) {
    const r =
      value === null
        ? q.step(s, { type: "SKIP", itemId })
        : q.step(s, { type: "ANSWER", itemId, value });
    expect(r.accepted, `${itemId}=${value}: ${r.reason}`).toBe(true);
    s = r.state;
  }
  return s;
}

const currentId = (q: Questionnaire, s: PersistedState) => {
  const v = q.view(s);
  return v.kind === "item" ? v.item.id : v.kind;
};

describe("skip logic", () => {
  it("passes over hidden items without storing anything for them", () => {
    const q = painInstrument();
    const s = answerAll(q, q.start(), [["pain", 0]]);
    expect(currentId(q, s)).toBe("sleep");
    expect(q.view(s)).toMatchObject({ index: 3, number: 4, total: 5 });
    const done = answerAll(q, s, [["sleep", 2]]);
    expect(q.view(done)).toEqual({ kind: "done" });
    expect(q.answers(done)).toEqual({ pain: 0, sleep: 2 });
  });

  it("asks conditional items when their condition holds", () => {
    const q = painInstrument();
    const s = answerAll(q, q.start(), [
      ["pain", 2],
      ["where", 2],
      ["detail", 9],
      ["sleep", 1],
      ["extra", 0],
    ]);
    expect(q.answers(s)).toEqual({ pain: 2, where: 2, detail: 9, sleep: 1, extra: 0 });
  });

  it("a skipped item counts as unanswered for conditions", () => {
    const q = painInstrument();
    const s = answerAll(q, q.start(), [
      ["pain", 1],
      ["where", null],
      ["sleep", 1],
    ]);
    expect(q.view(s)).toEqual({ kind: "done" });
    expect(q.answers(s)).toEqual({ pain: 1, where: null, sleep: 1 });
  });

  it("BACK goes to the previously shown item, not to hidden ones", () => {
    const q = painInstrument();
    const s = answerAll(q, q.start(), [["pain", 0]]);
    const back = q.step(s, { type: "BACK" });
    expect(back.effect).toEqual({ type: "back", itemId: "pain" });
  });

  it("drops later answers that a changed earlier answer hides, and reports them", () => {
    const q = painInstrument();
    let s = answerAll(q, q.start(), [
      ["pain", 2],
      ["where", 2],
      ["detail", 4],
      ["sleep", 1],
    ]);
    expect(currentId(q, s)).toBe("extra");
    for (let i = 0; i < 4; i++) s = q.step(s, { type: "BACK" }).state;
    expect(currentId(q, s)).toBe("pain");

    const r = q.step(s, { type: "ANSWER", itemId: "pain", value: 0 });
    expect(r.effect).toEqual({
      type: "answered",
      itemId: "pain",
      value: 0,
      dropped: ["where", "detail"],
    });
    expect(q.answers(r.state)).toEqual({ pain: 0, sleep: 1 });
    // The next shown item is the first visible one; its kept answer is offered again.
    expect(q.view(r.state)).toMatchObject({ kind: "item", item: { id: "sleep" }, answer: 1 });
    const back = q.step(r.state, { type: "BACK" });
    expect(currentId(q, back.state)).toBe("pain");
  });

  it("a skip after BACK can also drop dependent answers", () => {
    const q = painInstrument();
    let s = answerAll(q, q.start(), [
      ["pain", 1],
      ["where", 2],
      ["detail", 3],
      ["sleep", 1],
      ["extra", 1],
    ]);
    expect(q.view(s)).toEqual({ kind: "done" });
    s = answerAll(q, q.start(), [
      ["pain", 1],
      ["where", 2],
      ["detail", 3],
      ["sleep", 1],
    ]);
    s = q.step(s, { type: "BACK" }).state; // sleep
    s = q.step(s, { type: "BACK" }).state; // detail
    s = q.step(s, { type: "BACK" }).state; // where
    const r = q.step(s, { type: "SKIP", itemId: "where" });
    expect(r.effect).toEqual({ type: "skipped", itemId: "where", dropped: ["detail"] });
    expect(currentId(q, r.state)).toBe("sleep");
    // "extra" needs answered(where); a skip leaves it unanswered, so sleep is the last item now.
    const done = q.step(r.state, { type: "ANSWER", itemId: "sleep", value: 1 });
    expect(done.completed).toBe(true);
    expect(q.answers(done.state)).toEqual({ pain: 1, where: null, sleep: 1 });
  });

  it("cascades: dropping one answer hides items that depended on it", () => {
    const q = compileQuestionnaire(
      makeInstrument([
        choice("a"),
        choice("b", { showIf: "a == 1" }),
        choice("c", { showIf: "b == 1" }),
        choice("d"),
      ]),
    );
    let s = answerAll(q, q.start(), [
      ["a", 1],
      ["b", 1],
      ["c", 2],
      ["d", 0],
    ]);
    expect(q.answers(s)).toEqual({ a: 1, b: 1, c: 2, d: 0 });
    s = answerAll(q, q.start(), [
      ["a", 1],
      ["b", 1],
      ["c", 2],
    ]);
    for (let i = 0; i < 3; i++) s = q.step(s, { type: "BACK" }).state;
    const r = q.step(s, { type: "ANSWER", itemId: "a", value: 0 });
    expect(r.effect).toMatchObject({ dropped: ["b", "c"] });
    expect(currentId(q, r.state)).toBe("d");
  });

  it("finishes at once when every item is hidden", () => {
    const q = compileQuestionnaire(
      makeInstrument([choice("x", { showIf: "answered(y)" }), choice("y", { showIf: "x == 1" })]),
    );
    expect(q.view(q.start())).toEqual({ kind: "done" });
    const child = compileQuestionnaire(makeInstrument([choice("x", { showIf: "answered(y)" })]), {
      handoff: true,
    });
    const r = child.step(child.start(), { type: "READY" });
    expect(r).toMatchObject({ accepted: true, completed: true, effect: { type: "ready" } });
    expect(child.view(r.state)).toEqual({ kind: "done" });
  });
});

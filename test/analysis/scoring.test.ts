import { describe, expect, it } from "vitest";
import { scoreResponseSet, scoredItemValues, scoredItems } from "../../src/analysis/scoring.js";
import { cronbachAlpha } from "../../src/analysis/stats/index.js";
import type { Instrument, Item } from "../../src/study/model.js";

function item(id: string, subscale: string | null, opts: Partial<Item> = {}): Item {
  return {
    id,
    type: "choice",
    min: 0,
    max: 4,
    reverse: false,
    subscale,
    required: false,
    text: { en: `Item ${id}` },
    options: [],
    showIf: null,
    showIfSource: null,
    ...opts,
  };
}

function instrument(items: Item[], opts: Partial<Instrument> = {}): Instrument {
  const ids = [...new Set(items.flatMap((it) => (it.subscale ? [it.subscale] : [])))];
  return {
    id: "test",
    version: 1,
    hash: "0".repeat(64),
    title: { en: "Test" },
    intro: null,
    respondent: "parent",
    transform: "none",
    minAnsweredFraction: 0.5,
    subscales: ids.map((id) => ({
      id,
      label: { en: id },
      items: items.filter((it) => it.subscale === id).map((it) => it.id),
    })),
    items,
    file: "test.yaml",
    ...opts,
  };
}

// Two subscales; b2 is reverse-keyed; "note" is an unscored text item, "age" an unscored number.
const items = [
  item("a1", "A"),
  item("a2", "A"),
  item("a3", "A"),
  item("b1", "B"),
  item("b2", "B", { reverse: true }),
  item("note", null, { type: "text", min: null, max: null }),
  item("age", null, { type: "number", min: 2, max: 18 }),
];

describe("scoreResponseSet", () => {
  it("means per subscale, reverse-keying with min + max − v, total over all scored items", () => {
    const s = scoreResponseSet(instrument(items), { a1: 1, a2: 2, a3: 4, b1: 3, b2: 1, age: 9 });
    expect(s.subscales).toEqual({ A: 7 / 3, B: (3 + 3) / 2 });
    expect(s.total).toBeCloseTo((1 + 2 + 4 + 3 + 3) / 5, 14);
  });

  it("0-100 transform applies after reversal (PedsQL: 0 → 100, 4 → 0 when reversed)", () => {
    const reversed = items.map((it) => (it.subscale ? { ...it, reverse: true } : it));
    const s = scoreResponseSet(instrument(reversed, { transform: "0-100" }), {
      a1: 0,
      a2: 1,
      a3: 4,
      b1: 2,
      b2: 3,
    });
    expect(s.subscales.A).toBeCloseTo((100 + 75 + 0) / 3, 12);
    expect(s.subscales.B).toBeCloseTo((50 + 25) / 2, 12);
    expect(s.total).toBeCloseTo((100 + 75 + 0 + 50 + 25) / 5, 12);
  });

  it("0-100 uses each item's own range", () => {
    const mixed = [item("x", "S", { min: 1, max: 5 }), item("y", "S", { min: 0, max: 10 })];
    const s = scoreResponseSet(instrument(mixed, { transform: "0-100" }), { x: 2, y: 10 });
    expect(s.subscales.S).toBeCloseTo((25 + 100) / 2, 12);
  });

  it("null when fewer than minAnsweredFraction of a subscale's items are answered", () => {
    const ins = instrument(items); // fraction 0.5: A needs 2 of 3, B needs 1 of 2, total 3 of 5
    expect(scoreResponseSet(ins, { a1: 4, b2: 0 })).toEqual({
      subscales: { A: null, B: 4 },
      total: null,
    });
    expect(scoreResponseSet(ins, { a1: 4, a3: 2, b2: 0 })).toEqual({
      subscales: { A: 3, B: 4 },
      total: (4 + 2 + 4) / 3,
    });
  });

  it("the fraction rule is exact at the boundary (0.7 × 10 items needs 7, despite 7.000000000000001)", () => {
    const ten = Array.from({ length: 10 }, (_, i) => item(`q${i}`, "S"));
    const ins = instrument(ten, { minAnsweredFraction: 0.7 });
    const answers = (k: number) => Object.fromEntries(ten.slice(0, k).map((it) => [it.id, 2]));
    expect(scoreResponseSet(ins, answers(7)).subscales.S).toBe(2);
    expect(scoreResponseSet(ins, answers(6)).subscales.S).toBeNull();
  });

  it("fraction 0 still needs one answer; nothing answered gives nulls", () => {
    const ins = instrument(items, { minAnsweredFraction: 0 });
    expect(scoreResponseSet(ins, {})).toEqual({ subscales: { A: null, B: null }, total: null });
    expect(scoreResponseSet(ins, { b1: 1 })).toEqual({ subscales: { A: null, B: 1 }, total: 1 });
  });

  it("fraction 1 needs every item", () => {
    const ins = instrument(items, { minAnsweredFraction: 1 });
    const all = { a1: 1, a2: 1, a3: 1, b1: 1, b2: 1 };
    expect(scoreResponseSet(ins, all).total).toBe(1.4); // b2 = 1 reversed is 3
    expect(scoreResponseSet(ins, { ...all, a2: null }).subscales).toEqual({ A: null, B: 2 });
  });

  it("out-of-range, non-finite and unscored answers do not enter scores", () => {
    const s = scoreResponseSet(instrument(items), {
      a1: 9,
      a2: Number.NaN,
      a3: 3,
      b1: -1,
      b2: 4,
      age: 18,
    });
    expect(s.subscales).toEqual({ A: null, B: 0 });
    expect(s.total).toBeNull(); // 2 of 5 answered
  });

  it("an instrument without subscales scores nothing", () => {
    const s = scoreResponseSet(instrument([item("n", null)]), { n: 3 });
    expect(s).toEqual({ subscales: {}, total: null });
  });
});

describe("scoredItemValues", () => {
  it("gives reverse-keyed RAW values (never 0-100) for scored items only", () => {
    const ins = instrument(items, { transform: "0-100" });
    expect(scoredItemValues(ins, { a1: 0, a2: null, b2: 1, age: 7, note: 2 })).toEqual({
      a1: 0,
      a2: null,
      a3: null,
      b1: null,
      b2: 3,
    });
    expect(scoredItems(ins).map((it) => it.id)).toEqual(["a1", "a2", "a3", "b1", "b2"]);
  });

  it("feeds Cronbach's α with reverse-keyed items pointing the same way", () => {
    const ins = instrument([item("p", "S"), item("q", "S"), item("r", "S", { reverse: true })]);
    const sets = [
      { p: 4, q: 3, r: 0 },
      { p: 1, q: 1, r: 4 },
      { p: 3, q: 3, r: 1 },
      { p: 0, q: 1, r: 3 },
    ];
    const rows = sets.map((a) => {
      const v = scoredItemValues(ins, a);
      return [v.p!, v.q!, v.r!];
    });
    const raw = sets.map((a) => [a.p, a.q, a.r]);
    expect(cronbachAlpha(rows).alpha!).toBeGreaterThan(0.9);
    expect(cronbachAlpha(raw).alpha!).toBeLessThan(0);
  });
});

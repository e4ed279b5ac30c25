import { describe, expect, it } from "vitest";
import { ExprError, evalExpr, parseExpr, referencedItems } from "../../src/study/expr.js";

const holds = (src: string, answers: Record<string, number | string | null | undefined>) =>
  evalExpr(parseExpr(src), answers);

describe("parseExpr", () => {
  it("parses a comparison", () => {
    expect(parseExpr("q1 >= 3")).toEqual({ kind: "cmp", item: "q1", op: ">=", value: 3 });
  });

  it("parses negative and decimal numbers, and ids with - and _", () => {
    expect(parseExpr("pain_now-2 < -1.5")).toEqual({
      kind: "cmp",
      item: "pain_now-2",
      op: "<",
      value: -1.5,
    });
  });

  it("binds and tighter than or, and not tighter than and", () => {
    expect(parseExpr("a == 1 or b == 2 and not c == 3")).toEqual({
      kind: "or",
      left: { kind: "cmp", item: "a", op: "==", value: 1 },
      right: {
        kind: "and",
        left: { kind: "cmp", item: "b", op: "==", value: 2 },
        right: { kind: "not", expr: { kind: "cmp", item: "c", op: "==", value: 3 } },
      },
    });
  });

  it("lets parentheses override precedence", () => {
    const e = parseExpr("(a == 1 or b == 2) and answered(c)");
    expect(e.kind).toBe("and");
    expect(referencedItems(e)).toEqual(["a", "b", "c"]);
  });

  it("parses answered(id) and still allows an item called answered", () => {
    expect(parseExpr("answered(x)")).toEqual({ kind: "answered", item: "x" });
    expect(parseExpr("answered == 1")).toEqual({
      kind: "cmp",
      item: "answered",
      op: "==",
      value: 1,
    });
  });

  it.each([
    ["", "empty expression"],
    ["   ", "empty expression"],
    ["q1 >", "unexpected end of expression"],
    ["q1 3", 'expected a comparison after "q1"'],
    ["q1 == x", 'expected a number after "=="'],
    ["(q1 == 1", 'expected ")"'],
    ["q1 == 1)", 'unexpected ")"'],
    ["q1 == 1 q2 == 2", 'unexpected "q2"'],
    ["q1 = 1", 'unexpected character "=" at 4'],
    ["q1 == 1 && q2 == 2", 'unexpected character "&" at 9'],
    ["answered(3)", "answered() takes an item id"],
    ["== 1", 'expected an item id, got "=="'],
  ])("rejects %j: %s", (src, message) => {
    expect(() => parseExpr(src)).toThrow(ExprError);
    expect(() => parseExpr(src)).toThrow(message);
  });
});

describe("evalExpr", () => {
  it.each([
    ["q == 2", true],
    ["q != 2", false],
    ["q < 3", true],
    ["q <= 2", true],
    ["q > 2", false],
    ["q >= 2", true],
    ["q > 1.5", true],
  ])("%s with q = 2 is %s", (src, expected) => {
    expect(holds(src, { q: 2 })).toBe(expected);
  });

  it("makes every comparison on an unanswered item false, even !=", () => {
    for (const op of ["==", "!=", "<", "<=", ">", ">="]) {
      expect(holds(`q ${op} 1`, {})).toBe(false);
      expect(holds(`q ${op} 1`, { q: null })).toBe(false);
    }
  });

  it("treats a text answer as answered but never numerically comparable", () => {
    expect(holds("answered(t)", { t: "some words" })).toBe(true);
    expect(holds("t == 0", { t: "0" })).toBe(false);
  });

  it("answered() is false for missing and null, true for 0", () => {
    expect(holds("answered(q)", {})).toBe(false);
    expect(holds("answered(q)", { q: null })).toBe(false);
    expect(holds("answered(q)", { q: 0 })).toBe(true);
  });

  it("combines with and / or / not", () => {
    const src = "not (a >= 3 and b >= 3) or answered(c)";
    expect(holds(src, { a: 3, b: 3 })).toBe(false);
    expect(holds(src, { a: 3, b: 2 })).toBe(true);
    expect(holds(src, { a: 3, b: 3, c: 1 })).toBe(true);
  });
});

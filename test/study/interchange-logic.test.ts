// Skip logic between Circle and XLSForm / REDCap: what translates, what is refused and why, and
// that every Circle expression written out means the same thing there as in Circle.
import { describe, expect, it } from "vitest";
import { evalExpr, parseExpr, type Expr } from "../../src/study/expr.js";
import {
  parseLogic,
  printCircle,
  simplify,
  toCircle,
  toRedcap,
  toXpath,
  type Node,
  type Resolved,
} from "../../src/study/interchange/logic.js";

const KINDS: Record<string, "choice" | "number" | "text"> = {
  a: "choice",
  b: "choice",
  n: "number",
  t: "text",
};
const resolve = (name: string): Resolved =>
  name === "gone"
    ? { status: "unusable", why: "is not carried over" }
    : KINDS[name]
      ? { status: "ok", id: name, kind: KINDS[name] }
      : { status: "unknown" };

const xp = (src: string) => toCircle(parseLogic(src, "xpath"), resolve, "xpath");
const rc = (src: string) => toCircle(parseLogic(src, "redcap"), resolve, "redcap");
const circle = (src: string) => ({ ok: true, expr: parseExpr(src) });

describe("reading XLSForm relevant", () => {
  it.each([
    ["${a} = '1'", "a == 1"],
    ["${a} = 1", "a == 1"],
    ["'2' = ${a}", "a == 2"],
    ["${n} >= 2.5", "n >= 2.5"],
    ["3 < ${n}", "n > 3"],
    ["${n} > -1", "n > -1"],
    ["${a} != '1'", "not (a == 1)"],
    ["${a} != ''", "answered(a)"],
    ["${t} = ''", "not answered(t)"],
    ["selected(${a}, '2')", "a == 2"],
    ["not(${a} = '1')", "not (a == 1)"],
    ["${a} = '1' and ${n} <= 4 or ${b} = '2'", "a == 1 and n <= 4 or b == 2"],
    ["${a} = '1' and (${n} <= 4 or ${b} = '2')", "a == 1 and (n <= 4 or b == 2)"],
    // The guards Circle writes fold back into Circle's own atoms.
    ["${a} != '' and ${a} != '1'", "a != 1"],
    ["(${n} != '' and ${n} < 3)", "n < 3"],
    ["not(${a} != '') or ${a} = '2'", "not (a != 2)"],
  ])("%s → %s", (src, expected) => {
    expect(xp(src)).toEqual(circle(expected));
  });

  it.each([
    ["count-selected(${a}) > 1", "the function count-selected() is not supported"],
    ["${n} + 1 > 3", 'the operator "+" is not supported'],
    ["${a} > ${b}", "comparing two questions (${a} > ${b}) is not supported"],
    ["${t} = 'yes'", "comparing ${t} with the text 'yes' is not supported"],
    ["${t} = '1'", '${t} is a free-text question; only "answered or not" can be tested'],
    ["${gone} = '1'", "refers to ${gone}, which is not carried over"],
    ["${a}", "a bare ${a} (not a comparison) is not supported"],
    ["today() > '2024-01-01'", "the function today() is not supported"],
  ])("refuses %s: %s", (src, reason) => {
    expect(xp(src)).toEqual({ ok: false, reason });
  });

  it("marks a name that is not in the form (a malformed sheet, not a loss)", () => {
    expect(xp("${nope} = '1'")).toEqual({
      ok: false,
      reason: "refers to ${nope}, which is not in the form",
      unknown: "nope",
    });
  });

  it("throws on text it cannot parse", () => {
    expect(() => parseLogic("${a} = ", "xpath")).toThrow(/unexpected end/);
    expect(() => parseLogic("${a = '1'", "xpath")).toThrow(/unclosed/);
    expect(() => parseLogic("(${a} = '1'", "xpath")).toThrow(/expected "\)"/);
  });
});

describe("reading REDCap branching logic", () => {
  it.each([
    ["[a] = '1'", "a == 1"],
    ['[a] = "1"', "a == 1"],
    ["[n] >= 18", "n >= 18"],
    ["[a] <> '1'", "not (a == 1)"],
    ["[a] != '1'", "not (a == 1)"],
    ["[a] <> ''", "answered(a)"],
    ["[a] = ''", "not answered(a)"],
    ["[a] = '1' AND ([n] < 3 OR [b] = '0')", "a == 1 and (n < 3 or b == 0)"],
    ["([a] <> '' and [a] <> '2')", "a != 2"],
    ["([n] = '' or [n] >= 3)", "not (n < 3)"],
  ])("%s → %s", (src, expected) => {
    expect(rc(src)).toEqual(circle(expected));
  });

  it.each([
    ["[a(1)] = '1'", "[a(1)] (a checkbox option) is not supported"],
    ["[event_1_arm_1][a] = '1'", "[event_1_arm_1][a] (an event reference) is not supported"],
    ["[user-name] = 'x'", "[user-name] (a smart variable) is not supported"],
    ["datediff([n], 'today', 'y') > 5", "the function datediff() is not supported"],
    ["sum([a], [b]) > 2", "the function sum() is not supported"],
  ])("refuses %s: %s", (src, reason) => {
    expect(rc(src)).toEqual({ ok: false, reason });
  });
});

// ---- writing: every Circle expression must keep its meaning --------------------------------

/** XPath 1.0 comparison rules (also REDCap's for = and <>): a blank answer is the string "". */
function evalForeign(
  n: Node,
  answers: Record<string, number | string | undefined>,
  blankOrder: "false" | "zero",
): boolean | number | string {
  const val = (x: Node): number | string => {
    if (x.t === "field") {
      const v = answers[x.name];
      return v === undefined ? "" : typeof v === "number" ? String(v) : v;
    }
    if (x.t === "str") return x.v;
    if (x.t === "num") return x.v;
    throw new Error(`unexpected ${x.t}`);
  };
  const toNum = (v: number | string) =>
    typeof v === "number" ? v : v.trim() === "" ? (blankOrder === "zero" ? 0 : NaN) : Number(v);
  switch (n.t) {
    case "bin": {
      if (n.op === "and")
        return !!evalForeign(n.l, answers, blankOrder) && !!evalForeign(n.r, answers, blankOrder);
      if (n.op === "or")
        return !!evalForeign(n.l, answers, blankOrder) || !!evalForeign(n.r, answers, blankOrder);
      const l = val(n.l);
      const r = val(n.r);
      if (n.op === "=" || n.op === "!=") {
        // Against a number, a blank is NaN in XPath (never equal), or 0 if REDCap counted it so;
        // two texts compare as text.
        const blank = blankOrder === "zero" ? 0 : NaN;
        const eq =
          typeof l === "number" || typeof r === "number"
            ? toNum(l === "" ? blank : l) === toNum(r === "" ? blank : r)
            : l === r;
        return n.op === "=" ? eq : !eq;
      }
      const a = toNum(l);
      const b = toNum(r);
      if (n.op === "<") return a < b;
      if (n.op === "<=") return a <= b;
      if (n.op === ">") return a > b;
      return a >= b;
    }
    case "call":
      if (n.fn === "not") return !evalForeign(n.args[0]!, answers, blankOrder);
      throw new Error(`unexpected call ${n.fn}`);
    default:
      return val(n);
  }
}

/** Every combination of answers that matters for the items an expression uses. */
function* worlds(): Generator<Record<string, number | string | undefined>> {
  const doms: Record<string, (number | string | undefined)[]> = {
    a: [undefined, 0, 1, 2, 3],
    b: [undefined, 0, 1, 2, 3],
    n: [undefined, -1, 0, 1.5, 2, 2.5, 3, 4],
    t: [undefined, "words"],
  };
  const keys = Object.keys(doms);
  const rec = function* (
    i: number,
    acc: Record<string, number | string | undefined>,
  ): Generator<Record<string, number | string | undefined>> {
    if (i === keys.length) {
      yield { ...acc };
      return;
    }
    for (const v of doms[keys[i]!]!) yield* rec(i + 1, { ...acc, [keys[i]!]: v });
  };
  yield* rec(0, {});
}

/** A seeded stream of random Circle expressions over a, b (choices), n (number), t (text). */
function randomExprs(count: number, seed = 7): Expr[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const atom = (): Expr => {
    const item = pick(["a", "b", "n", "t"]);
    if (item === "t" || rnd() < 0.15) return { kind: "answered", item };
    const op = pick(["==", "!=", "<", "<=", ">", ">="] as const);
    const value = item === "n" ? pick([0, 1.5, 2, 3]) : pick([0, 1, 2]);
    return { kind: "cmp", item, op, value };
  };
  const gen = (depth: number): Expr => {
    const r = rnd();
    if (depth === 0 || r < 0.3) return atom();
    if (r < 0.5) return { kind: "not", expr: gen(depth - 1) };
    return { kind: r < 0.75 ? "and" : "or", left: gen(depth - 1), right: gen(depth - 1) };
  };
  return Array.from({ length: count }, () => gen(3));
}

const kinds = (id: string) => KINDS[id]!;
const EXPRS = randomExprs(200);
const hasNotOverCompound = (e: Expr): boolean =>
  e.kind === "not"
    ? e.expr.kind === "and" ||
      e.expr.kind === "or" ||
      e.expr.kind === "not" ||
      hasNotOverCompound(e.expr)
    : e.kind === "and" || e.kind === "or"
      ? hasNotOverCompound(e.left) || hasNotOverCompound(e.right)
      : false;

describe("writing skip logic", () => {
  it("folds only guards that change nothing", () => {
    for (const e of EXPRS) {
      const f = simplify(e);
      for (const w of worlds()) expect([e, w, evalExpr(f, w)]).toEqual([e, w, evalExpr(e, w)]);
    }
    expect(
      EXPRS.filter((e) => JSON.stringify(simplify(e)) !== JSON.stringify(e)).length,
    ).toBeGreaterThan(0);
  });

  it("prints Circle's syntax so the loader reads back the same tree", () => {
    for (const e of EXPRS) expect(parseExpr(printCircle(e))).toEqual(e);
  });

  it("XLSForm: means the same under XPath rules, and reads back as the same expression", () => {
    for (const e of EXPRS) {
      const src = toXpath(e, kinds);
      const tree = parseLogic(src, "xpath");
      for (const w of worlds())
        expect([src, w, evalForeign(tree, w, "false")]).toEqual([src, w, evalExpr(e, w)]);
      // The same tree, except that a redundant guard (answered(a) and a > 0) is folded.
      expect(toCircle(tree, resolve, "xpath")).toEqual({ ok: true, expr: simplify(e) });
    }
  });

  it("REDCap: means the same whether a blank compares as nothing or as 0, and reads back", () => {
    let exact = 0;
    for (const e of EXPRS) {
      const src = toRedcap(e, kinds);
      expect(src).not.toMatch(/\bnot\b/);
      const tree = parseLogic(src, "redcap");
      const back = toCircle(tree, resolve, "redcap");
      if (!back.ok) throw new Error(`${src}: ${back.reason}`);
      for (const w of worlds()) {
        const want = evalExpr(e, w);
        expect([src, w, evalForeign(tree, w, "false")]).toEqual([src, w, want]);
        expect([src, w, evalForeign(tree, w, "zero")]).toEqual([src, w, want]);
        expect([src, w, evalExpr(back.expr, w)]).toEqual([src, w, want]);
      }
      // Without "not" over and/or (which REDCap must spell out with De Morgan), the very same tree.
      if (!hasNotOverCompound(e)) {
        expect(back.expr).toEqual(simplify(e));
        exact++;
      }
    }
    expect(exact).toBeGreaterThan(50);
  });

  it("writes the forms researchers expect to read", () => {
    const e = parseExpr("a == 1 and n >= 2 or not answered(t)");
    expect(toXpath(e, kinds)).toBe("${a} = '1' and ${n} >= 2 or not(${t} != '')");
    expect(toRedcap(e, kinds)).toBe("[a] = '1' and ([n] <> '' and [n] >= 2) or [t] = ''");
    expect(toRedcap(parseExpr("n == 0 or not (n == 2)"), kinds)).toBe(
      "([n] <> '' and [n] = 0) or ([n] = '' or [n] <> 2)",
    );
    expect(toXpath(parseExpr("a != 2"), kinds)).toBe("${a} != '' and ${a} != '2'");
    expect(toRedcap(parseExpr("not (a == 2 or n < 1)"), kinds)).toBe(
      "[a] <> '2' and ([n] = '' or [n] >= 1)",
    );
  });
});

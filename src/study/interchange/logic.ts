// Skip logic between Circle's expression language (src/study/expr.ts) and the two foreign
// syntaxes: XLSForm `relevant` (XPath: ${q} = '1', selected(), not()) and REDCap branching logic
// ([q] = '1', <>, no "not"). Both foreign syntaxes are read into one small tree, then translated
// where Circle can say the same thing; anything else is reported with the reason, never guessed.
//
// Semantics that matter for a faithful translation: in Circle a comparison with an unanswered
// item is false. In XPath and REDCap a blank answer compares as "", so `${q} != '1'` (and
// `[q] <> '1'`) is TRUE when q is blank. That is why "!=" is read as `not (q == 1)` and Circle's
// own `q != 1` is written with an explicit "answered" guard.
import type { Expr } from "../expr.js";

export type Cmp = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** The foreign expression tree (both syntaxes). */
export type Node =
  | { t: "field"; name: string }
  | { t: "str"; v: string }
  | { t: "num"; v: number }
  | { t: "dot" }
  | { t: "call"; fn: string; args: Node[] }
  | { t: "bin"; op: string; l: Node; r: Node }
  | { t: "neg"; e: Node }
  /** Something the reader recognised but Circle has no notion of (events, checkbox codes…). */
  | { t: "opaque"; what: string };

export class LogicError extends Error {}

type Tok =
  | { k: "field"; v: string }
  | { k: "str"; v: string }
  | { k: "num"; v: number }
  | { k: "word"; v: string }
  | { k: "op"; v: string }
  | { k: "dot" }
  | { k: "opaque"; v: string }
  | { k: "(" | ")" | "," };

function readString(src: string, i: number): [string, number] {
  const q = src[i]!;
  const end = src.indexOf(q, i + 1);
  if (end < 0) throw new LogicError(`unclosed quote at ${i + 1}`);
  return [src.slice(i + 1, end), end + 1];
}

const NUM = /^(\d+(?:\.\d+)?|\.\d+)/;
const WORD = /^[A-Za-z_][A-Za-z0-9_.:-]*/;

function tokenize(src: string, syntax: "xpath" | "redcap"): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    if (syntax === "xpath" && rest.startsWith("${")) {
      const end = src.indexOf("}", i);
      if (end < 0) throw new LogicError(`unclosed "\${" at ${i + 1}`);
      out.push({ k: "field", v: src.slice(i + 2, end).trim() });
      i = end + 1;
      continue;
    }
    if (syntax === "redcap" && c === "[") {
      const end = src.indexOf("]", i);
      if (end < 0) throw new LogicError(`unclosed "[" at ${i + 1}`);
      const inner = src.slice(i + 1, end).trim();
      i = end + 1;
      // [event][field] (longitudinal), [field(code)] (a checkbox option), [smart-variable]:
      // readable, but nothing Circle can evaluate.
      if (src[i] === "[") {
        const end2 = src.indexOf("]", i);
        const inner2 = end2 < 0 ? "" : src.slice(i + 1, end2).trim();
        out.push({ k: "opaque", v: `[${inner}][${inner2}] (an event reference)` });
        i = end2 < 0 ? src.length : end2 + 1;
      } else if (/\(.*\)/.test(inner))
        out.push({ k: "opaque", v: `[${inner}] (a checkbox option)` });
      else if (!/^[a-z][a-z0-9_]*$/i.test(inner))
        out.push({ k: "opaque", v: `[${inner}] (a smart variable)` });
      else out.push({ k: "field", v: inner });
      continue;
    }
    if (c === "'" || c === '"') {
      const [v, next] = readString(src, i);
      out.push({ k: "str", v });
      i = next;
      continue;
    }
    const num = NUM.exec(rest);
    if (num) {
      out.push({ k: "num", v: Number(num[1]) });
      i += num[1]!.length;
      continue;
    }
    const two = rest.slice(0, 2);
    if (["!=", "<=", ">=", "<>", "=="].includes(two)) {
      out.push({ k: "op", v: two === "<>" || two === "!=" ? "!=" : two === "==" ? "=" : two });
      i += 2;
      continue;
    }
    if ("=<>+-*/^".includes(c)) {
      out.push({ k: "op", v: c });
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      out.push({ k: c });
      i++;
      continue;
    }
    if (c === "." && syntax === "xpath") {
      out.push({ k: "dot" });
      i++;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      out.push({ k: "word", v: word[0] });
      i += word[0].length;
      continue;
    }
    throw new LogicError(`unexpected character "${c}" at ${i + 1}`);
  }
  return out;
}

/** Parses either syntax into the shared tree; throws LogicError on malformed input. */
export function parseLogic(src: string, syntax: "xpath" | "redcap"): Node {
  const toks = tokenize(src, syntax);
  let i = 0;
  const peek = () => toks[i];
  const isWord = (w: string) => {
    const t = peek();
    return t?.k === "word" && t.v.toLowerCase() === w;
  };
  const isOp = (...ops: string[]) => {
    const t = peek();
    return t?.k === "op" && ops.includes(t.v);
  };
  const expect = (k: ")" | ",") => {
    if (peek()?.k !== k) throw new LogicError(`expected "${k}"`);
    i++;
  };

  function or(): Node {
    let l = and();
    while (isWord("or")) {
      i++;
      l = { t: "bin", op: "or", l, r: and() };
    }
    return l;
  }
  function and(): Node {
    let l = cmp();
    while (isWord("and")) {
      i++;
      l = { t: "bin", op: "and", l, r: cmp() };
    }
    return l;
  }
  function cmp(): Node {
    const l = add();
    if (isOp("=", "!=", "<", "<=", ">", ">=")) {
      const op = (toks[i++] as { v: string }).v;
      return { t: "bin", op, l, r: add() };
    }
    return l;
  }
  function add(): Node {
    let l = mul();
    while (isOp("+", "-")) {
      const op = (toks[i++] as { v: string }).v;
      l = { t: "bin", op, l, r: mul() };
    }
    return l;
  }
  function mul(): Node {
    let l = unary();
    while (isOp("*", "/", "^") || isWord("div") || isWord("mod")) {
      const op = (toks[i++] as { v: string }).v;
      l = { t: "bin", op, l, r: unary() };
    }
    return l;
  }
  function unary(): Node {
    if (isOp("-")) {
      i++;
      const e = unary();
      return e.t === "num" ? { t: "num", v: -e.v } : { t: "neg", e };
    }
    return primary();
  }
  function primary(): Node {
    const tok = toks[i++];
    if (!tok) throw new LogicError("unexpected end of expression");
    switch (tok.k) {
      case "(": {
        const e = or();
        expect(")");
        return e;
      }
      case "field":
        return { t: "field", name: tok.v };
      case "str":
        return { t: "str", v: tok.v };
      case "num":
        return { t: "num", v: tok.v };
      case "dot":
        return { t: "dot" };
      case "opaque":
        return { t: "opaque", what: tok.v };
      case "word": {
        if (peek()?.k === "(") {
          i++;
          const args: Node[] = [];
          if (peek()?.k !== ")") {
            args.push(or());
            while (peek()?.k === ",") {
              i++;
              args.push(or());
            }
          }
          expect(")");
          return { t: "call", fn: tok.v.toLowerCase(), args };
        }
        return { t: "opaque", what: `"${tok.v}"` };
      }
      default:
        throw new LogicError(`unexpected "${"v" in tok ? tok.v : tok.k}"`);
    }
  }

  if (toks.length === 0) throw new LogicError("empty expression");
  const e = or();
  if (i < toks.length) {
    const t = toks[i]!;
    throw new LogicError(`unexpected "${"v" in t ? String(t.v) : t.k}"`);
  }
  return e;
}

/** What the translator needs to know about a name used in an expression. */
export type Resolved =
  | { status: "ok"; id: string; kind: "choice" | "number" | "text" }
  /** Known, but Circle cannot use it here; `why` completes "refers to ${name}, which …". */
  | { status: "unusable"; why: string }
  | { status: "unknown" };

export type Translation =
  { ok: true; expr: Expr } | { ok: false; reason: string; unknown?: string };

class Untranslatable extends Error {
  constructor(
    message: string,
    readonly unknown?: string,
  ) {
    super(message);
  }
}

const FLIP: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** Translates the foreign tree into a Circle expression, or says why it cannot. */
export function toCircle(
  node: Node,
  resolve: (name: string) => Resolved,
  syntax: "xpath" | "redcap",
): Translation {
  const ref = (name: string) => (syntax === "xpath" ? `\${${name}}` : `[${name}]`);
  const field = (name: string) => {
    const r = resolve(name);
    if (r.status === "unknown")
      throw new Untranslatable(`refers to ${ref(name)}, which is not in the form`, name);
    if (r.status === "unusable") throw new Untranslatable(`refers to ${ref(name)}, which ${r.why}`);
    return r;
  };
  const describe = (n: Node): string => {
    switch (n.t) {
      case "call":
        return `the function ${n.fn}()`;
      case "bin":
        return `the operator "${n.op}"`;
      case "neg":
        return 'the operator "-"';
      case "opaque":
        return n.what;
      case "dot":
        return '"." (the current answer)';
      case "field":
        return `a bare ${ref(n.name)} (not a comparison)`;
      default:
        return `a bare value (not a condition)`;
    }
  };
  const unsupported = (n: Node): never => {
    throw new Untranslatable(`${describe(n)} is not supported`);
  };

  function literal(n: Node): { kind: "blank" } | { kind: "num"; v: number } | null {
    if (n.t === "num") return { kind: "num", v: n.v };
    if (n.t === "str") {
      const s = n.v.trim();
      if (s === "") return { kind: "blank" };
      if (/^-?(\d+(\.\d+)?|\.\d+)$/.test(s)) return { kind: "num", v: Number(s) };
    }
    return null;
  }

  function comparison(op: string, l: Node, r: Node): Expr {
    // Normalise to field OP literal.
    if (l.t !== "field") {
      if (r.t === "field") return comparison(FLIP[op] ?? op, r, l);
      return unsupported(l.t === "num" || l.t === "str" ? r : l);
    }
    if (r.t === "field")
      throw new Untranslatable(
        `comparing two questions (${ref(l.name)} ${op} ${ref(r.name)}) is not supported`,
      );
    const lit = literal(r);
    if (lit === null) {
      if (r.t === "str")
        throw new Untranslatable(
          `comparing ${ref(l.name)} with the text '${r.v}' is not supported`,
        );
      return unsupported(r);
    }
    const f = field(l.name);
    if (lit.kind === "blank") {
      if (op === "=") return { kind: "not", expr: { kind: "answered", item: f.id } };
      if (op === "!=") return { kind: "answered", item: f.id };
      throw new Untranslatable(`comparing ${ref(l.name)} with "" using "${op}" is not supported`);
    }
    if (f.kind === "text")
      throw new Untranslatable(
        `${ref(l.name)} is a free-text question; only "answered or not" can be tested`,
      );
    if (op === "=") return { kind: "cmp", item: f.id, op: "==", value: lit.v };
    if (op === "!=")
      return { kind: "not", expr: { kind: "cmp", item: f.id, op: "==", value: lit.v } };
    return { kind: "cmp", item: f.id, op: op as Cmp, value: lit.v };
  }

  function walk(n: Node): Expr {
    if (n.t === "bin") {
      if (n.op === "and" || n.op === "or") return { kind: n.op, left: walk(n.l), right: walk(n.r) };
      if (["=", "!=", "<", "<=", ">", ">="].includes(n.op)) return comparison(n.op, n.l, n.r);
      return unsupported(n);
    }
    if (n.t === "call") {
      if (syntax === "xpath" && n.fn === "not" && n.args.length === 1)
        return { kind: "not", expr: walk(n.args[0]!) };
      if (syntax === "xpath" && n.fn === "selected" && n.args.length === 2) {
        const [a, b] = n.args as [Node, Node];
        if (a.t !== "field") return unsupported(n);
        const f = field(a.name);
        const lit = literal(b);
        if (lit?.kind !== "num") return unsupported(n);
        if (f.kind !== "choice")
          throw new Untranslatable(`selected() on ${ref(a.name)}, which is not a choice question`);
        return { kind: "cmp", item: f.id, op: "==", value: lit.v };
      }
      return unsupported(n);
    }
    return unsupported(n);
  }

  try {
    return { ok: true, expr: simplify(walk(node)) };
  } catch (e) {
    if (e instanceof Untranslatable) return { ok: false, reason: e.message, unknown: e.unknown };
    throw e;
  }
}

const NEGATE: Record<Cmp, Cmp> = {
  "==": "!=",
  "!=": "==",
  "<": ">=",
  "<=": ">",
  ">": "<=",
  ">=": "<",
};

/**
 * Folds the guards that `toXpath`/`toRedcap` write back into Circle's own atoms, so a round trip
 * gives the same expression. Each rule holds for every answer (a Circle comparison is already
 * false when its item is unanswered):
 *   answered(q) and q OP v         → q OP v
 *   answered(q) and not q == v     → q != v
 *   not answered(q) or q OP v      → not (q NEG(OP) v)
 *   not answered(q) or not q == v  → not (q == v)
 */
export function simplify(e: Expr): Expr {
  switch (e.kind) {
    case "not":
      return { kind: "not", expr: simplify(e.expr) };
    case "and":
    case "or": {
      const left = simplify(e.left);
      const right = simplify(e.right);
      if (e.kind === "and" && left.kind === "answered") {
        if (right.kind === "cmp" && right.item === left.item && right.op !== "!=") return right;
        if (
          right.kind === "not" &&
          right.expr.kind === "cmp" &&
          right.expr.op === "==" &&
          right.expr.item === left.item
        )
          return { ...right.expr, op: "!=" };
      }
      if (e.kind === "or" && left.kind === "not" && left.expr.kind === "answered") {
        const item = left.expr.item;
        if (right.kind === "cmp" && right.item === item)
          return { kind: "not", expr: { ...right, op: NEGATE[right.op] } };
        if (
          right.kind === "not" &&
          right.expr.kind === "cmp" &&
          right.expr.op === "==" &&
          right.expr.item === item
        )
          return right;
      }
      return { kind: e.kind, left, right };
    }
    default:
      return e;
  }
}

// ---- writing ----------------------------------------------------------------------------------

const PREC: Record<string, number> = { or: 1, and: 2 };

function num(v: number): string {
  const s = String(v);
  if (/e/i.test(s)) throw new LogicError(`cannot write the number ${s}`);
  return s;
}

/** Circle's own syntax, as the loader reads it (for `showIf:` in the YAML). */
export function printCircle(e: Expr): string {
  const go = (x: Expr, parent: number, right: boolean): string => {
    switch (x.kind) {
      case "cmp":
        return `${x.item} ${x.op} ${num(x.value)}`;
      case "answered":
        return `answered(${x.item})`;
      case "not":
        return x.expr.kind === "answered"
          ? `not ${go(x.expr, 3, false)}`
          : `not (${go(x.expr, 0, false)})`;
      default: {
        const p = PREC[x.kind]!;
        const s = `${go(x.left, p, false)} ${x.kind} ${go(x.right, p, true)}`;
        // A right child of equal precedence needs parentheses to keep the tree's shape.
        return p < parent || (p === parent && right) ? `(${s})` : s;
      }
    }
  };
  return go(e, 0, false);
}

export type Kinds = (id: string) => "choice" | "number" | "text";

/** XLSForm `relevant`: names are the XLSForm names of the items (`name(id)`). */
export function toXpath(e: Expr, kinds: Kinds, name: (id: string) => string = (i) => i): string {
  const ref = (id: string) => `\${${name(id)}}`;
  const lit = (id: string, v: number) => (kinds(id) === "choice" ? `'${num(v)}'` : num(v));
  const go = (x: Expr, parent: number, right: boolean): string => {
    switch (x.kind) {
      case "answered":
        return `${ref(x.item)} != ''`;
      case "cmp": {
        if (x.op === "==") return `${ref(x.item)} = ${lit(x.item, x.value)}`;
        if (x.op === "!=") {
          const s = `${ref(x.item)} != '' and ${ref(x.item)} != ${lit(x.item, x.value)}`;
          return parent > 0 ? `(${s})` : s;
        }
        return `${ref(x.item)} ${x.op} ${num(x.value)}`;
      }
      case "not":
        return `not(${go(x.expr, 0, false)})`;
      default: {
        const p = PREC[x.kind]!;
        const s = `${go(x.left, p, false)} ${x.kind} ${go(x.right, p, true)}`;
        return p < parent || (p === parent && right) ? `(${s})` : s;
      }
    }
  };
  return go(e, 0, false);
}

/**
 * REDCap branching logic. REDCap has no "not", so negation is pushed down to the comparisons
 * (De Morgan), keeping Circle's meaning for unanswered items at every step.
 */
export function toRedcap(e: Expr, kinds: Kinds, name: (id: string) => string = (i) => i): string {
  const ref = (id: string) => `[${name(id)}]`;
  const lit = (id: string, v: number) => (kinds(id) === "choice" ? `'${num(v)}'` : num(v));
  type Out = { p: number; s: string };
  const atom = (s: string): Out => ({ p: 3, s });
  const join = (op: "and" | "or", a: Out, b: Out): Out => {
    const p = PREC[op]!;
    const wrap = (o: Out, right: boolean) => (o.p < p || (o.p === p && right) ? `(${o.s})` : o.s);
    return { p, s: `${wrap(a, false)} ${op} ${wrap(b, true)}` };
  };
  // A guarded pair is written in parentheses so it reads back as one unit.
  const pair = (op: "and" | "or", a: string, b: string): Out => atom(`(${a} ${op} ${b})`);
  const pos = (x: Expr): Out => {
    switch (x.kind) {
      case "answered":
        return atom(`${ref(x.item)} <> ''`);
      case "cmp":
        // A choice code is compared as quoted text; a number unquoted, so it is guarded too in
        // case a blank number counts as 0.
        if (x.op === "==" && kinds(x.item) === "choice")
          return atom(`${ref(x.item)} = ${lit(x.item, x.value)}`);
        if (x.op === "==")
          return pair("and", `${ref(x.item)} <> ''`, `${ref(x.item)} = ${num(x.value)}`);
        return pair(
          "and",
          `${ref(x.item)} <> ''`,
          `${ref(x.item)} ${x.op === "!=" ? "<>" : x.op} ${x.op === "!=" ? lit(x.item, x.value) : num(x.value)}`,
        );
      case "not":
        return neg(x.expr);
      default:
        return join(x.kind, pos(x.left), pos(x.right));
    }
  };
  const neg = (x: Expr): Out => {
    switch (x.kind) {
      case "answered":
        return atom(`${ref(x.item)} = ''`);
      case "cmp": {
        if (x.op === "==" && kinds(x.item) === "choice")
          return atom(`${ref(x.item)} <> ${lit(x.item, x.value)}`);
        if (x.op === "==")
          return pair("or", `${ref(x.item)} = ''`, `${ref(x.item)} <> ${num(x.value)}`);
        const op = NEGATE[x.op];
        const v = op === "==" ? lit(x.item, x.value) : num(x.value);
        return pair("or", `${ref(x.item)} = ''`, `${ref(x.item)} ${op === "==" ? "=" : op} ${v}`);
      }
      case "not":
        return pos(x.expr);
      case "and":
        return join("or", neg(x.left), neg(x.right));
      case "or":
        return join("and", neg(x.left), neg(x.right));
    }
  };
  return pos(e).s;
}

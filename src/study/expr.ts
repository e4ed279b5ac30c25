// Skip-logic expressions, parsed into a small AST and evaluated by hand (never eval).
// Grammar:  expr := or ; or := and ("or" and)* ; and := not ("and" not)* ;
//           not := "not" not | atom ; atom := "(" expr ")" | "answered(" id ")" | id op number
//           op := == != < <= > >=
export type Expr =
  | { kind: "cmp"; item: string; op: "==" | "!=" | "<" | "<=" | ">" | ">="; value: number }
  | { kind: "answered"; item: string }
  | { kind: "and" | "or"; left: Expr; right: Expr }
  | { kind: "not"; expr: Expr };

export class ExprError extends Error {}

type Token = { t: "id" | "num" | "op" | "(" | ")"; v: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:([A-Za-z][A-Za-z0-9_-]*)|(-?\d+(?:\.\d+)?)|(==|!=|<=|>=|<|>)|(\()|(\)))/y;
  let pos = 0;
  while (pos < src.length) {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
    if (pos >= src.length) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    // Columns are 1-based and point at the offending character itself.
    if (!m) throw new ExprError(`unexpected character "${src[pos]}" at ${pos + 1}`);
    if (m[1] !== undefined) tokens.push({ t: "id", v: m[1] });
    else if (m[2] !== undefined) tokens.push({ t: "num", v: m[2] });
    else if (m[3] !== undefined) tokens.push({ t: "op", v: m[3] });
    else if (m[4] !== undefined) tokens.push({ t: "(", v: "(" });
    else tokens.push({ t: ")", v: ")" });
    pos = re.lastIndex;
  }
  return tokens;
}

export function parseExpr(src: string): Expr {
  const tokens = tokenize(src);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const tok = tokens[i++];
    if (!tok) throw new ExprError("unexpected end of expression");
    return tok;
  };
  const isWord = (w: string) => peek()?.t === "id" && peek()?.v === w;

  function or(): Expr {
    let left = and();
    while (isWord("or")) {
      i++;
      left = { kind: "or", left, right: and() };
    }
    return left;
  }
  function and(): Expr {
    let left = not();
    while (isWord("and")) {
      i++;
      left = { kind: "and", left, right: not() };
    }
    return left;
  }
  function not(): Expr {
    if (isWord("not")) {
      i++;
      return { kind: "not", expr: not() };
    }
    return atom();
  }
  function atom(): Expr {
    const tok = next();
    if (tok.t === "(") {
      const e = or();
      if (peek()?.t !== ")") throw new ExprError('expected ")"');
      i++;
      return e;
    }
    if (tok.t !== "id") throw new ExprError(`expected an item id, got "${tok.v}"`);
    if (tok.v === "answered" && peek()?.t === "(") {
      i++;
      const item = next();
      if (item.t !== "id") throw new ExprError("answered() takes an item id");
      if (peek()?.t !== ")") throw new ExprError('expected ")"');
      i++;
      return { kind: "answered", item: item.v };
    }
    const op = next();
    if (op.t !== "op") throw new ExprError(`expected a comparison after "${tok.v}"`);
    const num = next();
    if (num.t !== "num") throw new ExprError(`expected a number after "${op.v}"`);
    return { kind: "cmp", item: tok.v, op: op.v as "==", value: Number(num.v) };
  }

  if (tokens.length === 0) throw new ExprError("empty expression");
  const e = or();
  if (i < tokens.length) throw new ExprError(`unexpected "${tokens[i]?.v}"`);
  return e;
}

export function referencedItems(e: Expr): string[] {
  switch (e.kind) {
    case "cmp":
    case "answered":
      return [e.item];
    case "not":
      return referencedItems(e.expr);
    default:
      return [...referencedItems(e.left), ...referencedItems(e.right)];
  }
}

/** Evaluates against the answers so far; an unanswered item makes its comparison false. */
export function evalExpr(
  e: Expr,
  answers: Readonly<Record<string, number | string | null | undefined>>,
): boolean {
  switch (e.kind) {
    case "answered": {
      const v = answers[e.item];
      return v !== undefined && v !== null;
    }
    case "cmp": {
      const v = answers[e.item];
      if (typeof v !== "number") return false;
      switch (e.op) {
        case "==":
          return v === e.value;
        case "!=":
          return v !== e.value;
        case "<":
          return v < e.value;
        case "<=":
          return v <= e.value;
        case ">":
          return v > e.value;
        case ">=":
          return v >= e.value;
      }
      return false;
    }
    case "not":
      return !evalExpr(e.expr, answers);
    case "and":
      return evalExpr(e.left, answers) && evalExpr(e.right, answers);
    case "or":
      return evalExpr(e.left, answers) || evalExpr(e.right, answers);
  }
}

// Variable names that SPSS, Stata and R accept, made from Circle's column names
// ("social-skills.active_expression.pre"). The mapping is pure and deterministic: the same list of
// names always gives the same result, and no two names in a list map to the same result (compared
// without regard to case, because SPSS ignores case and a researcher should never see "Arm" and
// "arm" side by side).
//
// Rules per tool:
// - SPSS: at most 64 bytes; letters, digits, "_" and "."; starts with a letter; does not end in "."
//   (read as a command terminator) or "_" (SPSS reserves such names for variables it creates); not
//   one of the reserved words ALL AND BY EQ GE GT LE LT NE NOT OR TO WITH.
// - Stata: at most 32 characters; [A-Za-z_][A-Za-z0-9_]*; not a reserved word (if, in, int, _n, …).
//   A leading "_" is legal but marks Stata's own variables, so names start with a letter here.
// - R: syntactic names as make.names() defines them: letters, digits, "." and "_", starting with a
//   letter (or "." not followed by a digit), not a reserved word (if, TRUE, NA, …).
// Names that are too long are shortened word by word (the longest part first), so that
// "social_skills_child_interpersonal_cognition_post" keeps every part recognisable; a name that
// would still clash gets "_2", "_3", … .

export type Tool = "spss" | "stata" | "r";

const SPSS_RESERVED = new Set(
  ["ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"].map((w) =>
    w.toLowerCase(),
  ),
);

// Stata's reserved names ([U] 11.3), plus str1…str2045 and strL (storage types).
const STATA_RESERVED = new Set([
  "_all",
  "_b",
  "byte",
  "_coef",
  "_cons",
  "double",
  "float",
  "if",
  "in",
  "int",
  "long",
  "_n",
  "_N",
  "_pi",
  "_pred",
  "_rc",
  "_skip",
  "strL",
  "using",
  "with",
]);

const R_RESERVED = new Set([
  "if",
  "else",
  "repeat",
  "while",
  "function",
  "for",
  "next",
  "break",
  "in",
  "TRUE",
  "FALSE",
  "NULL",
  "Inf",
  "NaN",
  "NA",
  "NA_integer_",
  "NA_real_",
  "NA_character_",
  "NA_complex_",
]);

interface Rules {
  maxLength: number;
  valid: RegExp;
  reserved: (name: string) => boolean;
}

const RULES: Record<Tool, Rules> = {
  spss: {
    maxLength: 64,
    valid: /^[A-Za-z][A-Za-z0-9_.]*(?<![._])$/,
    reserved: (n) => SPSS_RESERVED.has(n.toLowerCase()),
  },
  stata: {
    maxLength: 32,
    valid: /^[A-Za-z_][A-Za-z0-9_]*$/,
    reserved: (n) => STATA_RESERVED.has(n) || /^str([1-9][0-9]{0,3})$/.test(n),
  },
  r: {
    // R itself allows 10,000 bytes; nobody types a name that long.
    maxLength: 10_000,
    valid: /^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$|^\.$/,
    reserved: (n) => R_RESERVED.has(n) || /^\.\.(?:\.|[0-9]+)$/.test(n),
  },
};

/** Whether `name` is a valid variable name in `tool` (the rules above). */
export function isValidName(name: string, tool: Tool): boolean {
  const r = RULES[tool];
  return name.length > 0 && name.length <= r.maxLength && r.valid.test(name) && !r.reserved(name);
}

/**
 * The name with invalid characters replaced and a valid start, not yet shortened. Dots are kept
 * for now even for Stata: they mark the parts of a column name ("instrument.measure.timepoint")
 * that shortening treats differently; `finish` turns them into "_".
 */
function sanitise(name: string, tool: Tool): string {
  let s = name.normalize("NFKC").replace(/[^A-Za-z0-9_.]/g, "_");
  if (tool === "spss") s = s.replace(/[._]+$/, "");
  if (s === "") return "v";
  if (tool === "r") {
    if (!/^(?:[A-Za-z]|\.(?![0-9]))/.test(s)) s = `x${s}`;
  } else if (!/^[A-Za-z]/.test(s)) {
    s = `v${s}`;
  }
  if (RULES[tool].reserved(finish(s, tool))) s = tool === "r" ? `${s}_` : `v_${s}`;
  return s;
}

/** Last touches after shortening: Stata has no dots; SPSS names do not end in "." or "_". */
function finish(name: string, tool: Tool): string {
  if (tool === "stata") return name.replace(/\./g, "_");
  if (tool === "spss") return name.replace(/[._]+$/, "") || "v";
  return name;
}

/**
 * Shortens `name` to `max` characters word by word, keeping it readable: words are separated by
 * "_" or "." and the separators stay. The longest word is trimmed one character at a time
 * (leftmost first among equals): first down to three characters, then to one, and the words after
 * the last "." (the timepoint in "instrument.measure.timepoint", which tells pre from post) only
 * when nothing else is left to trim. Only then is the name cut.
 */
export function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  const tokens = name.split(/([._])/);
  const parts = tokens.filter((_, i) => i % 2 === 0);
  const seps = tokens.filter((_, i) => i % 2 === 1);
  // parts[i] comes after the last "." when i > the index of that separator.
  const lastDot = seps.lastIndexOf(".");
  const protectedFrom = lastDot >= 0 ? lastDot + 1 : parts.length;
  let length = name.length;
  const phases = [
    { floor: 3, upTo: protectedFrom },
    { floor: 1, upTo: protectedFrom },
    { floor: 1, upTo: parts.length },
  ];
  for (const { floor, upTo } of phases) {
    while (length > max) {
      let longest = -1;
      for (let i = 0; i < upTo; i++) {
        const len = parts[i]!.length;
        if (len > floor && (longest < 0 || len > parts[longest]!.length)) longest = i;
      }
      if (longest < 0) break;
      parts[longest] = parts[longest]!.slice(0, -1);
      length--;
    }
  }
  let out = parts[0]!;
  for (let i = 0; i < seps.length; i++) out += seps[i]! + parts[i + 1]!;
  return out.length > max ? out.slice(0, max) : out;
}

/**
 * Maps each name to a valid, unique name for `tool`, in order: the first of two clashing names
 * keeps the plain form. `taken` holds names already in use (e.g. by an earlier dataset's helper
 * variables), compared case-insensitively.
 */
export function toolNames(
  names: readonly string[],
  tool: Tool,
  taken: Iterable<string> = [],
): string[] {
  const max = RULES[tool].maxLength;
  const used = new Set([...taken].map((n) => n.toLowerCase()));
  const out: string[] = [];
  for (const original of names) {
    const base = sanitise(original, tool);
    let candidate = finish(shorten(base, max), tool);
    for (let k = 2; used.has(candidate.toLowerCase()) || !isValidName(candidate, tool); k++) {
      const suffix = `_${k}`;
      candidate = finish(shorten(base, max - suffix.length), tool) + suffix;
    }
    used.add(candidate.toLowerCase());
    out.push(candidate);
  }
  return out;
}

/** The same as toolNames, as a lookup from original to tool name. */
export function nameMap(
  names: readonly string[],
  tool: Tool,
  taken: Iterable<string> = [],
): Map<string, string> {
  const mapped = toolNames(names, tool, taken);
  return new Map(names.map((n, i) => [n, mapped[i]!]));
}

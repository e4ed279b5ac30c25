// Loads flows/ (study.yaml + instruments/*.yaml) and an optional extra folder, validates
// everything, and reports ALL problems at once as "file: path: problem" lines.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, isAbsolute } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { ExprError, parseExpr, referencedItems, type Expr } from "./expr.js";
import { contentHash } from "./hash.js";
import type { Instrument, Item, LoadedFlows, Respondent, Study } from "./model.js";
import { instrumentSchema, studySchema, type InstrumentFile, type Localized } from "./schema.js";

export type LoadResult =
  | { ok: true; flows: LoadedFlows; warnings: string[] }
  /** `instruments`: the ones that loaded without errors of their own (for `flows check --json`). */
  | { ok: false; errors: string[]; instruments: Instrument[] };

export interface LoadOptions {
  flowsDir: string;
  extraDir?: string | undefined;
}

type PathPart = string | number;

function fmtPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(top level)" : out;
}

class Reporter {
  readonly errors: string[] = [];
  constructor(private readonly file: string) {}
  add(path: PathPart[], message: string) {
    this.errors.push(`${this.file}: ${fmtPath(path)}: ${message}`);
  }
  zod(error: z.ZodError) {
    for (const issue of error.issues) this.add(issue.path as PathPart[], zodMessage(issue));
  }
}

function zodMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys")
    return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue.code === "invalid_type" && issue.input === undefined)
    return `missing (expected ${issue.expected})`;
  return issue.message;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

function readYaml(file: string, rep: Reporter): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    rep.add([], `cannot read file (${(e as Error).message})`);
    return undefined;
  }
  // prettyErrors would put the position into the message text; a LineCounter gives it to us
  // separately, so the report keeps one line per problem.
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const line = lines.linePos(err.pos[0]);
      rep.add(
        [],
        `YAML syntax error at line ${line.line}, column ${line.col}: ${err.message.split("\n")[0]}`,
      );
    }
    return undefined;
  }
  return doc.toJS();
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Every Localized value inside `value`, with its path (for the translation gate). */
function* localizedStrings(
  value: unknown,
  path: PathPart[] = [],
): Generator<[PathPart[], Localized]> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* localizedStrings(value[i], [...path, i]);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (LOCALIZED_KEYS.has(k) && isLocalized(v)) yield [[...path, k], v];
    else yield* localizedStrings(v, [...path, k]);
  }
}
const LOCALIZED_KEYS = new Set(["title", "intro", "label", "text", "goal"]);

/** Only a plain object of strings counts: a scale that happens to be named "text" is no text. */
function isLocalized(v: unknown): v is Localized {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    Object.values(v as Record<string, unknown>).every((x) => typeof x === "string")
  );
}

/**
 * The translation gate. It runs on the raw YAML (not only on what the schema accepted), so a
 * missing translation is reported even when the same file has an unrelated schema error.
 */
function checkTranslations(
  value: unknown,
  locales: string[],
  rep: Reporter,
  skip: (p: PathPart[]) => boolean = () => false,
) {
  for (const [path, text] of localizedStrings(value)) {
    if (skip(path)) continue;
    for (const loc of locales) {
      const s = text[loc];
      if (s === undefined) rep.add(path, `missing translation "${loc}"`);
      // "" is already reported by the schema as "empty text"; whitespace-only passes it.
      else if (s !== "" && s.trim() === "") rep.add([...path, loc], `blank translation "${loc}"`);
    }
  }
}

const LOCALE = /^[a-z]{2}(-[A-Za-z]{2,4})?$/;

/** The locales a study file declares, read leniently so a study with other errors still gates. */
function rawLocales(raw: unknown): string[] {
  const list = raw && typeof raw === "object" ? (raw as { locales?: unknown }).locales : undefined;
  return Array.isArray(list)
    ? list.filter((l): l is string => typeof l === "string" && LOCALE.test(l))
    : [];
}

function rawRespondent(raw: unknown): Respondent | null {
  const r = (raw as { respondent?: unknown } | null)?.respondent;
  return r === "parent" || r === "child" || r === "facilitator" ? r : null;
}

function rawSubscales(raw: unknown): string[] | null {
  const list = (raw as { subscales?: unknown } | null)?.subscales;
  if (!Array.isArray(list)) return null;
  const ids = list.map((x) => (x as { id?: unknown } | null)?.id);
  return ids.every((id): id is string => typeof id === "string") ? ids : null;
}

function validateInstrument(def: InstrumentFile, rep: Reporter): Instrument | undefined {
  const before = rep.errors.length;
  const subscaleIds = new Set<string>();
  def.subscales.forEach((s, i) => {
    if (subscaleIds.has(s.id)) rep.add(["subscales", i, "id"], `duplicate subscale id "${s.id}"`);
    subscaleIds.add(s.id);
  });
  for (const [name, scale] of Object.entries(def.scales)) {
    if (!(scale.min < scale.max))
      rep.add(["scales", name], `min (${scale.min}) must be below max (${scale.max})`);
    const seen = new Set<number>();
    scale.options.forEach((o, i) => {
      if (o.value < scale.min || o.value > scale.max)
        rep.add(
          ["scales", name, "options", i, "value"],
          `value ${o.value} is outside the scale's range ${scale.min}–${scale.max}`,
        );
      if (seen.has(o.value))
        rep.add(["scales", name, "options", i, "value"], `duplicate answer value ${o.value}`);
      seen.add(o.value);
    });
  }
  if (def.scale !== undefined && !(def.scale in def.scales))
    rep.add(["scale"], `unknown scale "${def.scale}"`);

  const itemIds = new Map<string, number>();
  const items: Item[] = [];
  def.items.forEach((it, i) => {
    if (itemIds.has(it.id)) rep.add(["items", i, "id"], `duplicate item id "${it.id}"`);
    const subscale = it.subscale ?? null;
    if (subscale !== null && !subscaleIds.has(subscale))
      rep.add(["items", i, "subscale"], `unknown subscale "${subscale}"`);
    let min: number | null = null;
    let max: number | null = null;
    let options: Item["options"] = [];
    if (it.type === "choice") {
      const scaleName = it.scale ?? def.scale;
      if (it.min !== undefined || it.max !== undefined)
        rep.add(["items", i], "choice items take their range from their scale; remove min/max");
      if (scaleName === undefined)
        rep.add(
          ["items", i, "scale"],
          'no answer scale (set "scale" on the item or the instrument)',
        );
      else if (!(scaleName in def.scales))
        rep.add(["items", i, "scale"], `unknown scale "${scaleName}"`);
      else {
        const sc = def.scales[scaleName]!;
        min = sc.min;
        max = sc.max;
        options = sc.options.map((o) => ({ value: o.value, label: o.label }));
      }
    } else if (it.type === "number") {
      if (it.min === undefined || it.max === undefined)
        rep.add(["items", i], "number items need min and max");
      else if (!(it.min < it.max))
        rep.add(["items", i, "min"], `min (${it.min}) must be below max (${it.max})`);
      else {
        min = it.min;
        max = it.max;
      }
      if (it.scale !== undefined)
        rep.add(["items", i, "scale"], "number items have no answer scale");
    } else {
      if (subscale !== null)
        rep.add(["items", i, "subscale"], "text items cannot belong to a scored subscale");
      if (it.reverse) rep.add(["items", i, "reverse"], "text items cannot be reverse-keyed");
      if (it.scale !== undefined || it.min !== undefined || it.max !== undefined)
        rep.add(["items", i], "text items have no scale or range");
    }
    let showIf: Expr | null = null;
    if (it.showIf !== undefined) {
      try {
        showIf = parseExpr(it.showIf);
        for (const ref of referencedItems(showIf)) {
          const at = itemIds.get(ref);
          if (ref === it.id)
            rep.add(
              ["items", i, "showIf"],
              `refers to the item itself ("${ref}"); skip logic may only use earlier items`,
            );
          else if (at === undefined) {
            const later = def.items.findIndex((x) => x.id === ref);
            rep.add(
              ["items", i, "showIf"],
              later >= 0
                ? `refers to "${ref}", which comes later; skip logic may only use earlier items`
                : `refers to unknown item "${ref}"`,
            );
          }
        }
        for (const ref of comparedItems(showIf)) {
          const at = itemIds.get(ref);
          if (at !== undefined && def.items[at]?.type === "text")
            rep.add(
              ["items", i, "showIf"],
              `compares text item "${ref}" with a number; use answered(${ref})`,
            );
        }
      } catch (e) {
        if (e instanceof ExprError)
          rep.add(["items", i, "showIf"], `cannot parse "${it.showIf}": ${e.message}`);
        else throw e;
      }
    }
    itemIds.set(it.id, i);
    items.push({
      id: it.id,
      type: it.type,
      min,
      max,
      reverse: it.reverse,
      subscale,
      required: it.required,
      text: it.text,
      options,
      showIf,
      showIfSource: it.showIf ?? null,
    });
  });
  def.subscales.forEach((s, i) => {
    if (!items.some((it) => it.subscale === s.id))
      rep.add(["subscales", i], `subscale "${s.id}" has no items`);
  });
  checkCutoffs(def, items, rep);
  if (rep.errors.length > before) return undefined;
  return {
    id: def.id,
    version: def.version,
    // Cut-offs are analysis settings: changing one must not make stored answers a new version.
    hash: contentHash(withoutCutoffs(def)),
    title: def.title,
    intro: def.intro ?? null,
    respondent: def.respondent,
    transform: def.transform,
    minAnsweredFraction: def.minAnsweredFraction,
    subscales: def.subscales.map((s) => ({
      id: s.id,
      label: s.label,
      items: items.filter((it) => it.subscale === s.id).map((it) => it.id),
      ...(s.cutoff !== undefined ? { cutoff: s.cutoff } : {}),
    })),
    ...(def.cutoff !== undefined ? { cutoff: def.cutoff } : {}),
    items,
    file: "",
  };
}

function withoutCutoffs(def: InstrumentFile): unknown {
  const { cutoff: _total, ...rest } = def;
  return { ...rest, subscales: def.subscales.map(({ cutoff: _c, ...s }) => s) };
}

/** A cut-off must lie on the score's scale (0–100 when transformed, else its items' range). */
function checkCutoffs(def: InstrumentFile, items: Item[], rep: Reporter): void {
  const range = (ids: Item[]): [number, number] | null => {
    const scored = ids.filter((it) => it.min !== null && it.max !== null);
    if (scored.length === 0) return null;
    if (def.transform === "0-100") return [0, 100];
    return [Math.min(...scored.map((it) => it.min!)), Math.max(...scored.map((it) => it.max!))];
  };
  const check = (value: number | undefined, path: PathPart[], members: Item[]) => {
    if (value === undefined) return;
    const r = range(members);
    if (r === null) rep.add(path, "a cut-off needs scored items");
    else if (value < r[0] || value > r[1])
      rep.add(path, `cut-off ${value} is outside the score range ${r[0]}–${r[1]}`);
  };
  def.subscales.forEach((s, i) =>
    check(
      s.cutoff,
      ["subscales", i, "cutoff"],
      items.filter((it) => it.subscale === s.id),
    ),
  );
  check(
    def.cutoff,
    ["cutoff"],
    items.filter((it) => it.subscale !== null),
  );
}

/** Items used in numeric comparisons (answered() works for any item type). */
function comparedItems(e: Expr): string[] {
  switch (e.kind) {
    case "cmp":
      return [e.item];
    case "answered":
      return [];
    case "not":
      return comparedItems(e.expr);
    default:
      return [...comparedItems(e.left), ...comparedItems(e.right)];
  }
}

/**
 * What the study's cross-checks need to know about an instrument. Instruments with errors of
 * their own are still listed (with whatever could be read), so one broken instrument neither
 * hides an unrelated mistake in the study nor piles "unknown instrument" errors on top of its own.
 */
interface InstrumentRef {
  respondent: Respondent | null;
  /** Subscale ids, or null when the file could not be read that far. */
  subscales: string[] | null;
}

function validateStudy(study: Study, instruments: Map<string, InstrumentRef>, rep: Reporter) {
  if (!study.locales.includes(study.defaultLocale))
    rep.add(
      ["defaultLocale"],
      `"${study.defaultLocale}" is not one of the study's locales (${study.locales.join(", ")})`,
    );
  const dupes = <T>(list: T[], key: (x: T) => string | number, path: string, what: string) => {
    const seen = new Set<string | number>();
    list.forEach((x, i) => {
      const k = key(x);
      if (seen.has(k)) rep.add([path, i], `duplicate ${what} ${JSON.stringify(k)}`);
      seen.add(k);
    });
  };
  dupes(study.arms, (a) => a.id, "arms", "arm");
  dupes(study.timepoints, (t) => t.id, "timepoints", "timepoint");
  dupes(study.sessions, (s) => s.number, "sessions", "session number");
  dupes(study.codes, (c) => c.id, "codes", "code");
  const numbers = study.sessions.map((s) => s.number).sort((a, b) => a - b);
  if (numbers.some((n, i) => n !== i + 1))
    rep.add(["sessions"], `session numbers must run 1..${numbers.length} without gaps`);
  study.timepoints.forEach((tp, i) => {
    if (tp.window.openDays > tp.window.closeDays)
      rep.add(
        ["timepoints", i, "window"],
        `openDays (${tp.window.openDays}) is after closeDays (${tp.window.closeDays})`,
      );
  });
  const timepointIds = new Set(study.timepoints.map((t) => t.id));
  const armIds = new Set<string>(study.arms.map((a) => a.id));

  const checkList = (
    list: string[],
    path: PathPart[],
    respondent: "parent" | "child" | "facilitator",
  ) => {
    list.forEach((id, i) => {
      const ins = instruments.get(id);
      if (!ins) rep.add([...path, i], `unknown instrument "${id}"`);
      else if (ins.respondent !== null && ins.respondent !== respondent)
        rep.add(
          [...path, i],
          `instrument "${id}" is answered by ${ins.respondent}, not ${respondent}`,
        );
    });
  };
  study.assignments.timepoints.forEach((a, i) => {
    if (!timepointIds.has(a.timepoint))
      rep.add(["assignments", "timepoints", i, "timepoint"], `unknown timepoint "${a.timepoint}"`);
    a.arms?.forEach((arm, j) => {
      if (arm !== "none" && !armIds.has(arm))
        rep.add(["assignments", "timepoints", i, "arms", j], `unknown arm "${arm}"`);
    });
    checkList(a.parent, ["assignments", "timepoints", i, "parent"], "parent");
    checkList(a.child, ["assignments", "timepoints", i, "child"], "child");
  });
  const after = study.assignments.afterSession;
  checkList(after.parent, ["assignments", "afterSession", "parent"], "parent");
  checkList(after.child, ["assignments", "afterSession", "child"], "child");
  checkList(after.facilitator, ["assignments", "afterSession", "facilitator"], "facilitator");
  checkList(study.assignments.groupEnd.parent, ["assignments", "groupEnd", "parent"], "parent");
  checkList(study.assignments.groupEnd.child, ["assignments", "groupEnd", "child"], "child");
  const obsId = study.assignments.observation;
  const obs = obsId === undefined ? undefined : instruments.get(obsId);
  if (obsId !== undefined) {
    if (!obs) rep.add(["assignments", "observation"], `unknown instrument "${obsId}"`);
    else if (obs.respondent !== null && obs.respondent !== "facilitator")
      rep.add(
        ["assignments", "observation"],
        `instrument "${obsId}" is answered by ${obs.respondent}, not facilitator`,
      );
  }
  if (obs?.subscales) {
    const dims = new Set(obs.subscales);
    study.sessions.forEach((s, i) =>
      s.focus.forEach((f, j) => {
        if (!dims.has(f))
          rep.add(
            ["sessions", i, "focus", j],
            `unknown dimension "${f}" (not a subscale of "${obsId}")`,
          );
      }),
    );
  }
}

export function loadFlows(opts: LoadOptions): LoadResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const studyFile = join(opts.flowsDir, "study.yaml");
  const instrumentFiles = [...yamlFiles(join(opts.flowsDir, "instruments"))];
  const extraFiles: string[] = [];
  if (opts.extraDir) {
    if (!existsSync(opts.extraDir))
      errors.push(`${displayPath(opts.extraDir)}: (top level): extra flows folder does not exist`);
    else {
      for (const file of [
        ...yamlFiles(opts.extraDir),
        ...yamlFiles(join(opts.extraDir, "instruments")),
      ]) {
        // A study file there would otherwise fail as an "instrument" with confusing messages.
        if (/^study\.ya?ml$/i.test(basename(file)))
          errors.push(
            `${displayPath(file)}: (top level): the extra folder holds instruments only; the study is read from ${displayPath(studyFile)}`,
          );
        else extraFiles.push(file);
      }
    }
  }
  const shippedCount = instrumentFiles.length;
  instrumentFiles.push(...extraFiles);

  // The study first: its locales are the translation gate for every instrument.
  const studyRep = new Reporter(displayPath(studyFile));
  let study: Study | undefined;
  let rawStudy: unknown;
  if (!existsSync(studyFile)) studyRep.add([], "study.yaml is missing");
  else {
    rawStudy = readYaml(studyFile, studyRep);
    if (rawStudy !== undefined) {
      const parsed = studySchema.safeParse(rawStudy, { reportInput: true });
      if (parsed.success) study = parsed.data;
      else studyRep.zod(parsed.error);
    }
  }
  const locales = study?.locales ?? rawLocales(rawStudy);

  const instruments = new Map<string, Instrument>();
  const shippedIds = new Set<string>();
  const instrumentErrors: string[] = [];
  const definedIn = new Map<string, string>();
  const refs = new Map<string, InstrumentRef>();
  /** Files that could not be read as YAML: assumed to define the instrument named like the file. */
  const unreadable = new Set<string>();
  for (const [index, file] of instrumentFiles.entries()) {
    const rep = new Reporter(displayPath(file));
    const raw = readYaml(file, rep);
    if (raw === undefined) unreadable.add(basename(file).replace(/\.ya?ml$/i, ""));
    else {
      checkTranslations(raw, locales, rep);
      const parsed = instrumentSchema.safeParse(raw, { reportInput: true });
      const def = parsed.success ? parsed.data : undefined;
      const ins = def ? validateInstrument(def, rep) : undefined;
      if (!parsed.success) rep.zod(parsed.error);
      const rawId = (raw as { id?: unknown } | null)?.id;
      const id = def?.id ?? (typeof rawId === "string" ? rawId : undefined);
      if (id !== undefined) {
        if (def && index < shippedCount) shippedIds.add(id);
        const prior = definedIn.get(id);
        if (prior) rep.add(["id"], `instrument "${id}" is also defined in ${prior}`);
        else {
          definedIn.set(id, displayPath(file));
          refs.set(id, {
            respondent: def?.respondent ?? rawRespondent(raw),
            subscales: def ? def.subscales.map((s) => s.id) : rawSubscales(raw),
          });
          if (ins && rep.errors.length === 0)
            instruments.set(ins.id, { ...ins, file: displayPath(file) });
        }
      }
    }
    instrumentErrors.push(...rep.errors);
  }
  for (const id of unreadable)
    if (!refs.has(id)) refs.set(id, { respondent: null, subscales: null });
  if (rawStudy !== undefined && rawStudy !== null)
    checkTranslations(rawStudy, locales, studyRep, (p) => p[0] === "locales");
  if (study) validateStudy(study, refs, studyRep);
  errors.push(...studyRep.errors, ...instrumentErrors);
  // Shipped first, then the extra folder; by id within each, whatever the file names.
  const byId = (a: Instrument, b: Instrument) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const all = [...instruments.values()];
  const instrumentList = [
    ...all.filter((i) => shippedIds.has(i.id)).sort(byId),
    ...all.filter((i) => !shippedIds.has(i.id)).sort(byId),
  ];
  if (errors.length > 0 || !study) return { ok: false, errors, instruments: instrumentList };
  return { ok: true, flows: { study, instruments, instrumentList }, warnings };
}

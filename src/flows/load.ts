// Loads flows/ (study.yaml + instruments/*.yaml) and an optional extra folder, validates
// everything, and reports ALL problems at once as "file: path: problem" lines.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, isAbsolute } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ExprError, parseExpr, referencedItems, type Expr } from "./expr.js";
import { contentHash } from "./hash.js";
import type { Instrument, Item, LoadedFlows, Study } from "./model.js";
import { instrumentSchema, studySchema, type InstrumentFile, type Localized } from "./schema.js";

export type LoadResult = { ok: true; flows: LoadedFlows; warnings: string[] } | { ok: false; errors: string[] };

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
  if (issue.code === "unrecognized_keys") return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue.code === "invalid_type" && issue.input === undefined) return `missing (expected ${issue.expected})`;
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
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const line = err.linePos?.[0];
      rep.add([], `YAML syntax error${line ? ` at line ${line.line}, column ${line.col}` : ""}: ${err.message.split("\n")[0]}`);
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
function* localizedStrings(value: unknown, path: PathPart[] = []): Generator<[PathPart[], Localized]> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* localizedStrings(value[i], [...path, i]);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (LOCALIZED_KEYS.has(k) && v && typeof v === "object" && !Array.isArray(v)) {
      yield [[...path, k], v as Localized];
    } else {
      yield* localizedStrings(v, [...path, k]);
    }
  }
}
const LOCALIZED_KEYS = new Set(["title", "intro", "label", "text", "goal"]);

function checkTranslations(value: unknown, locales: string[], rep: Reporter, skip: (p: PathPart[]) => boolean = () => false) {
  for (const [path, text] of localizedStrings(value)) {
    if (skip(path)) continue;
    for (const loc of locales) {
      if (typeof text[loc] !== "string" || text[loc].trim() === "") rep.add(path, `missing translation "${loc}"`);
    }
  }
}

function validateInstrument(def: InstrumentFile, rep: Reporter): Instrument | undefined {
  const before = rep.errors.length;
  const subscaleIds = new Set<string>();
  def.subscales.forEach((s, i) => {
    if (subscaleIds.has(s.id)) rep.add(["subscales", i, "id"], `duplicate subscale id "${s.id}"`);
    subscaleIds.add(s.id);
  });
  for (const [name, scale] of Object.entries(def.scales)) {
    if (!(scale.min < scale.max)) rep.add(["scales", name], `min (${scale.min}) must be below max (${scale.max})`);
    const seen = new Set<number>();
    scale.options.forEach((o, i) => {
      if (o.value < scale.min || o.value > scale.max)
        rep.add(["scales", name, "options", i, "value"], `value ${o.value} is outside the scale's range ${scale.min}–${scale.max}`);
      if (seen.has(o.value)) rep.add(["scales", name, "options", i, "value"], `duplicate answer value ${o.value}`);
      seen.add(o.value);
    });
  }
  if (def.scale !== undefined && !(def.scale in def.scales)) rep.add(["scale"], `unknown scale "${def.scale}"`);

  const itemIds = new Map<string, number>();
  const items: Item[] = [];
  def.items.forEach((it, i) => {
    if (itemIds.has(it.id)) rep.add(["items", i, "id"], `duplicate item id "${it.id}"`);
    const subscale = it.subscale ?? null;
    if (subscale !== null && !subscaleIds.has(subscale)) rep.add(["items", i, "subscale"], `unknown subscale "${subscale}"`);
    let min: number | null = null;
    let max: number | null = null;
    let options: Item["options"] = [];
    if (it.type === "choice") {
      const scaleName = it.scale ?? def.scale;
      if (it.min !== undefined || it.max !== undefined)
        rep.add(["items", i], "choice items take their range from their scale; remove min/max");
      if (scaleName === undefined) rep.add(["items", i, "scale"], 'no answer scale (set "scale" on the item or the instrument)');
      else if (!(scaleName in def.scales)) rep.add(["items", i, "scale"], `unknown scale "${scaleName}"`);
      else {
        const sc = def.scales[scaleName]!;
        min = sc.min;
        max = sc.max;
        options = sc.options.map((o) => ({ value: o.value, label: o.label }));
      }
    } else if (it.type === "number") {
      if (it.min === undefined || it.max === undefined) rep.add(["items", i], "number items need min and max");
      else if (!(it.min < it.max)) rep.add(["items", i, "min"], `min (${it.min}) must be below max (${it.max})`);
      else {
        min = it.min;
        max = it.max;
      }
      if (it.scale !== undefined) rep.add(["items", i, "scale"], "number items have no answer scale");
    } else {
      if (subscale !== null) rep.add(["items", i, "subscale"], "text items cannot belong to a scored subscale");
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
          if (at === undefined) {
            const later = def.items.findIndex((x) => x.id === ref);
            rep.add(
              ["items", i, "showIf"],
              later >= 0 ? `refers to "${ref}", which comes later; skip logic may only use earlier items` : `refers to unknown item "${ref}"`,
            );
          }
        }
      } catch (e) {
        if (e instanceof ExprError) rep.add(["items", i, "showIf"], `cannot parse "${it.showIf}": ${e.message}`);
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
    if (!items.some((it) => it.subscale === s.id)) rep.add(["subscales", i], `subscale "${s.id}" has no items`);
  });
  if (rep.errors.length > before) return undefined;
  return {
    id: def.id,
    version: def.version,
    hash: contentHash(def),
    title: def.title,
    intro: def.intro ?? null,
    respondent: def.respondent,
    transform: def.transform,
    minAnsweredFraction: def.minAnsweredFraction,
    subscales: def.subscales.map((s) => ({ id: s.id, label: s.label, items: items.filter((it) => it.subscale === s.id).map((it) => it.id) })),
    items,
    file: "",
  };
}

function validateStudy(study: Study, instruments: Map<string, Instrument>, rep: Reporter) {
  if (!study.locales.includes(study.defaultLocale))
    rep.add(["defaultLocale"], `"${study.defaultLocale}" is not one of the study's locales (${study.locales.join(", ")})`);
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
  numbers.forEach((n, i) => {
    if (n !== i + 1) rep.add(["sessions"], `session numbers must run 1..${numbers.length} without gaps`);
  });
  const timepointIds = new Set(study.timepoints.map((t) => t.id));
  const armIds = new Set<string>(study.arms.map((a) => a.id));

  const checkList = (list: string[], path: PathPart[], respondent: "parent" | "child" | "facilitator") => {
    list.forEach((id, i) => {
      const ins = instruments.get(id);
      if (!ins) rep.add([...path, i], `unknown instrument "${id}"`);
      else if (ins.respondent !== respondent && (ins.respondent as string) !== "unknown")
        rep.add([...path, i], `instrument "${id}" is answered by ${ins.respondent}, not ${respondent}`);
    });
  };
  study.assignments.timepoints.forEach((a, i) => {
    if (!timepointIds.has(a.timepoint)) rep.add(["assignments", "timepoints", i, "timepoint"], `unknown timepoint "${a.timepoint}"`);
    a.arms?.forEach((arm, j) => {
      if (arm !== "none" && !armIds.has(arm)) rep.add(["assignments", "timepoints", i, "arms", j], `unknown arm "${arm}"`);
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
    else if (obs.respondent !== "facilitator" && (obs.respondent as string) !== "unknown")
      rep.add(["assignments", "observation"], `instrument "${obsId}" is answered by ${obs.respondent}, not facilitator`);
  }
  if (obs) {
    const dims = new Set(obs.subscales.map((s) => s.id));
    study.sessions.forEach((s, i) =>
      s.focus.forEach((f, j) => {
        if (!dims.has(f)) rep.add(["sessions", i, "focus", j], `unknown dimension "${f}" (not a subscale of "${obs.id}")`);
      }),
    );
  }
}

export function loadFlows(opts: LoadOptions): LoadResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const studyFile = join(opts.flowsDir, "study.yaml");
  const instrumentFiles = [...yamlFiles(join(opts.flowsDir, "instruments"))];
  if (opts.extraDir) {
    if (!existsSync(opts.extraDir)) errors.push(`${displayPath(opts.extraDir)}: (top level): extra flows folder does not exist`);
    else instrumentFiles.push(...yamlFiles(opts.extraDir), ...yamlFiles(join(opts.extraDir, "instruments")));
  }

  // The study first: its locales are the translation gate for every instrument.
  const studyRep = new Reporter(displayPath(studyFile));
  let study: Study | undefined;
  if (!existsSync(studyFile)) studyRep.add([], "study.yaml is missing");
  else {
    const raw = readYaml(studyFile, studyRep);
    if (raw !== undefined) {
      const parsed = studySchema.safeParse(raw);
      if (parsed.success) study = parsed.data;
      else studyRep.zod(parsed.error);
    }
  }
  const locales = study?.locales ?? [];

  const instruments = new Map<string, Instrument>();
  const instrumentErrors: string[] = [];
  const definedIn = new Map<string, string>();
  for (const file of instrumentFiles) {
    const rep = new Reporter(displayPath(file));
    const raw = readYaml(file, rep);
    if (raw !== undefined) {
      const parsed = instrumentSchema.safeParse(raw);
      if (!parsed.success) rep.zod(parsed.error);
      else {
        const def = parsed.data;
        checkTranslations(def, locales, rep);
        const ins = validateInstrument(def, rep);
        const prior = definedIn.get(def.id);
        if (prior) rep.add(["id"], `instrument "${def.id}" is also defined in ${prior}`);
        else definedIn.set(def.id, displayPath(file));
        if (ins && !prior && rep.errors.length === 0) instruments.set(ins.id, { ...ins, file: displayPath(file) });
      }
    }
    instrumentErrors.push(...rep.errors);
  }
  if (study) {
    checkTranslations(study, locales, studyRep, (p) => p[0] === "locales");
    // Validate references against every instrument that parsed, even ones with other errors,
    // so one broken instrument does not hide a second, unrelated mistake in the study.
    const known = new Map(instruments);
    for (const [id, file] of definedIn) if (!known.has(id)) known.set(id, { id, respondent: "unknown", subscales: [], file } as unknown as Instrument);
    validateStudy(study, known, studyRep);
  }
  errors.push(...studyRep.errors, ...instrumentErrors);
  if (errors.length > 0 || !study) return { ok: false, errors };
  const instrumentList = [...instruments.values()];
  return { ok: true, flows: { study, instruments, instrumentList }, warnings };
}

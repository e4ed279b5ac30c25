// XLSForm (survey / choices / settings sheets) ↔ Circle. Reading yields a SourceForm for the
// builder; writing turns a Circle instrument into the sheets, with Circle's own concepts in extra
// `circle_*` columns and a `circle_subscales` sheet that pyxform and ODK ignore.
import type { Expr } from "../expr.js";
import type { Instrument } from "../model.js";
import type { InstrumentFile, Localized } from "../schema.js";
import { languageLabel, parseLanguage } from "./languages.js";
import { LogicError, parseLogic, toXpath, type Node } from "./logic.js";
import {
  Issues,
  type Origin,
  type SourceCondition,
  type SourceForm,
  type SourceList,
  type SourceQuestion,
  type SourceSubscale,
} from "./source.js";
import {
  cell,
  localized,
  readTable,
  unusedColumns,
  type Row,
  type Sheet,
  type Table,
} from "./table.js";

export interface ReadContext {
  file: string;
  /** Language of untranslated `label` columns when the settings name none. */
  defaultLocale: string;
  /** The instrument id when the settings have no form_id (the file's name). */
  fallbackId: string;
}

const SURVEY_COLUMNS = new Set([
  "type",
  "name",
  "label",
  "hint",
  "required",
  "constraint",
  "relevant",
  "circle_subscale",
  "circle_reverse",
]);
const CHOICE_COLUMNS = new Set(["list_name", "name", "label"]);
const SETTINGS_COLUMNS = new Set([
  "form_title",
  "form_id",
  "version",
  "default_language",
  "circle_title",
  "circle_respondent",
  "circle_transform",
  "circle_min_answered",
  "circle_cutoff",
]);
const SUBSCALE_COLUMNS = new Set(["name", "label", "cutoff"]);

const METADATA = new Set([
  "start",
  "end",
  "today",
  "deviceid",
  "subscriberid",
  "simserial",
  "phonenumber",
  "username",
  "email",
  "audit",
  "start-geopoint",
  "background-geopoint",
]);

const YES = /^(yes|true|true\(\)|y|1)$/i;
const NO = /^(no|false|false\(\)|n|0|)$/i;

/** The name under which the instrument's introduction travels as a leading note. */
export const INTRO_NAME = "circle_intro";

const findSheet = (sheets: Sheet[], name: string) =>
  sheets.find((s) => s.name.trim().toLowerCase() === name);

const vocabulary = (column: string) => ({
  translate: (loc: string) => `fill in a "${column}::${languageLabel(loc)}" column`,
});

export function readXlsform(sheets: Sheet[], ctx: ReadContext): SourceForm | Issues {
  const iss = new Issues();
  const surveySheet = findSheet(sheets, "survey");
  if (!surveySheet) {
    iss.error(
      ctx.file,
      `no "survey" sheet (found: ${sheets.map((s) => `"${s.name}"`).join(", ") || "none"}); an XLSForm needs survey, choices and settings sheets`,
    );
    return iss;
  }

  // ---- settings (first: default_language decides what an untranslated label means) ----------
  const settingsOrigin: Origin = {
    where: "settings",
    field: {
      id: "form_id",
      version: "version",
      title: "circle_title",
      respondent: "circle_respondent",
      transform: "circle_transform",
      minAnsweredFraction: "circle_min_answered",
      cutoff: "circle_cutoff",
    },
    ...vocabulary("circle_title"),
  };
  const settingsSheet = findSheet(sheets, "settings");
  const st = settingsSheet ? readTable(settingsSheet, iss) : null;
  const srow: Row | undefined = st?.rows[0];
  const setting = (base: string) => (st && srow ? cell(st, srow, base) : "");
  let defaultLocale = ctx.defaultLocale;
  const dl = setting("default_language");
  if (dl !== "") {
    const lang = parseLanguage(dl);
    if (lang.ok) defaultLocale = lang.locale;
    else iss.error("settings: default_language", lang.message);
  }
  if (st) {
    unusedColumns(st, SETTINGS_COLUMNS, iss, srow ? [srow] : []);
    if (st.rows.length > 1)
      iss.skip(
        `settings row ${st.rows[1]!.n}`,
        "only the first settings row is read; the rest is not carried over",
      );
  }

  let id = setting("form_id");
  if (id === "") {
    id = ctx.fallbackId;
    iss.note("settings", `no form_id; the instrument id is taken from the file name ("${id}")`);
  }
  let version = 1;
  const v = setting("version");
  if (v === "") iss.note("settings", "no version; version 1 is used");
  else if (/^\d+$/.test(v) && Number(v) >= 1 && Number.isSafeInteger(Number(v)))
    version = Number(v);
  else
    iss.error(
      "settings: version",
      `"${v}" is not a whole number; Circle numbers instrument versions 1, 2, 3 …`,
    );
  const title: Localized = (st && srow && localized(st, srow, "circle_title", defaultLocale)) || {};
  const formTitle = setting("form_title");
  if (formTitle !== "" && title[defaultLocale] === undefined) title[defaultLocale] = formTitle;
  if (Object.keys(title).length === 0) {
    title[defaultLocale] = id;
    iss.note("settings", `no form_title; the title is "${id}"`);
  }
  const respondent = enumSetting(
    setting("circle_respondent"),
    ["parent", "child", "facilitator"],
    "circle_respondent",
    iss,
  );
  if (setting("circle_respondent") === "")
    iss.note("settings", "no circle_respondent; the questionnaire is answered by the parent");
  const transform = enumSetting(
    setting("circle_transform"),
    ["none", "0-100"],
    "circle_transform",
    iss,
  );
  const minAnswered = numberSetting(setting("circle_min_answered"), "circle_min_answered", iss);
  if (minAnswered !== null && !(minAnswered >= 0 && minAnswered <= 1))
    iss.error("settings: circle_min_answered", `${minAnswered} must be between 0 and 1`);
  const cutoff = numberSetting(setting("circle_cutoff"), "circle_cutoff", iss);

  // ---- choices -------------------------------------------------------------------------------
  const choicesSheet = findSheet(sheets, "choices");
  const ct = choicesSheet ? readTable(choicesSheet, iss, { "list name": "list_name" }) : null;
  const lists = new Map<string, SourceList>();
  if (ct) {
    const seen = new Map<string, number>();
    for (const row of ct.rows) {
      const list = cell(ct, row, "list_name");
      const code = cell(ct, row, "name");
      const where = `choices row ${row.n}${list || code ? ` (${list}/${code})` : ""}`;
      if (list === "" || code === "") {
        iss.error(where, "a choice needs a list_name and a name");
        continue;
      }
      const key = `${list}\u0000${code}`;
      if (seen.has(key)) {
        iss.error(
          where,
          `duplicate choice "${code}" in list "${list}" (also choices row ${seen.get(key)})`,
        );
        continue;
      }
      seen.set(key, row.n);
      let l = lists.get(list);
      if (!l) {
        l = {
          name: list,
          options: [],
          origin: { where: `choices row ${row.n} (${list})`, field: {}, ...vocabulary("label") },
        };
        lists.set(list, l);
      }
      l.options.push({
        code,
        label: localized(ct, row, "label", defaultLocale) ?? {},
        origin: { where, field: { label: "label", value: "name" }, ...vocabulary("label") },
      });
    }
    unusedColumns(ct, CHOICE_COLUMNS, iss);
  }

  // ---- survey --------------------------------------------------------------------------------
  const sv = readTable(surveySheet, iss);
  if (!sv) {
    iss.error(`sheet "${surveySheet.name}"`, "the survey sheet is empty");
    return iss;
  }
  const missing = ["type", "name"].filter((need) => !sv.columns.some((c) => c.base === need));
  for (const need of missing) iss.error(`sheet "${surveySheet.name}"`, `no "${need}" column`);
  if (missing.length > 0) return iss;

  const questions: SourceQuestion[] = [];
  const unusable = new Map<string, string>();
  const names = new Map<string, number>();
  const usedLists = new Set<string>();
  type Frame = {
    kind: "group" | "repeat";
    name: string;
    row: number;
    condition: SourceCondition | null;
  };
  const stack: Frame[] = [];
  let intro: Localized | null = null;
  let introOrigin: Origin | null = null;
  const questionRows: Row[] = [];

  const condition = (src: string, where: string): SourceCondition | null => {
    if (src === "") return null;
    let tree: Node | { error: string };
    try {
      tree = parseLogic(src, "xpath");
    } catch (e) {
      if (!(e instanceof LogicError)) throw e;
      tree = { error: e.message };
    }
    return { source: src, tree, where };
  };

  for (const row of sv.rows) {
    const rawType = cell(sv, row, "type").replace(/\s+/g, " ");
    const name = cell(sv, row, "name");
    const where = `survey row ${row.n}${name ? ` (${name})` : ""}`;
    const [first = "", ...rest] = rawType.split(" ");
    let kw = first
      .toLowerCase()
      .replace(/^begin_/, "begin ")
      .replace(/^end_/, "end ");
    let arg = rest.join(" ");
    if (kw === "select" && /^one\b/i.test(arg))
      [kw, arg] = ["select_one", arg.replace(/^one\s*/i, "")];
    if (kw === "select" && /^multiple\b/i.test(arg))
      [kw, arg] = ["select_multiple", arg.replace(/^multiple\s*/i, "")];
    if (kw === "begin" || kw === "end") {
      kw = `${kw} ${arg.split(" ")[0]?.toLowerCase() ?? ""}`;
      arg = "";
    }
    if (!kw.startsWith("end ") && name !== "") {
      if (names.has(name))
        iss.error(where, `duplicate name "${name}" (also survey row ${names.get(name)})`);
      names.set(name, row.n);
    }
    const inRepeat = stack.find((f) => f.kind === "repeat");

    if (kw === "begin group" || kw === "begin repeat") {
      const kind = kw === "begin group" ? "group" : "repeat";
      stack.push({
        kind,
        name,
        row: row.n,
        condition: condition(cell(sv, row, "relevant"), where),
      });
      if (kind === "repeat")
        iss.skip(
          where,
          `repeat "${name}" is not supported (Circle asks each question once); the questions inside it are not carried over`,
        );
      else if (localized(sv, row, "label", defaultLocale) !== null)
        iss.skip(
          where,
          `the label of group "${name}" is not carried over (Circle has no sections); its questions are kept`,
        );
      continue;
    }
    if (kw === "end group" || kw === "end repeat") {
      const top = stack.pop();
      if (!top || `end ${top.kind}` !== kw)
        iss.error(
          `survey row ${row.n}`,
          `"${rawType}" does not match ${top ? `"begin ${top.kind}" at survey row ${top.row}` : "any begin"}`,
        );
      continue;
    }
    if (kw === "") {
      iss.skip(where, "the row has no type; not carried over");
      if (name) unusable.set(name, "is not carried over");
      continue;
    }
    if (inRepeat) {
      iss.skip(where, `inside repeat "${inRepeat.name}"; not carried over`);
      if (name)
        unusable.set(name, `is inside repeat "${inRepeat.name}", which is not carried over`);
      continue;
    }
    if (kw === "note" && name === INTRO_NAME) {
      intro = localized(sv, row, "label", defaultLocale);
      introOrigin = { where, field: { intro: "label" }, ...vocabulary("label") };
      continue;
    }
    const kind =
      kw === "select_one"
        ? "choice"
        : kw === "integer" || kw === "int" || kw === "decimal"
          ? "number"
          : kw === "text" || kw === "string"
            ? "text"
            : null;
    if (kind === null) {
      iss.skip(where, unsupportedType(kw, rawType));
      if (name) unusable.set(name, `is not carried over (type "${kw}")`);
      continue;
    }
    if (name === "") {
      iss.error(where, `a ${kw} question needs a name`);
      continue;
    }
    questionRows.push(row);
    const origin: Origin = {
      where,
      field: {
        text: "label",
        showIf: "relevant",
        subscale: "circle_subscale",
        reverse: "circle_reverse",
        required: "required",
        min: "constraint",
        max: "constraint",
        scale: "type",
        type: "type",
        hint: "hint",
        id: "name",
      },
      ...vocabulary("label"),
    };
    const q: SourceQuestion = {
      origin,
      name,
      id: null,
      kind,
      text: localized(sv, row, "label", defaultLocale) ?? {},
      hint: localized(sv, row, "hint", defaultLocale),
      list: null,
      min: null,
      max: null,
      required: false,
      subscale: cell(sv, row, "circle_subscale") || null,
      reverse: false,
      conditions: [],
    };
    if (kind === "choice") {
      const [listName = "", ...more] = arg.split(" ");
      if (more.join(" ").toLowerCase() === "or_other")
        iss.skip(where, 'or_other (an "Other" choice with free text) is not carried over');
      else if (more.length > 0) iss.error(where, `cannot read the type "${rawType}"`);
      if (listName === "") iss.error(where, "select_one needs a list name");
      else if (!ct)
        iss.error(where, `select_one names list "${listName}", but the form has no choices sheet`);
      else if (!lists.has(listName))
        iss.error(where, `select_one names list "${listName}", which is not in the choices sheet`);
      else {
        q.list = lists.get(listName)!;
        usedLists.add(listName);
      }
    }
    const constraint = cell(sv, row, "constraint");
    if (kind === "number") {
      const range = constraint === "" ? null : readRange(constraint, kw !== "decimal");
      if (constraint !== "" && range === null)
        iss.skip(
          where,
          `constraint "${constraint}" is not carried over (only ". >= a and . <= b" is understood)`,
        );
      if (range) {
        q.min = range.min;
        q.max = range.max;
        for (const n of range.notes) iss.skip(where, n);
      }
      if (q.min === null || q.max === null)
        iss.error(
          where,
          `a number question needs a range in Circle: add a constraint like ". >= 0 and . <= 10"`,
        );
      else if (kw !== "decimal")
        iss.skip(
          where,
          `${kw}: Circle accepts any number from ${q.min} to ${q.max}, not only whole numbers`,
        );
    } else if (constraint !== "") iss.skip(where, `constraint "${constraint}" is not carried over`);

    const req = cell(sv, row, "required");
    if (YES.test(req)) q.required = true;
    else if (!NO.test(req))
      iss.skip(
        where,
        `required "${req}" (a condition) is not carried over; the question is optional`,
      );
    const rev = cell(sv, row, "circle_reverse");
    if (YES.test(rev)) q.reverse = true;
    else if (!NO.test(rev)) iss.error(where, `circle_reverse "${rev}" must be yes or no`);

    for (const f of stack) if (f.condition) q.conditions.push(f.condition);
    const own = condition(cell(sv, row, "relevant"), where);
    if (own) q.conditions.push(own);
    questions.push(q);
  }
  for (const f of stack)
    iss.error(`survey row ${f.row} (${f.name})`, `"begin ${f.kind}" has no "end ${f.kind}"`);
  unusedColumns(sv, SURVEY_COLUMNS, iss);
  for (const [name, list] of lists)
    if (!usedLists.has(name))
      iss.note(
        list.origin.where,
        `list "${name}" is not used by any question carried over; not carried over`,
      );

  // ---- circle_subscales ----------------------------------------------------------------------
  const subscales: SourceSubscale[] = [];
  const subSheet = findSheet(sheets, "circle_subscales");
  const sub: Table | null = subSheet ? readTable(subSheet, iss) : null;
  if (sub) {
    for (const row of sub.rows) {
      const name = cell(sub, row, "name");
      const where = `circle_subscales row ${row.n}${name ? ` (${name})` : ""}`;
      if (name === "") {
        iss.error(where, "a subscale needs a name");
        continue;
      }
      const c = cell(sub, row, "cutoff");
      const cut = c === "" ? null : Number(c);
      if (cut !== null && !Number.isFinite(cut)) iss.error(where, `cutoff "${c}" is not a number`);
      subscales.push({
        name,
        label: localized(sub, row, "label", defaultLocale),
        cutoff: cut !== null && Number.isFinite(cut) ? cut : null,
        origin: {
          where,
          field: { label: "label", id: "name", cutoff: "cutoff" },
          ...vocabulary("label"),
        },
      });
    }
    unusedColumns(sub, SUBSCALE_COLUMNS, iss);
  }
  for (const s of sheets) {
    const n = s.name.trim().toLowerCase();
    if (
      !["survey", "choices", "settings", "circle_subscales"].includes(n) &&
      s.rows.some((r) => r.cells.some((c) => c.trim() !== ""))
    )
      iss.skip(
        `sheet "${s.name}"`,
        "not carried over (an XLSForm has survey, choices and settings)",
      );
  }

  if (iss.errors.length > 0) return iss;
  return {
    format: "xlsform",
    file: ctx.file,
    id,
    settings: settingsOrigin,
    version,
    title,
    intro,
    introOrigin,
    respondent: (respondent ?? "parent") as SourceForm["respondent"],
    transform: (transform ?? "none") as SourceForm["transform"],
    minAnsweredFraction: minAnswered ?? 0.5,
    cutoff,
    questions,
    subscales,
    unusable,
    syntax: "xpath",
    issues: iss,
  };
}

function unsupportedType(kw: string, raw: string): string {
  if (kw === "select_multiple")
    return `type "${raw}" is not supported (a Circle question takes one answer)`;
  if (kw === "calculate")
    return 'type "calculate" is not carried over (Circle computes scores itself)';
  if (kw === "note")
    return 'type "note" is not carried over (Circle has no information-only questions)';
  if (kw === "range") return 'type "range" (a slider) is not supported';
  if (METADATA.has(kw)) return `metadata "${kw}" is not carried over`;
  return `type "${raw}" is not supported`;
}

function enumSetting(v: string, allowed: string[], col: string, iss: Issues): string | null {
  if (v === "") return null;
  if (allowed.includes(v.toLowerCase())) return v.toLowerCase();
  iss.error(`settings: ${col}`, `"${v}" must be one of ${allowed.join(", ")}`);
  return null;
}

function numberSetting(v: string, col: string, iss: Issues): number | null {
  if (v === "") return null;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  iss.error(`settings: ${col}`, `"${v}" is not a number`);
  return null;
}

/** `. >= 0 and . <= 10` (either order, either side) → the inclusive range; null if not that shape. */
export function readRange(
  src: string,
  integer: boolean,
): { min: number | null; max: number | null; notes: string[] } | null {
  let tree: Node;
  try {
    tree = parseLogic(src, "xpath");
  } catch {
    return null;
  }
  const parts: Node[] = [];
  const flatten = (n: Node) => {
    if (n.t === "bin" && n.op === "and") {
      flatten(n.l);
      flatten(n.r);
    } else parts.push(n);
  };
  flatten(tree);
  let min: number | null = null;
  let max: number | null = null;
  const notes: string[] = [];
  const flip: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };
  for (const p of parts) {
    if (p.t !== "bin") return null;
    let op = p.op;
    let value: Node = p.r;
    if (p.l.t !== "dot") {
      if (p.r.t !== "dot" || !(op in flip)) return null;
      op = flip[op]!;
      value = p.l;
    }
    if (value.t !== "num" || !(op in flip)) return null;
    let v = value.v;
    if (op === ">" || op === "<") {
      if (integer) v = op === ">" ? Math.floor(v) + 1 : Math.ceil(v) - 1;
      else
        notes.push(
          `". ${op} ${value.v}" becomes ". ${op}= ${value.v}" (Circle's ranges include their ends)`,
        );
    }
    if (op.startsWith(">")) min = min === null ? v : Math.max(min, v);
    else max = max === null ? v : Math.min(max, v);
  }
  return { min, max, notes };
}

// ---- writing -----------------------------------------------------------------------------------

export interface WriteResult {
  sheets: { name: string; rows: string[][] }[];
  notes: string[];
}

/** Locales of everything in the instrument: the study's first, then any others. */
export function instrumentLocales(def: InstrumentFile, studyLocales: string[]): string[] {
  const found = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object")
      for (const [k, x] of Object.entries(v)) {
        if (
          ["title", "intro", "label", "text"].includes(k) &&
          x &&
          typeof x === "object" &&
          !Array.isArray(x)
        )
          Object.keys(x).forEach((l) => found.add(l));
        else walk(x);
      }
  };
  walk(def);
  return [
    ...studyLocales.filter((l) => found.has(l)),
    ...[...found].filter((l) => !studyLocales.includes(l)).sort(),
  ];
}

export function writeXlsform(
  def: InstrumentFile,
  model: Instrument,
  study: { locales: string[]; defaultLocale: string },
): WriteResult {
  const notes: string[] = [];
  const locales = instrumentLocales(def, study.locales);
  const labelCols = (base: string) => locales.map((l) => `${base}::${languageLabel(l)}`);
  const texts = (t: Localized | undefined | null) => locales.map((l) => t?.[l] ?? "");
  const kinds = (id: string) => model.items.find((i) => i.id === id)!.type;

  const survey: string[][] = [
    [
      "type",
      "name",
      ...labelCols("label"),
      "required",
      "relevant",
      "constraint",
      "circle_subscale",
      "circle_reverse",
    ],
  ];
  if (def.intro) survey.push(["note", INTRO_NAME, ...texts(def.intro), "", "", "", "", ""]);
  def.items.forEach((it, i) => {
    const m = model.items[i]!;
    const type =
      it.type === "choice"
        ? `select_one ${it.scale ?? def.scale}`
        : it.type === "number"
          ? "decimal"
          : "text";
    const showIf: Expr | null = m.showIf;
    survey.push([
      type,
      it.id,
      ...texts(it.text),
      it.required ? "yes" : "no",
      showIf ? toXpath(showIf, kinds) : "",
      it.type === "number" ? `. >= ${it.min} and . <= ${it.max}` : "",
      it.subscale ?? "",
      it.reverse ? "yes" : "",
    ]);
  });

  const choices: string[][] = [["list_name", "name", ...labelCols("label")]];
  for (const [name, scale] of Object.entries(def.scales)) {
    const values = scale.options.map((o) => o.value);
    if (Math.min(...values) !== scale.min || Math.max(...values) !== scale.max)
      notes.push(
        `scale "${name}": its range ${scale.min}–${scale.max} is wider than its answer codes; XLSForm has no place for it, so an import takes ${Math.min(...values)}–${Math.max(...values)}`,
      );
    for (const o of scale.options) choices.push([name, String(o.value), ...texts(o.label)]);
  }

  const settingsHead = [
    "form_title",
    "form_id",
    "version",
    "default_language",
    ...labelCols("circle_title"),
    "circle_respondent",
    "circle_transform",
    "circle_min_answered",
  ];
  const settingsRow = [
    def.title[study.defaultLocale] ?? Object.values(def.title)[0] ?? def.id,
    def.id,
    String(def.version),
    languageLabel(study.defaultLocale),
    ...texts(def.title),
    def.respondent,
    def.transform,
    String(def.minAnsweredFraction),
  ];
  if (def.cutoff !== undefined) {
    settingsHead.push("circle_cutoff");
    settingsRow.push(String(def.cutoff));
  }
  const sheets = [
    { name: "survey", rows: survey },
    { name: "choices", rows: choices },
    { name: "settings", rows: [settingsHead, settingsRow] },
  ];
  if (def.subscales.length > 0) {
    const withCutoff = def.subscales.some((s) => s.cutoff !== undefined);
    sheets.push({
      name: "circle_subscales",
      rows: [
        ["name", ...labelCols("label"), ...(withCutoff ? ["cutoff"] : [])],
        ...def.subscales.map((s) => [
          s.id,
          ...texts(s.label),
          ...(withCutoff ? [s.cutoff === undefined ? "" : String(s.cutoff)] : []),
        ]),
      ],
    });
  }
  return { sheets, notes };
}

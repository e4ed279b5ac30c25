// REDCap data dictionary (CSV) ↔ Circle. A dictionary has no place for translations, subscales or
// keying, so Circle keeps them in Field Annotation action tags (@CIRCLE-…), which REDCap shows to
// data managers and otherwise ignores.
import type { Instrument } from "../model.js";
import type { InstrumentFile, Localized } from "../schema.js";
import { parseLanguage } from "./languages.js";
import { LogicError, parseLogic, toRedcap, type Node } from "./logic.js";
import {
  Issues,
  type Origin,
  type SourceCondition,
  type SourceForm,
  type SourceList,
  type SourceQuestion,
  type SourceSubscale,
} from "./source.js";
import { cell, readTable, rowList, unusedColumns, type Row, type Sheet } from "./table.js";
import { instrumentLocales } from "./xlsform.js";

/** The dictionary's columns, in REDCap's order, and the short names used here. */
export const REDCAP_COLUMNS: [string, string][] = [
  ["Variable / Field Name", "name"],
  ["Form Name", "form"],
  ["Section Header", "section"],
  ["Field Type", "type"],
  ["Field Label", "label"],
  ["Choices, Calculations, OR Slider Labels", "choices"],
  ["Field Note", "note"],
  ["Text Validation Type OR Show Slider Number", "validation"],
  ["Text Validation Min", "min"],
  ["Text Validation Max", "max"],
  ["Identifier?", "identifier"],
  ["Branching Logic (Show field only if...)", "branching"],
  ["Required Field?", "required"],
  ["Custom Alignment", "alignment"],
  ["Question Number (surveys only)", "number"],
  ["Matrix Group Name", "matrix"],
  ["Matrix Ranking?", "ranking"],
  ["Field Annotation", "annotation"],
];
const ALIASES = Object.fromEntries(REDCAP_COLUMNS.map(([h, k]) => [h.toLowerCase(), k]));
const MAPPED = new Set([
  "name",
  "form",
  "section",
  "type",
  "label",
  "choices",
  "note",
  "validation",
  "min",
  "max",
  "identifier",
  "branching",
  "required",
  "matrix",
  "ranking",
  "annotation",
]);

// ---- action tags -------------------------------------------------------------------------------

export interface Tag {
  /** As written, without the "@". */
  name: string;
  value: string | null;
}

/** `@TAG`, `@TAG=value`, `@TAG="quoted \"value\""`, `@TAG='value'`, `@TAG(args)`. */
export function parseTags(text: string): Tag[] {
  const tags: Tag[] = [];
  const re = /(^|\s)@([A-Za-z][A-Za-z0-9_-]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let i = m.index + m[0].length;
    let value: string | null = null;
    if (text[i] === "=") {
      i++;
      const q = text[i];
      if (q === '"' || q === "'") {
        let out = "";
        i++;
        while (i < text.length && text[i] !== q) {
          if (text[i] === "\\" && i + 1 < text.length) i++;
          out += text[i];
          i++;
        }
        i++;
        value = out;
      } else {
        const end = text.slice(i).search(/\s/);
        value = end < 0 ? text.slice(i) : text.slice(i, i + end);
        i += value.length;
      }
    } else if (text[i] === "(") {
      let depth = 0;
      const start = i;
      for (; i < text.length; i++) {
        if (text[i] === "(") depth++;
        else if (text[i] === ")" && --depth === 0) break;
      }
      value = text.slice(start + 1, i);
      i++;
    }
    tags.push({ name: m[2]!, value });
    re.lastIndex = i;
  }
  return tags;
}

export function quoteTag(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const FIELD_TAGS = [
  "CIRCLE-SUBSCALE",
  "CIRCLE-REVERSE",
  "CIRCLE-SCALE",
  "CIRCLE-ID",
  "CIRCLE-SUBSCALE-CUTOFF",
];
const FORM_TAGS = [
  "CIRCLE-INSTRUMENT",
  "CIRCLE-VERSION",
  "CIRCLE-RESPONDENT",
  "CIRCLE-TRANSFORM",
  "CIRCLE-MIN-ANSWERED",
  "CIRCLE-CUTOFF",
  "CIRCLE-SUBSCALE-ORDER",
];
/** Tags that carry one translation each: @CIRCLE-TEXT-zh="…". Longest prefix first. */
const LOCALE_TAGS = [
  "CIRCLE-SUBSCALE-LABEL",
  "CIRCLE-CHOICES",
  "CIRCLE-TEXT",
  "CIRCLE-NOTE",
  "CIRCLE-TITLE",
  "CIRCLE-INTRO",
];

type CircleTag = { kind: string; locale: string | null; value: string | null };

function circleTag(tag: Tag): CircleTag | { error: string } {
  const upper = tag.name.toUpperCase();
  if (FIELD_TAGS.includes(upper) || FORM_TAGS.includes(upper))
    return { kind: upper, locale: null, value: tag.value };
  for (const prefix of LOCALE_TAGS)
    if (upper.startsWith(`${prefix}-`)) {
      const lang = parseLanguage(tag.name.slice(prefix.length + 1));
      if (!lang.ok) return { error: `@${tag.name}: ${lang.message}` };
      return { kind: prefix, locale: lang.locale, value: tag.value };
    }
  return { error: `unknown Circle tag @${tag.name}` };
}

const BUILTIN: Record<string, [string, Localized][]> = {
  yesno: [
    ["1", { en: "Yes", zh: "是" }],
    ["0", { en: "No", zh: "否" }],
  ],
  truefalse: [
    ["1", { en: "True", zh: "对" }],
    ["0", { en: "False", zh: "错" }],
  ],
};

export interface RedcapContext {
  file: string;
  /** The language of Field Labels and choices (the study's default unless --lang says). */
  defaultLocale: string;
  /** Which form (instrument) to take when the dictionary has several. */
  form?: string | undefined;
}

function parseChoices(src: string): { code: string; label: string }[] | { error: string } {
  const out: { code: string; label: string }[] = [];
  for (const part of src.split(/\s*\|\s*|\r?\n/)) {
    const p = part.trim();
    if (p === "") continue;
    const m = /^([^,]*),\s*([\s\S]*)$/.exec(p);
    if (!m || m[1]!.trim() === "")
      return { error: `choice "${p}" has no code; write it as "1, ${p}"` };
    out.push({ code: m[1]!.trim(), label: m[2]!.trim() });
  }
  return out;
}

const humanize = (form: string) => {
  const s = form.replace(/[_-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
};

export function readRedcap(records: string[][], ctx: RedcapContext): SourceForm | Issues {
  const iss = new Issues();
  const sheet: Sheet = {
    name: "dictionary",
    rows: records.map((cells, i) => ({ n: i + 1, cells })),
  };
  const t = readTable(sheet, iss, ALIASES);
  if (!t) {
    iss.error(ctx.file, "the file is empty");
    return iss;
  }
  const missing = ["name", "form", "type", "label"].filter(
    (k) => !t.columns.some((c) => c.base === k),
  );
  if (missing.length > 0) {
    const names = missing.map((k) => `"${REDCAP_COLUMNS.find(([, x]) => x === k)![0]}"`);
    iss.error(ctx.file, `not a REDCap data dictionary: no ${names.join(", ")} column`);
    return iss;
  }
  const lang = ctx.defaultLocale;
  const get = (row: Row, k: string) => cell(t, row, k);

  // The first field of a REDCap project is its record identifier, not a question.
  const rows = [...t.rows];
  const first = rows[0];
  if (
    first &&
    get(first, "type").toLowerCase() === "text" &&
    /^(record_id|.*_id|id)$/.test(get(first, "name"))
  ) {
    iss.note(
      `row ${first.n} (${get(first, "name")})`,
      "the record identifier is not a question; not carried over",
    );
    rows.shift();
  }

  const forms: string[] = [];
  for (const r of rows) {
    const f = get(r, "form");
    if (f !== "" && !forms.includes(f)) forms.push(f);
  }
  let form = ctx.form;
  if (form === undefined) {
    if (forms.length === 1) form = forms[0]!;
    else {
      iss.error(
        ctx.file,
        forms.length === 0
          ? "the dictionary has no fields"
          : `the dictionary has ${forms.length} forms (${forms.join(", ")}); choose one with --form`,
      );
      return iss;
    }
  } else if (!forms.includes(form)) {
    iss.error(
      ctx.file,
      `no form "${form}" in the dictionary (forms: ${forms.join(", ") || "none"})`,
    );
    return iss;
  }

  const settings: Origin = {
    where: `form "${form}"`,
    field: {
      id: "@CIRCLE-INSTRUMENT",
      version: "@CIRCLE-VERSION",
      title: "@CIRCLE-TITLE",
      respondent: "@CIRCLE-RESPONDENT",
      transform: "@CIRCLE-TRANSFORM",
      minAnsweredFraction: "@CIRCLE-MIN-ANSWERED",
      cutoff: "@CIRCLE-CUTOFF",
    },
    translate: (loc) => `add @CIRCLE-TITLE-${loc}="…" to a Field Annotation`,
  };

  const unusable = new Map<string, string>();
  const names = new Map<string, number>();
  const questions: SourceQuestion[] = [];
  const formTags = new Map<string, { value: string | null; where: string }>();
  const subscaleInfo = new Map<
    string,
    { label: Localized; cutoff: string | null; origin: Origin }
  >();
  const matrices = new Map<string, number[]>();
  const formRows: Row[] = [];
  let intro: Localized | null = null;
  let introOrigin: Origin | null = null;
  let sawQuestion = false;

  for (const row of rows) {
    const name = get(row, "name");
    const where = `row ${row.n}${name ? ` (${name})` : ""}`;
    if (name === "") {
      iss.error(where, "a field needs a Variable / Field Name");
      continue;
    }
    if (names.has(name))
      iss.error(where, `duplicate variable "${name}" (also row ${names.get(name)})`);
    names.set(name, row.n);
    const f = get(row, "form");
    if (f !== form) {
      unusable.set(
        name,
        `is in form "${f}"; Circle skip logic can only use earlier questions of the same instrument`,
      );
      continue;
    }
    formRows.push(row);

    // Tags first: they may rename the field or carry form-level settings.
    const tags = new Map<string, CircleTag>();
    const locTags = new Map<string, Map<string, string>>();
    const foreign: string[] = [];
    for (const tag of parseTags(get(row, "annotation"))) {
      if (!/^CIRCLE-/i.test(tag.name)) {
        foreign.push(`@${tag.name}`);
        continue;
      }
      const ct = circleTag(tag);
      if ("error" in ct) {
        iss.error(where, ct.error);
        continue;
      }
      if (ct.locale !== null) {
        if (ct.value === null) {
          iss.error(where, `@${tag.name} needs a value: @${tag.name}="…"`);
          continue;
        }
        const m = locTags.get(ct.kind) ?? new Map<string, string>();
        m.set(ct.locale, ct.value);
        locTags.set(ct.kind, m);
        if (ct.kind === "CIRCLE-TITLE" || ct.kind === "CIRCLE-INTRO") {
          const key = `${ct.kind}-${ct.locale}`;
          const prior = formTags.get(key);
          if (prior && prior.value !== ct.value)
            iss.error(where, `@${tag.name} differs from ${prior.where}`);
          formTags.set(key, { value: ct.value, where });
        }
        continue;
      }
      if (FORM_TAGS.includes(ct.kind)) {
        const prior = formTags.get(ct.kind);
        if (prior && prior.value !== ct.value)
          iss.error(where, `@${ct.kind} differs from ${prior.where}`);
        formTags.set(ct.kind, { value: ct.value, where });
      } else tags.set(ct.kind, ct);
    }
    if (foreign.length > 0)
      iss.skip(
        where,
        `action tag${foreign.length > 1 ? "s" : ""} ${foreign.join(", ")} not carried over`,
      );

    const type = get(row, "type").toLowerCase();
    const validation = get(row, "validation").toLowerCase();
    let kind: SourceQuestion["kind"] | null = null;
    let why = "";
    if (type === "radio" || type === "dropdown" || type === "yesno" || type === "truefalse")
      kind = "choice";
    else if (type === "notes") kind = "text";
    else if (type === "text") {
      if (validation === "") kind = "text";
      else if (validation === "integer" || /^number(_\d+dp)?(_comma_decimal)?$/.test(validation))
        kind = "number";
      else {
        kind = "text";
        iss.skip(
          where,
          `text validation "${validation}" is not carried over; the answer is free text`,
        );
      }
    } else if (type === "calc")
      why = "calculated field (calc) is not carried over (Circle computes scores itself)";
    else if (type === "descriptive")
      why = "descriptive text is not carried over (Circle has no information-only questions)";
    else if (type === "checkbox")
      why = "checkbox (several answers) is not supported: a Circle question takes one answer";
    else if (type === "slider") why = "slider is not supported";
    else if (type === "file")
      why = `file upload${validation === "signature" ? " (signature)" : ""} is not supported`;
    else why = `field type "${type}" is not supported`;

    const section = get(row, "section");
    if (section !== "") {
      if (!sawQuestion && intro === null) {
        intro = { [lang]: section };
        introOrigin = {
          where,
          field: { intro: "Section Header" },
          translate: (loc) => `add @CIRCLE-INTRO-${loc}="…" to a Field Annotation`,
        };
      } else
        iss.skip(where, `Section Header "${section}" is not carried over (Circle has no sections)`);
    }
    const matrix = get(row, "matrix");
    if (matrix !== "") matrices.set(matrix, [...(matrices.get(matrix) ?? []), row.n]);

    if (kind === null) {
      iss.skip(where, why);
      unusable.set(name, `is not carried over (field type "${type}")`);
      continue;
    }
    sawQuestion = true;
    const origin: Origin = {
      where,
      field: {
        text: "Field Label",
        showIf: "Branching Logic",
        subscale: "@CIRCLE-SUBSCALE",
        reverse: "@CIRCLE-REVERSE",
        required: "Required Field?",
        min: "Text Validation Min",
        max: "Text Validation Max",
        hint: "Field Note",
        id: "Variable / Field Name",
      },
      translate: (loc) => `add @CIRCLE-TEXT-${loc}="…" to its Field Annotation`,
    };
    const text: Localized = {};
    const label = get(row, "label");
    if (label !== "") text[lang] = label;
    for (const [loc, v] of locTags.get("CIRCLE-TEXT") ?? []) if (loc !== lang) text[loc] = v;
    const noteText = get(row, "note");
    const hint: Localized = noteText !== "" ? { [lang]: noteText } : {};
    for (const [loc, v] of locTags.get("CIRCLE-NOTE") ?? []) if (loc !== lang) hint[loc] = v;

    const idTag = tags.get("CIRCLE-ID")?.value ?? null;
    const q: SourceQuestion = {
      origin,
      name,
      id: idTag,
      kind,
      text,
      hint: Object.keys(hint).length > 0 ? hint : null,
      list: null,
      min: null,
      max: null,
      required: /^(y|yes|1)$/i.test(get(row, "required")),
      subscale: null,
      reverse: tags.has("CIRCLE-REVERSE"),
      conditions: [],
    };
    const sub = tags.get("CIRCLE-SUBSCALE");
    if (sub) {
      if (!sub.value) iss.error(where, "@CIRCLE-SUBSCALE needs a value: @CIRCLE-SUBSCALE=name");
      else {
        q.subscale = sub.value;
        const info = subscaleInfo.get(sub.value) ?? {
          label: {},
          cutoff: null,
          origin: {
            where,
            field: { label: "@CIRCLE-SUBSCALE-LABEL", cutoff: "@CIRCLE-SUBSCALE-CUTOFF" },
            translate: (loc: string) =>
              `add @CIRCLE-SUBSCALE-LABEL-${loc}="…" to a field of subscale "${sub.value}"`,
          },
        };
        for (const [loc, v] of locTags.get("CIRCLE-SUBSCALE-LABEL") ?? []) {
          if (info.label[loc] !== undefined && info.label[loc] !== v)
            iss.error(
              where,
              `@CIRCLE-SUBSCALE-LABEL-${loc} differs from an earlier field of subscale "${sub.value}"`,
            );
          info.label[loc] = v;
        }
        const cut = tags.get("CIRCLE-SUBSCALE-CUTOFF")?.value;
        if (cut !== undefined && cut !== null) info.cutoff = cut;
        subscaleInfo.set(sub.value, info);
      }
    } else if (locTags.has("CIRCLE-SUBSCALE-LABEL"))
      iss.error(where, "@CIRCLE-SUBSCALE-LABEL needs @CIRCLE-SUBSCALE on the same field");

    if (kind === "choice") q.list = choiceList(row, where, type, tags, locTags, get, lang, iss);
    if (kind === "number") {
      const num = (k: "min" | "max") => {
        const v = get(row, k);
        if (v === "") return null;
        const n = Number(v);
        if (!Number.isFinite(n))
          iss.error(where, `Text Validation ${k === "min" ? "Min" : "Max"} "${v}" is not a number`);
        return Number.isFinite(n) ? n : null;
      };
      q.min = num("min");
      q.max = num("max");
      if (q.min === null || q.max === null)
        iss.error(
          where,
          "a number question needs a range in Circle: fill in Text Validation Min and Max",
        );
      else if (validation === "integer")
        iss.skip(
          where,
          `integer: Circle accepts any number from ${q.min} to ${q.max}, not only whole numbers`,
        );
    }
    if (/^y/i.test(get(row, "identifier")))
      iss.skip(
        where,
        "Identifier? is not carried over: Circle has no identifier fields and exports answers under pseudonymous codes, so do not ask for names or contact details",
      );
    const branching = get(row, "branching");
    if (branching !== "") q.conditions.push(condition(branching, where));
    questions.push(q);
  }
  for (const [m, ns] of matrices)
    iss.skip(
      `matrix group "${m}"`,
      `the grid layout is not carried over; its fields (rows ${rowList(ns)}) become separate questions`,
    );
  unusedColumns(t, MAPPED, iss, formRows);

  // ---- form-level tags -----------------------------------------------------------------------
  const tag = (k: string) => formTags.get(k)?.value ?? null;
  const id = tag("CIRCLE-INSTRUMENT") ?? form;
  let version = 1;
  const v = tag("CIRCLE-VERSION");
  if (v === null) iss.note(settings.where, "no @CIRCLE-VERSION; version 1 is used");
  else if (/^\d+$/.test(v) && Number(v) >= 1) version = Number(v);
  else iss.error(settings.where, `@CIRCLE-VERSION "${v}" is not a whole number from 1`);
  const title: Localized = {};
  const intros: Localized = { ...(intro ?? {}) };
  for (const [k, x] of formTags) {
    const m = /^CIRCLE-(TITLE|INTRO)-(.+)$/.exec(k);
    if (!m || x.value === null) continue;
    if (m[1] === "TITLE") title[m[2]!] = x.value;
    else if (m[2] !== lang || intros[lang] === undefined) intros[m[2]!] = x.value;
  }
  if (title[lang] === undefined) {
    title[lang] = humanize(form);
    iss.note(
      settings.where,
      `no @CIRCLE-TITLE-${lang}; the title is "${title[lang]}" (from the form name)`,
    );
  }
  const pick = <T extends string>(k: string, allowed: T[], dflt: T): T => {
    const x = tag(k);
    if (x === null) return dflt;
    if ((allowed as string[]).includes(x.toLowerCase())) return x.toLowerCase() as T;
    iss.error(settings.where, `@${k} "${x}" must be one of ${allowed.join(", ")}`);
    return dflt;
  };
  const respondent = pick("CIRCLE-RESPONDENT", ["parent", "child", "facilitator"], "parent");
  if (tag("CIRCLE-RESPONDENT") === null)
    iss.note(settings.where, "no @CIRCLE-RESPONDENT; the questionnaire is answered by the parent");
  const transform = pick("CIRCLE-TRANSFORM", ["none", "0-100"], "none");
  const numTag = (k: string) => {
    const x = tag(k);
    if (x === null) return null;
    const n = Number(x);
    if (!Number.isFinite(n)) iss.error(settings.where, `@${k} "${x}" is not a number`);
    return Number.isFinite(n) ? n : null;
  };
  const minAnswered = numTag("CIRCLE-MIN-ANSWERED");
  if (minAnswered !== null && !(minAnswered >= 0 && minAnswered <= 1))
    iss.error(settings.where, `@CIRCLE-MIN-ANSWERED ${minAnswered} must be between 0 and 1`);

  // ---- subscales: @CIRCLE-SUBSCALE-ORDER first, then in order of first use -------------------
  const order = (tag("CIRCLE-SUBSCALE-ORDER") ?? "").split(/[\s,]+/).filter((s) => s !== "");
  for (const s of subscaleInfo.keys()) if (!order.includes(s)) order.push(s);
  const subscales: SourceSubscale[] = order.map((name) => {
    const info = subscaleInfo.get(name);
    const cut = info?.cutoff ?? null;
    const cutoff = cut === null ? null : Number(cut);
    if (cutoff !== null && !Number.isFinite(cutoff))
      iss.error(info!.origin.where, `@CIRCLE-SUBSCALE-CUTOFF "${cut}" is not a number`);
    return {
      name,
      label: info && Object.keys(info.label).length > 0 ? info.label : null,
      cutoff: cutoff !== null && Number.isFinite(cutoff) ? cutoff : null,
      origin: info?.origin ?? { ...settings, field: { label: "@CIRCLE-SUBSCALE-LABEL" } },
    };
  });

  if (iss.errors.length > 0) return iss;
  return {
    format: "redcap",
    file: ctx.file,
    id,
    settings,
    version,
    title,
    intro: Object.keys(intros).length > 0 ? intros : null,
    introOrigin: introOrigin ?? {
      ...settings,
      field: { intro: "@CIRCLE-INTRO" },
      translate: (loc) => `add @CIRCLE-INTRO-${loc}="…" to a Field Annotation`,
    },
    respondent,
    transform,
    minAnsweredFraction: minAnswered ?? 0.5,
    cutoff: numTag("CIRCLE-CUTOFF"),
    questions,
    subscales,
    unusable,
    syntax: "redcap",
    issues: iss,
  };
}

function condition(src: string, where: string): SourceCondition {
  let tree: Node | { error: string };
  try {
    tree = parseLogic(src, "redcap");
  } catch (e) {
    if (!(e instanceof LogicError)) throw e;
    tree = { error: e.message };
  }
  return { source: src, tree, where };
}

function choiceList(
  row: Row,
  where: string,
  type: string,
  tags: Map<string, CircleTag>,
  locTags: Map<string, Map<string, string>>,
  get: (row: Row, k: string) => string,
  lang: string,
  iss: Issues,
): SourceList | null {
  let base: { code: string; label: Localized }[];
  const builtin = BUILTIN[type];
  if (builtin) {
    base = builtin.map(([code, label]) => ({ code, label: { ...label } }));
    iss.note(
      where,
      `${type} becomes a choice of ${builtin.map(([c, l]) => `${c} = ${l.en}`).join(" and ")}`,
    );
  } else {
    const parsed = parseChoices(get(row, "choices"));
    if ("error" in parsed) {
      iss.error(where, parsed.error);
      return null;
    }
    base = parsed.map((c) => ({ code: c.code, label: c.label !== "" ? { [lang]: c.label } : {} }));
  }
  for (const [loc, src] of locTags.get("CIRCLE-CHOICES") ?? []) {
    const tr = parseChoices(src);
    if ("error" in tr) {
      iss.error(where, `@CIRCLE-CHOICES-${loc}: ${tr.error}`);
      continue;
    }
    const codes = base.map((b) => b.code).join(", ");
    if (tr.map((c) => c.code).join(", ") !== codes) {
      iss.error(
        where,
        `@CIRCLE-CHOICES-${loc} must list the same codes in the same order (${codes})`,
      );
      continue;
    }
    tr.forEach((c, i) => (base[i]!.label[loc] = c.label));
  }
  const translate = (loc: string) =>
    `add @CIRCLE-CHOICES-${loc}="1, … | 2, …" to the field's Field Annotation`;
  return {
    name: tags.get("CIRCLE-SCALE")?.value ?? null,
    origin: { where, field: {}, translate },
    options: base.map((b) => ({
      code: b.code,
      label: b.label,
      origin: {
        where: `${where} choice "${b.code}"`,
        field: { label: "label", value: "code" },
        translate,
      },
    })),
  };
}

// ---- writing -----------------------------------------------------------------------------------

export interface RedcapWrite {
  rows: string[][];
  notes: string[];
  errors: string[];
}

const variable = (id: string) => id.replace(/-/g, "_");

export function writeRedcap(
  def: InstrumentFile,
  model: Instrument,
  study: { locales: string[]; defaultLocale: string },
): RedcapWrite {
  const notes: string[] = [];
  const errors: string[] = [];
  const lang = study.defaultLocale;
  const others = instrumentLocales(def, study.locales).filter((l) => l !== lang);
  const form = variable(def.id);
  const text = (t: Localized) => t[lang] ?? Object.values(t)[0] ?? "";
  const kinds = (id: string) => model.items.find((i) => i.id === id)!.type;
  const seen = new Map<string, string>();
  for (const it of def.items) {
    const v = variable(it.id);
    if (seen.has(v))
      errors.push(`items "${seen.get(v)}" and "${it.id}" would both be the REDCap variable "${v}"`);
    seen.set(v, it.id);
  }
  const choiceText = (labels: { value: number; label: Localized }[], loc: string, where: string) =>
    labels
      .map((o) => {
        const l = o.label[loc] ?? "";
        if (/[|\n]/.test(l))
          errors.push(
            `${where}: the answer label "${l}" contains "|" or a line break, which REDCap uses between choices`,
          );
        return `${o.value}, ${l}`;
      })
      .join(" | ");

  const head = REDCAP_COLUMNS.map(([h]) => h);
  const blankRow = () => head.map(() => "");
  const col = (k: string) => REDCAP_COLUMNS.findIndex(([, x]) => x === k);
  const rows: string[][] = [head];
  const rec = blankRow();
  rec[col("name")] = "record_id";
  rec[col("form")] = form;
  rec[col("type")] = "text";
  rec[col("label")] = "Record ID";
  rows.push(rec);

  // Subscales in the order they first appear; @CIRCLE-SUBSCALE-ORDER only when that differs.
  const firstUse = [...new Set(def.items.map((i) => i.subscale).filter((s): s is string => !!s))];
  const declared = def.subscales.map((s) => s.id);
  const labelled = new Set<string>();

  def.items.forEach((it, i) => {
    const m = model.items[i]!;
    const r = blankRow();
    const tags: string[] = [];
    r[col("name")] = variable(it.id);
    r[col("form")] = form;
    if (variable(it.id) !== it.id) {
      tags.push(`@CIRCLE-ID=${it.id}`);
      notes.push(
        `item "${it.id}" is the REDCap variable "${variable(it.id)}" (REDCap names use _ only)`,
      );
    }
    if (i === 0) {
      tags.push(
        `@CIRCLE-INSTRUMENT=${def.id}`,
        `@CIRCLE-VERSION=${def.version}`,
        `@CIRCLE-RESPONDENT=${def.respondent}`,
      );
      tags.push(
        `@CIRCLE-TRANSFORM=${def.transform}`,
        `@CIRCLE-MIN-ANSWERED=${def.minAnsweredFraction}`,
      );
      if (def.cutoff !== undefined) tags.push(`@CIRCLE-CUTOFF=${def.cutoff}`);
      for (const loc of [lang, ...others])
        if (def.title[loc] !== undefined)
          tags.push(`@CIRCLE-TITLE-${loc}=${quoteTag(def.title[loc])}`);
      if (def.intro) {
        r[col("section")] = text(def.intro);
        for (const loc of others)
          if (def.intro[loc] !== undefined)
            tags.push(`@CIRCLE-INTRO-${loc}=${quoteTag(def.intro[loc])}`);
      }
      if (declared.join(",") !== firstUse.join(","))
        tags.push(`@CIRCLE-SUBSCALE-ORDER=${quoteTag(declared.join(","))}`);
    }
    r[col("label")] = text(it.text);
    for (const loc of others)
      if (it.text[loc] !== undefined) tags.push(`@CIRCLE-TEXT-${loc}=${quoteTag(it.text[loc])}`);
    if (it.type === "choice") {
      const scale = it.scale ?? def.scale!;
      r[col("type")] = "radio";
      r[col("choices")] = choiceText(def.scales[scale]!.options, lang, `scale "${scale}"`);
      tags.push(`@CIRCLE-SCALE=${scale}`);
      for (const loc of others)
        tags.push(
          `@CIRCLE-CHOICES-${loc}=${quoteTag(choiceText(def.scales[scale]!.options, loc, `scale "${scale}"`))}`,
        );
    } else if (it.type === "number") {
      r[col("type")] = "text";
      r[col("validation")] = "number";
      r[col("min")] = String(it.min);
      r[col("max")] = String(it.max);
    } else r[col("type")] = "notes";
    if (it.subscale) {
      tags.push(`@CIRCLE-SUBSCALE=${it.subscale}`);
      if (!labelled.has(it.subscale)) {
        labelled.add(it.subscale);
        const s = def.subscales.find((x) => x.id === it.subscale)!;
        for (const loc of [lang, ...others])
          if (s.label[loc] !== undefined)
            tags.push(`@CIRCLE-SUBSCALE-LABEL-${loc}=${quoteTag(s.label[loc])}`);
        if (s.cutoff !== undefined) tags.push(`@CIRCLE-SUBSCALE-CUTOFF=${s.cutoff}`);
      }
    }
    if (it.reverse) tags.push("@CIRCLE-REVERSE");
    r[col("required")] = it.required ? "y" : "";
    if (m.showIf) r[col("branching")] = toRedcap(m.showIf, kinds, variable);
    r[col("annotation")] = tags.join(" ");
    rows.push(r);
  });
  return { rows, notes, errors: [...new Set(errors)] };
}

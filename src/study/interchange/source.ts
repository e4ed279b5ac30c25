// What the XLSForm and REDCap readers hand to the instrument builder: the form in neutral terms,
// each piece with the place it came from ("survey row 7 (q1)"), so every message can point there.
import type { Localized } from "../schema.js";
import type { Node } from "./logic.js";

export type Format = "xlsform" | "redcap";

/** One line of the import/export report: where in the source, and what. */
export interface Issue {
  where: string;
  message: string;
}

export const issueLine = (i: Issue) => `${i.where}: ${i.message}`;

/** Sheet order for listing: the file itself, settings, then the rows of each sheet in order. */
const RANK = [
  "settings",
  "form",
  "survey",
  "row",
  "matrix",
  "dictionary",
  "choices",
  "circle_subscales",
];

function sortKey(where: string): [number, number] {
  const m = /^(?:(\w+) )?row (\d+)/.exec(where);
  if (m) return [RANK.indexOf(m[1] ?? "row"), Number(m[2])];
  const r = RANK.indexOf(where.split(/[\s:]/)[0]!);
  return [
    r === RANK.indexOf("matrix") || r === RANK.indexOf("dictionary") ? RANK.indexOf("row") : r,
    Infinity,
  ];
}

/** Issues in the order of the spreadsheet (stable within one place). */
export function sorted(list: Issue[]): Issue[] {
  return list
    .map((issue, i) => ({ issue, i, k: sortKey(issue.where) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.i - b.i)
    .map((x) => x.issue);
}

export class Issues {
  /** Stop the import: nothing is written. */
  readonly errors: Issue[] = [];
  /** Content that exists in the source but is not in the Circle instrument. */
  readonly notCarried: Issue[] = [];
  /** Changes made on the way that lose nothing (renames, merged hints…). */
  readonly notes: Issue[] = [];
  error(where: string, message: string) {
    this.errors.push({ where, message });
  }
  skip(where: string, message: string) {
    this.notCarried.push({ where, message });
  }
  note(where: string, message: string) {
    this.notes.push({ where, message });
  }
}

/** Source-format names for Circle's fields, used to phrase the loader's messages. */
export interface Vocabulary {
  /** Circle field (text, showIf, subscale, reverse, label, …) → the source's column or tag. */
  field: Record<string, string>;
  /** How to add a missing translation, e.g. `fill in the "label::Chinese (zh)" column`. */
  translate(locale: string): string;
}

export interface Origin extends Vocabulary {
  where: string;
}

export interface SourceOption {
  /** The code as written (XLSForm choice name, REDCap choice code). */
  code: string;
  label: Localized;
  origin: Origin;
}

export interface SourceList {
  /** XLSForm list_name or REDCap @CIRCLE-SCALE; null: name it after its content. */
  name: string | null;
  options: SourceOption[];
  origin: Origin;
}

export interface SourceCondition {
  /** The expression as written, for messages. */
  source: string;
  /** Parsed tree, or the parse error. */
  tree: Node | { error: string };
  /** Where the condition is written (the question itself or an enclosing group). */
  where: string;
}

export interface SourceQuestion {
  origin: Origin;
  /** The name in the source (XLSForm name, REDCap variable). */
  name: string;
  /** A Circle id given explicitly (REDCap @CIRCLE-ID), else derived from `name`. */
  id: string | null;
  kind: "choice" | "number" | "text";
  text: Localized;
  /** XLSForm hint / REDCap field note: merged into the text (Circle shows one text). */
  hint: Localized | null;
  list: SourceList | null;
  min: number | null;
  max: number | null;
  required: boolean;
  subscale: string | null;
  reverse: boolean;
  /** All must hold (a group's relevant and the question's own). */
  conditions: SourceCondition[];
}

export interface SourceSubscale {
  name: string;
  label: Localized | null;
  cutoff: number | null;
  origin: Origin;
}

export interface SourceForm {
  format: Format;
  /** The file's name, for the YAML header. */
  file: string;
  id: string;
  /** Where form-level settings live ("settings", "Field Annotation tags"). */
  settings: Origin;
  version: number;
  title: Localized;
  intro: Localized | null;
  introOrigin: Origin | null;
  respondent: "parent" | "child" | "facilitator";
  transform: "none" | "0-100";
  minAnsweredFraction: number;
  cutoff: number | null;
  questions: SourceQuestion[];
  /** Declared subscales, in order (XLSForm circle_subscales sheet, REDCap tags). */
  subscales: SourceSubscale[];
  /** Names that exist in the source but are not carried over, with why (for skip logic). */
  unusable: Map<string, string>;
  /** The syntax of conditions. */
  syntax: "xpath" | "redcap";
  issues: Issues;
}

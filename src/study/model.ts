// The validated, resolved form of the flow files that the rest of Circle works with.
import type { Expr } from "./expr.js";
import type { Localized, StudyFile } from "./schema.js";

export type { Localized };
export type Respondent = "parent" | "child" | "facilitator";

export interface Option {
  value: number;
  label: Localized;
}

export interface Item {
  id: string;
  type: "choice" | "number" | "text";
  /** Numeric answer range (null for text items). */
  min: number | null;
  max: number | null;
  reverse: boolean;
  subscale: string | null;
  required: boolean;
  text: Localized;
  options: Option[];
  showIf: Expr | null;
  showIfSource: string | null;
}

export interface Subscale {
  id: string;
  label: Localized;
  items: string[];
  /** Baseline needs-assessment cut-off (score at or below = needs attention), if declared. */
  cutoff?: number;
}

export interface Instrument {
  id: string;
  version: number;
  /** sha256 of the instrument's canonical content; stored with every response. */
  hash: string;
  title: Localized;
  intro: Localized | null;
  respondent: Respondent;
  transform: "none" | "0-100";
  minAnsweredFraction: number;
  subscales: Subscale[];
  /** Cut-off for the total score, if declared (see Subscale.cutoff). */
  cutoff?: number;
  items: Item[];
  /** Where it was loaded from (for messages). */
  file: string;
}

export type Study = StudyFile;

export interface LoadedFlows {
  study: Study;
  instruments: Map<string, Instrument>;
  /** Instruments in load order (shipped first, then extra folder), sorted by id within each. */
  instrumentList: Instrument[];
}

/** Picks the text in the wanted locale, falling back to the study default, then any. */
export function t(text: Localized, locale: string, fallback = "en"): string {
  return text[locale] ?? text[fallback] ?? Object.values(text)[0] ?? "";
}

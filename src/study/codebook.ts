// The codebook: every instrument's items, answer codes and subscales, in the shape researchers'
// scripts read (JSON, a contract) and as a flat CSV with one row per item. The export reuses both.
import { stringify } from "csv-stringify/sync";
import type { Instrument, LoadedFlows, Localized } from "./model.js";
import { t } from "./model.js";

export interface CodebookOption {
  value: number;
  label: Localized;
}

export interface CodebookItem {
  id: string;
  type: "choice" | "number" | "text";
  min: number | null;
  max: number | null;
  reverse: boolean;
  subscale: string | null;
  required: boolean;
  text: Localized;
  options: CodebookOption[];
}

export interface CodebookSubscale {
  id: string;
  label: Localized;
  items: string[];
}

export interface CodebookInstrument {
  id: string;
  version: number;
  hash: string;
  title: Localized;
  respondent: Instrument["respondent"];
  transform: "none" | "0-100";
  minAnsweredFraction: number;
  items: CodebookItem[];
  subscales: CodebookSubscale[];
}

export interface Codebook {
  instruments: CodebookInstrument[];
}

/** Builds fresh objects in the contract's key order, so nothing internal (showIf, file) leaks. */
function instrumentEntry(ins: Instrument): CodebookInstrument {
  return {
    id: ins.id,
    version: ins.version,
    hash: ins.hash,
    title: { ...ins.title },
    respondent: ins.respondent,
    transform: ins.transform,
    minAnsweredFraction: ins.minAnsweredFraction,
    items: ins.items.map((it) => ({
      id: it.id,
      type: it.type,
      min: it.min,
      max: it.max,
      reverse: it.reverse,
      subscale: it.subscale,
      required: it.required,
      text: { ...it.text },
      options: it.options.map((o) => ({ value: o.value, label: { ...o.label } })),
    })),
    subscales: ins.subscales.map((s) => ({ id: s.id, label: { ...s.label }, items: [...s.items] })),
  };
}

export function codebookJson(flows: LoadedFlows): Codebook {
  return { instruments: flows.instrumentList.map(instrumentEntry) };
}

export interface CodebookCsvOptions {
  /** Locale of the option labels; default: the study's defaultLocale. */
  locale?: string;
}

/** The CSV header for the given study locales (text_<locale> per locale). */
export function codebookCsvHeader(locales: readonly string[]): string[] {
  return [
    "instrument",
    "version",
    "hash",
    "item",
    "type",
    "min",
    "max",
    "reverse",
    "subscale",
    "required",
    ...locales.map((l) => `text_${l}`),
    "options",
  ];
}

export function codebookCsv(flows: LoadedFlows, opts: CodebookCsvOptions = {}): string {
  const locales = flows.study.locales;
  const locale = opts.locale ?? flows.study.defaultLocale;
  const rows: (string | number)[][] = [codebookCsvHeader(locales)];
  for (const ins of flows.instrumentList) {
    for (const it of ins.items) {
      rows.push([
        ins.id,
        ins.version,
        ins.hash,
        it.id,
        it.type,
        it.min ?? "",
        it.max ?? "",
        String(it.reverse),
        it.subscale ?? "",
        String(it.required),
        ...locales.map((l) => it.text[l] ?? ""),
        it.options
          .map((o) => `${o.value}=${t(o.label, locale, flows.study.defaultLocale)}`)
          .join("; "),
      ]);
    }
  }
  return stringify(rows);
}

/** A short human summary: one block per instrument with its subscales and item counts. */
export function codebookSummary(flows: LoadedFlows, locale = flows.study.defaultLocale): string {
  const lines: string[] = [];
  for (const ins of flows.instrumentList) {
    const unscored = ins.items.filter((it) => it.subscale === null).length;
    lines.push(
      `${ins.id} v${ins.version} (${ins.respondent}, ${ins.items.length} items, transform ${ins.transform}, hash ${ins.hash.slice(0, 12)})`,
      `  ${t(ins.title, locale)}`,
    );
    for (const s of ins.subscales) lines.push(`  - ${s.id}: ${s.items.length} item(s)`);
    if (unscored > 0) lines.push(`  - (unscored): ${unscored} item(s)`);
  }
  const items = flows.instrumentList.reduce((n, i) => n + i.items.length, 0);
  lines.push(`${flows.instrumentList.length} instruments, ${items} items`);
  return lines.join("\n");
}

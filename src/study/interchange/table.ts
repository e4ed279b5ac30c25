// A spreadsheet as plain text cells, with the row numbers a researcher sees in Excel, and the
// header handling both formats share.
import type { Localized } from "../schema.js";
import { parseLanguage } from "./languages.js";
import type { Issues } from "./source.js";

export interface Row {
  /** 1-based, as the spreadsheet shows it. */
  n: number;
  cells: string[];
}

export interface Sheet {
  name: string;
  rows: Row[];
}

export interface Column {
  index: number;
  header: string;
  /** Lowercased name before "::" (label, hint, circle_title …). */
  base: string;
  /** The language after "::", or null for an untranslated column. */
  locale: string | null;
}

export interface Table {
  sheet: string;
  headerRow: number;
  columns: Column[];
  rows: Row[];
}

const blank = (r: Row) => r.cells.every((c) => c.trim() === "");

/** The first non-blank row is the header; the rest are data rows (blank ones dropped). */
export function readTable(
  sheet: Sheet,
  iss: Issues,
  aliases: Record<string, string> = {},
): Table | null {
  const first = sheet.rows.findIndex((r) => !blank(r));
  if (first < 0) return null;
  const head = sheet.rows[first]!;
  const columns: Column[] = [];
  head.cells.forEach((h, index) => {
    const header = h.trim();
    if (header === "") return;
    const [base, ...rest] = header.split("::");
    let locale: string | null = null;
    if (rest.length > 0) {
      const lang = parseLanguage(rest.join("::"));
      if (!lang.ok) {
        iss.error(`${sheet.name} column "${header}"`, lang.message);
        return;
      }
      locale = lang.locale;
    }
    const b = base!.trim().toLowerCase();
    columns.push({ index, header, base: aliases[b] ?? b, locale });
  });
  return {
    sheet: sheet.name,
    headerRow: head.n,
    columns,
    rows: sheet.rows.slice(first + 1).filter((r) => !blank(r)),
  };
}

export function has(t: Table, base: string): boolean {
  return t.columns.some((c) => c.base === base);
}

/** The untranslated cell of a column (trimmed), "" when absent. */
export function cell(t: Table, row: Row, base: string): string {
  const col = t.columns.find((c) => c.base === base && c.locale === null);
  return col ? (row.cells[col.index] ?? "").trim() : "";
}

/** A translated text: every `base::lang` column, and a plain `base` column as `defaultLocale`. */
export function localized(
  t: Table,
  row: Row,
  base: string,
  defaultLocale: string,
): Localized | null {
  const out: Localized = {};
  for (const c of t.columns) {
    if (c.base !== base) continue;
    const v = (row.cells[c.index] ?? "").trim();
    if (v === "") continue;
    const loc = c.locale ?? defaultLocale;
    // An explicit `label::English (en)` wins over a plain `label` read as English.
    if (c.locale === null && out[loc] !== undefined) continue;
    out[loc] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * Columns that are not part of the mapping but hold something: listed once each, with their rows,
 * so nothing disappears unmentioned.
 */
export function unusedColumns(
  t: Table,
  known: ReadonlySet<string>,
  iss: Issues,
  rows: Row[] = t.rows,
): void {
  for (const c of t.columns) {
    if (known.has(c.base)) continue;
    const used = rows.filter((r) => (r.cells[c.index] ?? "").trim() !== "").map((r) => r.n);
    if (used.length === 0) continue;
    iss.skip(
      `${t.sheet} column "${c.header}"`,
      `not carried over (${used.length === 1 ? "row" : "rows"} ${rowList(used)})`,
    );
  }
}

export function rowList(rows: number[]): string {
  if (rows.length <= 8) return rows.join(", ");
  return `${rows.slice(0, 8).join(", ")} and ${rows.length - 8} more`;
}

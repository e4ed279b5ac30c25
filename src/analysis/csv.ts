// CSV conventions shared by the export and the import.
//
// Written files: UTF-8 without a byte-order mark, comma-separated, "..." quoting only where needed
// (RFC 4180, inner quotes doubled), LF line ends (as the codebook CSV), a header row, "." as the decimal mark, ISO 8601 UTC times, empty
// cells for missing values and 1/0 for yes/no. R reads them with `read.csv(f, encoding = "UTF-8")`
// (add `check.names = FALSE` to keep column names such as "qol-proxy.physical.pre" verbatim) and
// SPSS with GET DATA /TYPE=TXT /ENCODING='UTF8' /DELIMITERS="," /QUALIFIER='"' /FIRSTCASE=2. A BOM
// is left out on purpose: R's read.csv would glue it onto the first column name.
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";

export type Cell = string | number | boolean | null | undefined;

export function cell(v: Cell): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "1" : "0";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  return v;
}

export function isoUtc(d: Date | null | undefined): string {
  return d ? d.toISOString() : "";
}

export function isoDate(d: Date | null | undefined): string | null {
  return d ? d.toISOString().slice(0, 10) : null;
}

/** Header plus rows as RFC 4180 text. */
export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return stringify([[...header], ...rows.map((r) => r.map(cell))]);
}

/**
 * The same text as `toCsv`, built in batches with a turn of the event loop between them, so a
 * million-row file written inside the bot does not stall its chats.
 */
export async function toCsvInBatches(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  batch = 5000,
): Promise<string> {
  const parts = [stringify([[...header]])];
  for (let i = 0; i < rows.length; i += batch) {
    await new Promise<void>((r) => setImmediate(r));
    parts.push(stringify(rows.slice(i, i + batch).map((r) => r.map(cell))));
  }
  return parts.join("");
}

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number | null,
  ) {
    super(message);
  }
}

const CSV_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: "malformed CSV: a quoted value is not closed before the end of the file",
  INVALID_OPENING_QUOTE:
    'malformed CSV: a quote (") inside an unquoted value; quote the whole value and double inner quotes',
  CSV_INVALID_CLOSING_QUOTE: "malformed CSV: unexpected text after a closing quote",
};

/**
 * Parses CSV text into records with their starting line numbers. Records may have any number of
 * fields (the caller reports wrong counts per line); broken quoting throws CsvSyntaxError, since
 * nothing after it can be trusted. Accepts CRLF, LF and a leading BOM (spreadsheets write them).
 */
export function parseCsvRecords(text: string): CsvRecord[] {
  const normalised = text.replace(/\r\n?/g, "\n");
  let parsed: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    parsed = parse(normalised, {
      bom: true,
      info: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as typeof parsed;
  } catch (e) {
    const err = e as Error & { code?: string; lines?: number };
    const line = typeof err.lines === "number" ? err.lines : null;
    throw new CsvSyntaxError(CSV_ERRORS[err.code ?? ""] ?? `malformed CSV (${err.message})`, line);
  }
  return parsed.map((r) => {
    // info.lines is the line the record ends on; raw carries any blank lines before it and its
    // own line break, so the newlines left inside are the record's extra lines.
    const inner = r.raw.replace(/^\n+/, "").replace(/\n$/, "");
    const extra = inner.split("\n").length - 1;
    return { line: r.info.lines - extra, fields: r.record };
  });
}

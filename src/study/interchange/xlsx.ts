// .xlsx bytes ↔ sheets of text cells, through SheetJS (the @e965/xlsx build of SheetJS 0.20.3:
// no dependencies, and past the prototype-pollution and ReDoS fixes missing from npm's xlsx 0.18.5).
// Loaded on demand so the rest of the CLI does not pay for it.
import type { Row, Sheet } from "./table.js";

export class WorkbookError extends Error {}

type SheetJs = typeof import("@e965/xlsx");
let lib: SheetJs | undefined;
async function sheetjs(): Promise<SheetJs> {
  lib ??= await import("@e965/xlsx");
  return lib;
}

const text = (v: unknown): string => {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  return String(v);
};

/** Every sheet, rows numbered as Excel shows them (1-based, blank rows kept in the count). */
export async function readWorkbook(bytes: Uint8Array): Promise<Sheet[]> {
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b; // xlsx, ods: a zip
  const cfb = bytes[0] === 0xd0 && bytes[1] === 0xcf; // legacy .xls
  if (!zip && !cfb) throw new WorkbookError("not an Excel workbook (.xlsx or .xls)");
  const X = await sheetjs();
  let wb: import("@e965/xlsx").WorkBook;
  try {
    wb = X.read(bytes, { type: "buffer", cellDates: false, cellFormula: false, cellHTML: false });
  } catch (e) {
    throw new WorkbookError(`cannot read the workbook (${(e as Error).message})`);
  }
  return wb.SheetNames.map((name) => {
    const ws = wb.Sheets[name]!;
    const ref = ws["!ref"];
    if (!ref) return { name, rows: [] };
    const range = X.utils.decode_range(ref);
    const rows: Row[] = [];
    for (let r = range.s.r; r <= range.e.r; r++) {
      const cells: string[] = [];
      for (let c = 0; c <= range.e.c; c++) {
        const cell = ws[X.utils.encode_cell({ r, c })] as { v?: unknown } | undefined;
        cells.push(text(cell?.v));
      }
      rows.push({ n: r + 1, cells });
    }
    return { name, rows };
  });
}

export async function writeWorkbook(
  sheets: { name: string; rows: string[][] }[],
): Promise<Uint8Array> {
  const X = await sheetjs();
  const wb = X.utils.book_new();
  for (const s of sheets) {
    const ws = X.utils.aoa_to_sheet(s.rows);
    // Readable column widths (capped) for whoever opens the file in Excel.
    const widths = (s.rows[0] ?? []).map((_, c) =>
      Math.min(60, Math.max(8, ...s.rows.map((r) => (r[c] ?? "").split("\n")[0]!.length + 2))),
    );
    ws["!cols"] = widths.map((wch) => ({ wch }));
    X.utils.book_append_sheet(wb, ws, s.name);
  }
  const out = X.write(wb, { type: "buffer", bookType: "xlsx", compression: true }) as Uint8Array;
  return new Uint8Array(out);
}

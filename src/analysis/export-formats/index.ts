// Export formats beside the CSV files: SPSS syntax (circle.sps), an R script (circle.R) and a
// Stata do-file (circle.do). Each script reads the CSV files of the same export, unchanged, and
// declares names, labels and types in one locale; "csv" alone is the plain export.
import type { LoadedFlows } from "../../study/model.js";
import { buildModel } from "./model.js";
import { rFiles } from "./r.js";
import { spssFiles } from "./spss.js";
import { stataFiles } from "./stata.js";
import type { ScriptFile } from "./types.js";

export type { ScriptFile } from "./types.js";
export { SPSS_FILE } from "./spss.js";
export { R_FILE } from "./r.js";
export { STATA_FILE } from "./stata.js";

export const EXPORT_FORMATS = ["csv", "spss", "r", "stata"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** What `--format` accepts: one format, "all", or several separated by commas. */
export const FORMAT_CHOICES = [...EXPORT_FORMATS, "all"] as const;

export class FormatError extends Error {}

/** Parses "spss", "all", "spss,r" (case-insensitive); throws FormatError naming the choices. */
export function parseFormats(spec: string): ExportFormat[] {
  const words = spec
    .split(/[\s,]+/)
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w !== "");
  if (words.length === 0) throw new FormatError(`choose a format: ${FORMAT_CHOICES.join(", ")}`);
  const out = new Set<ExportFormat>();
  for (const w of words) {
    if (w === "all") EXPORT_FORMATS.forEach((f) => out.add(f));
    else if ((EXPORT_FORMATS as readonly string[]).includes(w)) out.add(w as ExportFormat);
    else
      throw new FormatError(
        `unknown format "${w}"; choose from ${FORMAT_CHOICES.join(", ")} (or several, comma-separated)`,
      );
  }
  return EXPORT_FORMATS.filter((f) => out.has(f));
}

export interface FormatInput {
  flows: LoadedFlows;
  formats: readonly ExportFormat[];
  /** Locale of the labels; must be one of the study's locales. */
  locale: string;
  /** The CSV texts the export wrote, by file name. */
  files: Readonly<Record<string, string>>;
}

/** The files the chosen formats add to an export (none for "csv" alone), in a fixed order. */
export async function formatFiles({
  flows,
  formats,
  locale,
  files,
}: FormatInput): Promise<ScriptFile[]> {
  const scripts = formats.filter((f) => f !== "csv");
  if (scripts.length === 0) return [];
  const model = await buildModel({ flows, locale, files });
  const out: ScriptFile[] = [];
  if (scripts.includes("spss")) out.push(...spssFiles(model, files));
  if (scripts.includes("r")) out.push(...rFiles(model));
  if (scripts.includes("stata")) out.push(...stataFiles(model));
  return out;
}

// `circle flows import` / `circle flows export`: the file IO around the pure converters.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { stringify as stringifyCsv } from "csv-stringify/sync";
import { parse as parseYaml } from "yaml";
import type { Instrument, LoadedFlows } from "../model.js";
import { instrumentSchema, type InstrumentFile } from "../schema.js";
import { parseLanguage } from "./languages.js";
import { readRedcap, writeRedcap } from "./redcap.js";
import { issueLine, Issues, sorted, type Format, type SourceForm } from "./source.js";
import { buildInstrument } from "./to-instrument.js";
import { checkWithLoader, placeError, renderYaml } from "./validate.js";
import { readXlsform, writeXlsform } from "./xlsform.js";
import { readWorkbook, WorkbookError, writeWorkbook } from "./xlsx.js";

export type { Format } from "./source.js";
export const FORMATS: Format[] = ["xlsform", "redcap"];
export const FORMAT_NAME: Record<Format, string> = {
  xlsform: "XLSForm",
  redcap: "REDCap data dictionary",
};

/** The format a file name suggests, if any. */
export function formatOf(file: string | undefined): Format | null {
  const ext = extname(file ?? "").toLowerCase();
  if (ext === ".xlsx" || ext === ".xls" || ext === ".ods") return "xlsform";
  if (ext === ".csv") return "redcap";
  return null;
}

export interface ImportRequest {
  file: string;
  from: Format;
  flowsDir: string;
  extraDir?: string | undefined;
  /** Where the YAML will go (an instrument already there is being replaced, not duplicated). */
  out?: string | undefined;
  form?: string | undefined;
  lang?: string | undefined;
}

export interface ImportOutcome {
  ok: boolean;
  errors: string[];
  notCarried: string[];
  notes: string[];
  id: string | null;
  yaml: string | null;
  instrument: Instrument | null;
}

interface StudyLocales {
  locales: string[];
  defaultLocale: string;
  file: string;
}

function readStudy(flowsDir: string): StudyLocales | string {
  const file = join(flowsDir, "study.yaml");
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (e) {
    return `cannot read the study's languages from ${file} (${(e as Error).message})`;
  }
  const s = raw as { locales?: unknown; defaultLocale?: unknown } | null;
  const locales = Array.isArray(s?.locales)
    ? s.locales.filter((l): l is string => typeof l === "string")
    : [];
  if (locales.length === 0) return `${file} declares no locales`;
  const defaultLocale = typeof s?.defaultLocale === "string" ? s.defaultLocale : locales[0]!;
  return { locales, defaultLocale, file };
}

/** Ids of the instrument files already in the flows (except `out`), for a clash check. */
function existingIds(req: ImportRequest): Map<string, string> {
  const dirs = [join(req.flowsDir, "instruments")];
  if (req.extraDir) dirs.push(req.extraDir, join(req.extraDir, "instruments"));
  const out = req.out ? resolve(req.out) : null;
  const ids = new Map<string, string>();
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir)) {
      if (!/\.ya?ml$/i.test(f) || /^study\.ya?ml$/i.test(f)) continue;
      const path = join(dir, f);
      if (resolve(path) === out) continue;
      try {
        const id = (parseYaml(readFileSync(path, "utf8")) as { id?: unknown } | null)?.id;
        if (typeof id === "string" && !ids.has(id)) ids.set(id, path);
      } catch {
        // A broken file is `circle flows check`'s business, not the import's.
      }
    }
  }
  return ids;
}

const lines = (list: Issues["errors"]) => sorted(list).map(issueLine);

const failed = (iss: Issues, extra: string[] = []): ImportOutcome => ({
  ok: false,
  errors: [...extra, ...lines(iss.errors)],
  notCarried: lines(iss.notCarried),
  notes: lines(iss.notes),
  id: null,
  yaml: null,
  instrument: null,
});

export async function importInstrument(req: ImportRequest): Promise<ImportOutcome> {
  const name = basename(req.file);
  const none = new Issues();
  if (!existsSync(req.file)) return failed(none, [`${req.file}: no such file`]);
  if (statSync(req.file).isDirectory())
    return failed(none, [`${req.file}: is a folder, not a file`]);
  const study = readStudy(req.flowsDir);
  if (typeof study === "string") return failed(none, [study]);
  let defaultLocale = study.defaultLocale;
  if (req.lang !== undefined) {
    const l = parseLanguage(req.lang);
    if (!l.ok) return failed(none, [`--lang: ${l.message}`]);
    defaultLocale = l.locale;
  }

  let form: SourceForm | Issues;
  if (req.from === "xlsform") {
    let sheets;
    try {
      sheets = await readWorkbook(new Uint8Array(readFileSync(req.file)));
    } catch (e) {
      if (e instanceof WorkbookError) return failed(none, [`${name}: ${e.message}`]);
      throw e;
    }
    form = readXlsform(sheets, {
      file: name,
      defaultLocale,
      fallbackId: basename(req.file, extname(req.file)),
    });
  } else {
    let records: string[][];
    try {
      records = parseCsv(readFileSync(req.file, "utf8"), {
        bom: true,
        relax_column_count: true,
        skip_empty_lines: false,
      }) as string[][];
    } catch (e) {
      return failed(none, [`${name}: cannot read the CSV (${(e as Error).message})`]);
    }
    form = readRedcap(records, { file: name, defaultLocale, form: req.form });
  }
  if (form instanceof Issues) return failed(form);

  const built = buildInstrument(form, study.locales);
  if (!built) return failed(form.issues);
  const id = built.raw.id as string;
  const clash = existingIds(req).get(id);
  if (clash)
    form.issues.error(
      form.settings.where,
      `instrument id "${id}" is already used by ${clash}; choose another id (${form.settings.field.id}) or replace that file with --out ${clash} --force`,
    );
  if (form.issues.errors.length > 0) return failed(form.issues);

  const header = [
    `Imported by \`circle flows import\` from ${name} (${FORMAT_NAME[req.from]}).`,
    ...(form.issues.notCarried.length > 0
      ? ["Not carried over:", ...lines(form.issues.notCarried).map((l) => `  - ${l}`)]
      : []),
  ];
  const yaml = renderYaml(built, header);
  const checked = checkWithLoader(yaml, id, study.file);
  for (const e of checked.errors) {
    const placed = placeError(e, built.origins, name);
    form.issues.error(placed.where, placed.message);
  }
  if (form.issues.errors.length > 0 || !checked.instrument) return failed(form.issues);
  return {
    ok: true,
    errors: [],
    notCarried: lines(form.issues.notCarried),
    notes: lines(form.issues.notes),
    id,
    yaml,
    instrument: checked.instrument,
  };
}

export interface ExportOutcome {
  ok: boolean;
  errors: string[];
  notes: string[];
  /** .xlsx bytes or CSV text. */
  data: Uint8Array | string | null;
}

/** The instrument file as written (scale names and the default scale are not in the model). */
function definition(ins: Instrument): InstrumentFile {
  return instrumentSchema.parse(parseYaml(readFileSync(ins.file, "utf8")));
}

export async function exportInstrument(
  flows: LoadedFlows,
  ins: Instrument,
  to: Format,
): Promise<ExportOutcome> {
  const def = definition(ins);
  const study = { locales: flows.study.locales, defaultLocale: flows.study.defaultLocale };
  if (to === "xlsform") {
    const w = writeXlsform(def, ins, study);
    return { ok: true, errors: [], notes: w.notes, data: await writeWorkbook(w.sheets) };
  }
  const w = writeRedcap(def, ins, study);
  if (w.errors.length > 0) return { ok: false, errors: w.errors, notes: w.notes, data: null };
  return { ok: true, errors: [], notes: w.notes, data: stringifyCsv(w.rows) };
}

// circle.sps: SPSS syntax (also run by GNU PSPP) that reads scores_wide.csv and answers_long.csv
// as UTF-8 and declares names, variable labels, value labels, missing values, measurement levels
// and display formats, builds the item-level dataset, and saves all three as .sav files.
//
// Why syntax and not a .sav written here: the npm packages that write .sav are small and
// unmaintained, while syntax is readable, diffable and runs unchanged in SPSS and PSPP; running it
// once (`pspp circle.sps`) gives labelled .sav files anyway.
//
// SPSS cannot read a line break inside a quoted CSV value ("a value cannot be split across
// records"), and would shift every later row. When a file has such values (free-text answers
// typed on two lines), a copy named <file>_spss.csv with each line break inside a value replaced
// by a space is written next to it and read instead; the original CSV is untouched.
import type { CsvDataset, ExportModel, Variable } from "./model.js";
import { toolNames } from "./names.js";
import { withoutQuotedBreaks } from "./scan.js";
import { limitBytes, oneLine, wrap } from "./text.js";
import type { ScriptFile } from "./types.js";

export const SPSS_FILE = "circle.sps";

// SPSS: variable labels up to 256 bytes (PSPP keeps 255), value labels up to 120 bytes.
const VAR_LABEL_BYTES = 255;
const VALUE_LABEL_BYTES = 120;
const MAX_STRING = 32767;

/** A quoted SPSS string: '' doubles a quote; long text is split into pieces joined with "+". */
export function spssString(s: string, indent = "    "): string {
  const pieces: string[] = [];
  let piece = "";
  for (const ch of s) {
    if (Buffer.byteLength(piece + ch, "utf8") > 60) {
      pieces.push(piece);
      piece = "";
    }
    piece += ch;
  }
  pieces.push(piece);
  return pieces.map((p) => `'${p.replace(/'/g, "''")}'`).join(` +\n${indent}`);
}

const label = (s: string, max: number) => spssString(limitBytes(oneLine(s), max));

function comment(lines: string[]): string[] {
  // A comment runs to a line ending in "."; each line is its own comment.
  return lines.map((l) => (l === "" ? "*." : `* ${l.replace(/\.?$/, ".")}`));
}

function format(v: Variable): string {
  if (v.type === "string") return `A${Math.min(v.width, MAX_STRING)}`;
  return v.integer ? "F8.0" : "F8.2";
}

function getData(file: string, vars: Variable[], names: string[]): string[] {
  return [
    "GET DATA /TYPE=TXT",
    `  /FILE=${spssString(file)}`,
    "  /ENCODING='UTF8'",
    "  /ARRANGEMENT=DELIMITED",
    "  /DELCASE=LINE",
    "  /FIRSTCASE=2",
    '  /DELIMITERS=","',
    "  /QUALIFIER='\"'",
    "  /VARIABLES=",
    // Numbers are read with no implied decimals (F40.0) and shown with FORMATS below.
    ...vars.map((v, i) => `    ${names[i]} ${v.type === "string" ? format(v) : "F40.0"}`),
    ".",
  ];
}

/** VARIABLE LABELS, VALUE LABELS, MISSING VALUES, VARIABLE LEVEL and FORMATS for `vars`. */
function dictionary(model: ExportModel, vars: Variable[], names: string[]): string[] {
  const out: string[] = [];
  if (vars.length === 0) return out;
  out.push(
    "VARIABLE LABELS",
    ...vars.map((v, i) => `  ${i === 0 ? "" : "/"}${names[i]} ${label(v.label, VAR_LABEL_BYTES)}`),
    ".",
  );

  // Value labels: numeric variables sharing a set in one group; strings one by one.
  const groups: { names: string[]; set: string; string: boolean }[] = [];
  vars.forEach((v, i) => {
    if (!v.valueSet) return;
    const g =
      v.type === "numeric" ? groups.find((x) => x.set === v.valueSet && !x.string) : undefined;
    if (g) g.names.push(names[i]!);
    else groups.push({ names: [names[i]!], set: v.valueSet, string: v.type === "string" });
  });
  if (groups.length > 0) {
    out.push("VALUE LABELS");
    groups.forEach((g, gi) => {
      const set = model.valueSets.get(g.set)!;
      out.push(
        ...wrap(g.names, "  ").map((l, i) =>
          i === 0 ? l.replace(/^ {2}/, gi === 0 ? "  " : "  /") : l,
        ),
      );
      for (const l of set.labels)
        out.push(
          `    ${g.string ? spssString(l.value) : l.value} ${label(l.label, VALUE_LABEL_BYTES)}`,
        );
    });
    out.push(".");
  }

  // An empty cell is missing: system-missing for numbers; for strings it has to be declared.
  vars.forEach((v, i) => {
    if (v.type === "string") out.push(`MISSING VALUES ${names[i]} ('').`);
  });

  const levels: [string, string][] = [
    ["nominal", "NOMINAL"],
    ["ordinal", "ORDINAL"],
    ["scale", "SCALE"],
  ];
  const levelGroups = levels
    .map(([lv, kw]) => ({ kw, names: names.filter((_, i) => vars[i]!.level === lv) }))
    .filter((g) => g.names.length > 0);
  out.push(
    "VARIABLE LEVEL",
    ...levelGroups.flatMap((g, gi) => {
      const lines = wrap(g.names, "  ");
      lines[0] = `  ${gi === 0 ? "" : "/"}${lines[0]!.trimStart()}`;
      lines[lines.length - 1] += ` (${g.kw})`;
      return lines;
    }),
    ".",
  );

  const numeric = vars
    .map((v, i) => ({ v, name: names[i]! }))
    .filter((x) => x.v.type === "numeric");
  for (const fmt of ["F8.0", "F8.2"]) {
    const ns = numeric.filter((x) => format(x.v) === fmt).map((x) => x.name);
    if (ns.length > 0) out.push("FORMATS", ...wrap(ns, "  "), `  (${fmt}).`);
  }
  return out;
}

function readDataset(model: ExportModel, ds: CsvDataset, names: string[], file: string): string[] {
  return [
    ...getData(file, ds.variables, names),
    ...dictionary(model, ds.variables, names),
    // A named copy: the next GET DATA replaces the active dataset (in PSPP even a named one).
    `DATASET COPY ${ds.id}.`,
  ];
}

export function spssFiles(model: ExportModel, csv: Readonly<Record<string, string>>): ScriptFile[] {
  const extra: ScriptFile[] = [];
  const source = (ds: CsvDataset) => {
    if (!ds.multiline) return ds.file;
    const name = ds.file.replace(/\.csv$/, "_spss.csv");
    extra.push({ name, content: withoutQuotedBreaks(csv[ds.file] ?? ""), rows: ds.rows });
    return name;
  };
  const scoreNames = toolNames(
    model.scores.variables.map((v) => v.column),
    "spss",
  );
  const answerNames = toolNames(
    model.answers.variables.map((v) => v.column),
    "spss",
  );
  const keyNames = model.items.keys.map(
    (k) => answerNames[model.answers.variables.findIndex((v) => v.column === k)]!,
  );
  const itemNames = toolNames(
    model.items.items.map((v) => v.column),
    "spss",
    keyNames,
  );
  const col = (column: string) =>
    answerNames[model.answers.variables.findIndex((v) => v.column === column)]!;
  const scoresFile = source(model.scores);
  const answersFile = source(model.answers);

  const lines: string[] = [
    ...comment([
      "Circle export: SPSS syntax. Also runs in GNU PSPP (pspp circle.sps).",
      "In SPSS: File > Open > Syntax, choose this file, then Run > All.",
      "It reads the CSV files next to it (UTF-8) and makes three datasets.",
      "  scores: scores_wide.csv, one row per participant, one column per score and timepoint.",
      "  answers: answers_long.csv, one row per answer.",
      "  items: built from answers, one row per participant and timepoint, one column per",
      "  numeric item, with the answer options as value labels.",
      "Then it saves them as scores_wide.sav, answers_long.sav and items_wide.sav in the same folder.",
      "If SPSS cannot find the CSV files, first run: CD 'the folder holding them'.",
      "Labels are UTF-8, so SPSS must be in Unicode mode (the default since SPSS 21).",
      "On older versions first run: SET UNICODE=ON.",
      "It is not set here because PSPP, which is always Unicode, rejects the command.",
      "Empty cells are missing values: system-missing for numbers, declared missing for text.",
      `Labels: ${model.locale}.`,
      ...(model.scores.multiline || model.answers.multiline
        ? [
            "Some text answers contain line breaks, which SPSS cannot read inside a CSV value.",
            "So this syntax reads a copy named *_spss.csv in which those line breaks are spaces.",
          ]
        : []),
    ]),
    "",
    ...comment(["Scores: one row per participant."]),
    ...readDataset(model, model.scores, scoreNames, scoresFile),
    "",
    ...comment(["Answers: one row per answer."]),
    ...readDataset(model, model.answers, answerNames, answersFile),
    "",
  ];

  const items = model.items.items;
  if (items.length > 0) {
    lines.push(
      ...comment([
        "Items: one row per participant and timepoint, one column per numeric item (from answers).",
      ]),
      "NUMERIC",
      ...wrap(itemNames, "  "),
      "  (F8.2).",
    );
    const byInstrument = new Map<string, number[]>();
    items.forEach((it, i) => {
      const list = byInstrument.get(it.instrument) ?? [];
      list.push(i);
      byInstrument.set(it.instrument, list);
    });
    for (const [instrument, idx] of byInstrument) {
      lines.push(`DO IF (${col("instrument")} = ${spssString(instrument)}).`);
      for (const i of idx)
        lines.push(
          `  IF (${col("item")} = ${spssString(items[i]!.item)}) ${itemNames[i]} = NUMBER(${col("value")}, F40.0).`,
        );
      lines.push("END IF.");
    }
    lines.push(
      "AGGREGATE /OUTFILE=*",
      `  /BREAK=${keyNames.join(" ")}`,
      ...items.map((_, i) => `  /${itemNames[i]} = MAX(${itemNames[i]})`),
      ".",
      "DATASET NAME items.",
      ...dictionary(
        model,
        [
          ...model.items.keys.map((k) => model.answers.variables.find((v) => v.column === k)!),
          ...items,
        ],
        [...keyNames, ...itemNames],
      ),
      "",
    );
  }

  lines.push(
    ...comment(["Save the labelled datasets next to the CSV files."]),
    "DATASET ACTIVATE scores.",
    "SAVE OUTFILE='scores_wide.sav'.",
    "DATASET ACTIVATE answers.",
    "SAVE OUTFILE='answers_long.sav'.",
    ...(items.length > 0 ? ["DATASET ACTIVATE items.", "SAVE OUTFILE='items_wide.sav'."] : []),
    "DATASET ACTIVATE scores.",
    "",
  );
  const variables = model.scores.variables.length + model.answers.variables.length + items.length;
  // A byte-order mark tells SPSS the syntax is UTF-8 (without one it assumes the local code page).
  return [{ name: SPSS_FILE, content: `\uFEFF${lines.join("\n")}`, rows: variables }, ...extra];
}

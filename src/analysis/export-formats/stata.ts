// circle.do: a Stata do-file (Stata 16 or later) that imports scores_wide.csv and answers_long.csv
// as UTF-8 with fixed column types, names every variable (valid Stata names, at most 32
// characters), stores arm, gender, timepoint, respondent and source as labelled numeric codes,
// labels variables and answer options, builds the item-level dataset and saves all three as .dta.
//
// Columns are imported positionally (varnames(nonames)) and renamed, so Stata never invents names
// of its own for headers such as "social-skills.total.pre". Stata value labels attach to whole
// numbers only: option codes that are not whole numbers stay unlabelled (a comment says so).
import type { CsvDataset, ExportModel, Variable } from "./model.js";
import { toolNames } from "./names.js";
import { limitBytes, limitChars, oneLine, wrap } from "./text.js";
import type { ScriptFile } from "./types.js";

export const STATA_FILE = "circle.do";

// Stata: variable labels up to 80 characters, value label text up to 32,000 bytes.
const VAR_LABEL_CHARS = 80;
const VALUE_LABEL_BYTES = 32_000;
const TMP = "__circle_code";

/**
 * A compound-quoted Stata string (`"..."'), which may hold double quotes. Macro characters are
 * neutralised: ` becomes ' and $ is escaped as \$; a "' inside the text (which would end the
 * string) gets a space.
 */
export function stataString(s: string): string {
  const x = s
    .replace(/\\(?=[$`])/g, "")
    .replace(/`/g, "'")
    .replace(/\$/g, "\\$")
    .replace(/"'/g, "\" '");
  return `\`"${x}"'`;
}

/** Continues a long command over lines with Stata's "///". */
function continued(head: string, words: string[], tail = ""): string[] {
  const lines = wrap(words, "    ", 74);
  if (lines.length === 0) return [`${head}${tail}`];
  return [
    `${head} ///`,
    ...lines.map((l, i) => (i === lines.length - 1 ? `${l}${tail}` : `${l} ///`)),
  ];
}

const isWholeSet = (model: ExportModel, id: string) =>
  model.valueSets.get(id)!.labels.every((l) => Number.isInteger(Number(l.value)));

function importCsv(file: string, ds: CsvDataset): string[] {
  const strings: number[] = [];
  const numbers: number[] = [];
  ds.variables.forEach((v, i) => (v.type === "string" ? strings : numbers).push(i + 1));
  const opts = [
    "clear",
    'delimiters(",")',
    "varnames(nonames)",
    "rowrange(2)",
    "bindquotes(strict)",
    "maxquotedrows(unlimited)",
    'encoding("utf-8")',
    "asdouble",
    ...(strings.length > 0 ? [`stringcols(${strings.join(" ")})`] : []),
    ...(numbers.length > 0 ? [`numericcols(${numbers.join(" ")})`] : []),
  ];
  return [
    ...continued(`import delimited using ${stataString(file)},`, opts),
    `if c(k) != ${ds.variables.length} {`,
    `    display as error ${stataString(`${file} does not have the ${ds.variables.length} columns this do-file expects; use the circle.do exported with it`)}`,
    "    exit 459",
    "}",
  ];
}

/** Labels, codes and value labels for `vars` (already named `names`) in the data in memory. */
function dictionary(
  model: ExportModel,
  vars: Variable[],
  names: string[],
  labelNames: Map<string, string>,
  encode: boolean,
): string[] {
  const out: string[] = [];
  vars.forEach((v, i) => {
    const name = names[i]!;
    const set = v.valueSet ? model.valueSets.get(v.valueSet)! : undefined;
    // Categorical text becomes numeric codes 1, 2, … in the order of the labels.
    if (set && set.kind === "string" && encode) {
      out.push(`generate long ${TMP} = .`);
      set.labels.forEach((l, k) =>
        out.push(`replace ${TMP} = ${k + 1} if ${name} == ${stataString(l.value)}`),
      );
      out.push(`order ${TMP}, after(${name})`, `drop ${name}`, `rename ${TMP} ${name}`);
    }
    const full = oneLine(v.label);
    out.push(`label variable ${name} ${stataString(limitChars(full, VAR_LABEL_CHARS))}`);
    if ([...full].length > VAR_LABEL_CHARS)
      out.push(`notes ${name}: ${stataString(full).slice(2, -2)}`);
    if (set) {
      if (set.kind === "numeric" && !isWholeSet(model, set.id))
        out.push(`* ${name}: the option codes are not whole numbers, so Stata cannot label them.`);
      else out.push(`label values ${name} ${labelNames.get(set.id)}`);
    }
  });
  return out;
}

function labelDefinitions(model: ExportModel, labelNames: Map<string, string>): string[] {
  const out: string[] = [];
  for (const set of model.valueSets.values()) {
    if (set.kind === "numeric" && !isWholeSet(model, set.id)) continue;
    const pairs = set.labels.map(
      (l, k) =>
        `${set.kind === "string" ? k + 1 : Number(l.value)} ${stataString(limitBytes(oneLine(l.label), VALUE_LABEL_BYTES))}`,
    );
    out.push(`label define ${labelNames.get(set.id)} ///`);
    pairs.forEach((p, i) => out.push(`    ${p}${i === pairs.length - 1 ? ", replace" : " ///"}`));
  }
  return out;
}

export function stataFiles(model: ExportModel): ScriptFile[] {
  const scoreNames = toolNames(
    model.scores.variables.map((v) => v.column),
    "stata",
    [TMP],
  );
  const answerNames = toolNames(
    model.answers.variables.map((v) => v.column),
    "stata",
    [TMP],
  );
  const answerName = (column: string) =>
    answerNames[model.answers.variables.findIndex((v) => v.column === column)]!;
  const keyNames = model.items.keys.map(answerName);
  const items = model.items.items;
  const itemNames = toolNames(
    items.map((v) => v.column),
    "stata",
    [...keyNames, TMP],
  );
  const setIds = [...model.valueSets.keys()];
  const labelNames = new Map(setIds.map((id, i) => [id, toolNames(setIds, "stata")[i]!]));
  const keyVars = model.items.keys.map((k) => model.answers.variables.find((v) => v.column === k)!);

  const rename = (ds: CsvDataset, names: string[]) =>
    continued(
      "rename",
      [`(${ds.variables.map((_, i) => `v${i + 1}`).join(" ")})`, `(${names.join(" ")})`].flatMap(
        (group) => group.split(" "),
      ),
    );

  const lines: string[] = [
    "* Circle export: Stata do-file (Stata 16 or later).",
    "* In Stata: cd to this folder, then: do circle.do",
    "* It imports the CSV files next to it (UTF-8) and makes three datasets, saved as .dta:",
    "*   scores_wide.dta  - one row per participant, one column per score and timepoint;",
    "*   answers_long.dta - one row per answer (value is text: numbers or open answers);",
    "*   items_wide.dta   - one row per participant and timepoint, one column per numeric item,",
    "*                      with the answer options as value labels.",
    "* arm, gender, timepoint, respondent and source are numeric codes with value labels.",
    '* Empty cells are missing (. for numbers, "" for text).',
    `* Labels: ${model.locale}.`,
    "version 16",
    "clear",
    "",
    ...labelDefinitions(model, labelNames),
    "",
    "* Scores: one row per participant.",
    ...importCsv(model.scores.file, model.scores),
    ...rename(model.scores, scoreNames),
    ...dictionary(model, model.scores.variables, scoreNames, labelNames, true),
    'save "scores_wide.dta", replace',
    "",
    "* Answers: one row per answer.",
    ...importCsv(model.answers.file, model.answers),
    ...rename(model.answers, answerNames),
    ...dictionary(model, model.answers.variables, answerNames, labelNames, true),
    'save "answers_long.dta", replace',
    "",
  ];
  if (items.length > 0) {
    lines.push(
      "* Items: one row per participant and timepoint, one column per numeric item.",
      ...items.map(
        (it, i) =>
          `generate double ${itemNames[i]} = real(${answerName("value")}) if ${answerName("instrument")} == ${stataString(it.instrument)} & ${answerName("item")} == ${stataString(it.item)}`,
      ),
      // Rows of these instruments only (inlist() takes at most ten strings, so a marker).
      `generate byte ${TMP} = 0`,
      ...[...new Set(items.map((i) => i.instrument))].map(
        (id) => `replace ${TMP} = 1 if ${answerName("instrument")} == ${stataString(id)}`,
      ),
      `keep if ${TMP}`,
      `drop ${TMP}`,
      ...continued("collapse (max)", itemNames, `, by(${keyNames.join(" ")})`),
      ...dictionary(model, [...keyVars, ...items], [...keyNames, ...itemNames], labelNames, false),
      'save "items_wide.dta", replace',
      "",
    );
  }
  lines.push('use "scores_wide.dta", clear', "");
  const variables = model.scores.variables.length + model.answers.variables.length + items.length;
  return [{ name: STATA_FILE, content: lines.join("\n"), rows: variables }];
}

// circle.R: a base-R script (no packages: readr or haven may not be installed) that reads
// scores_wide.csv and answers_long.csv with fixed column types, turns arm, gender, timepoint,
// respondent, source and every option-coded item into factors (levels = the codes in the file,
// labels = their labels in the chosen locale), attaches variable labels as attr(x, "label"), and
// builds the item-level data frame. The script itself is pure ASCII (non-ASCII label text is
// written as \u{...} escapes), so source() reads it correctly whatever the session's locale.
import type { CsvDataset, ExportModel, ValueSet, Variable } from "./model.js";
import { toolNames } from "./names.js";
import { oneLine } from "./text.js";
import type { ScriptFile } from "./types.js";

export const R_FILE = "circle.R";

/** An R string literal using only ASCII characters. */
export function rString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    // \u{} takes at most four hex digits; characters beyond the BMP (emoji) need \U{}.
    else if (cp > 0xffff) out += `\\U{${cp.toString(16)}}`;
    else if (cp > 0x7e) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

const vec = (xs: readonly string[]) => `c(${xs.join(", ")})`;
const strings = (xs: readonly string[]) => vec(xs.map(rString));

function colClass(v: Variable): string {
  if (v.type === "string") return "character";
  return v.column === "age" ? "integer" : "numeric";
}

/** The R-side conversion of one column, given its (R) name in data frame `df`. */
function convert(df: string, v: Variable, name: string): string {
  const x = `${df}[[${rString(name)}]]`;
  const lab = rString(oneLine(v.label));
  if (v.valueSet) return `${x} <- .circle_factor(${x}, ${rString(v.valueSet)}, ${lab})`;
  if (v.column === "answered_at")
    return `${x} <- .circle_label(as.POSIXct(${x}, tz = "UTC", format = "%Y-%m-%dT%H:%M:%OSZ"), ${lab})`;
  return `${x} <- .circle_label(${x}, ${lab})`;
}

function setEntry(s: ValueSet): string {
  const levels =
    s.kind === "string" ? strings(s.labels.map((l) => l.value)) : vec(s.labels.map((l) => l.value));
  return `  ${rString(s.id)} = list(\n    levels = ${levels},\n    labels = ${strings(s.labels.map((l) => oneLine(l.label)))}\n  )`;
}

function read(df: string, ds: CsvDataset, names: string[]): string[] {
  return [
    `${df} <- .circle_read(`,
    `  ${rString(ds.file)},`,
    `  columns = ${strings(ds.variables.map((v) => v.column))},`,
    `  classes = ${strings(ds.variables.map(colClass))},`,
    `  names = ${strings(names)}`,
    ")",
  ];
}

export function rFiles(model: ExportModel): ScriptFile[] {
  const scoreNames = toolNames(
    model.scores.variables.map((v) => v.column),
    "r",
  );
  const answerNames = toolNames(
    model.answers.variables.map((v) => v.column),
    "r",
  );
  const answerName = (column: string) =>
    answerNames[model.answers.variables.findIndex((v) => v.column === column)]!;
  const keyNames = model.items.keys.map(answerName);
  const items = model.items.items;
  const itemNames = toolNames(
    items.map((v) => v.column),
    "r",
    keyNames,
  );
  const instruments = [...new Set(items.map((i) => i.instrument))];
  const sets = [...model.valueSets.values()];

  const lines: string[] = [
    "# Circle export: R script (base R only; no packages needed).",
    '# In R: setwd() to this folder, or give the path: source("circle.R")',
    "# It reads the CSV files next to it (UTF-8) and makes three data frames:",
    "#   scores  - scores_wide.csv: one row per participant, one column per score and timepoint;",
    "#   answers - answers_long.csv: one row per answer (value is text: numbers or open answers);",
    "#   items   - from answers: one row per participant and timepoint, one column per numeric",
    "#             item; option-coded items are factors labelled with their answer options.",
    '# Variable labels are in attr(x, "label"); circle_codes(f) gives a factor\'s numeric codes',
    "# back (for sums, means or alpha). Empty cells are NA.",
    `# Labels: ${model.locale}.`,
    "",
    ".circle_dir <- local({",
    "  f <- tryCatch(sys.frame(1)$ofile, error = function(e) NULL)",
    "  if (is.null(f)) {",
    '    a <- grep("^--file=", commandArgs(FALSE), value = TRUE)',
    '    if (length(a) > 0) f <- sub("^--file=", "", a[1])',
    "  }",
    '  if (is.character(f) && length(f) == 1) dirname(f) else "."',
    "})",
    "",
    ".circle_read <- function(file, columns, classes, names) {",
    "  path <- file.path(.circle_dir, file)",
    '  x <- read.csv(path, colClasses = classes, fileEncoding = "UTF-8", na.strings = "",',
    "                check.names = FALSE, stringsAsFactors = FALSE)",
    "  if (!identical(names(x), columns))",
    '    stop(file, " does not have the columns this script expects; use the circle.R exported with it")',
    "  names(x) <- names",
    "  x",
    "}",
    ".circle_label <- function(x, label) {",
    '  attr(x, "label") <- label',
    "  x",
    "}",
    ".circle_sets <- list(",
    sets.map(setEntry).join(",\n"),
    ")",
    ".circle_factor <- function(x, set, label) {",
    "  s <- .circle_sets[[set]]",
    "  f <- factor(x, levels = s$levels, labels = s$labels)",
    '  attr(f, "codes") <- s$levels',
    "  .circle_label(f, label)",
    "}",
    'circle_codes <- function(f) attr(f, "codes")[as.integer(f)]',
    "",
    "# Scores: one row per participant.",
    ...read("scores", model.scores, scoreNames),
    ...model.scores.variables.map((v, i) => convert("scores", v, scoreNames[i]!)),
    "",
    "# Answers: one row per answer.",
    ...read("answers", model.answers, answerNames),
    "",
  ];

  if (items.length > 0) {
    lines.push(
      "# Items: one row per participant and timepoint, one column per numeric item.",
      `.circle_keys <- ${strings(keyNames)}`,
      `.circle_rows <- answers[[${rString(answerName("instrument"))}]] %in% ${strings(instruments)}`,
      "items <- unique(answers[.circle_rows, .circle_keys, drop = FALSE])",
      `items <- items[order(items[[${rString(answerName("participant"))}]], match(items[[${rString(answerName("timepoint"))}]], .circle_sets$timepoint$levels)), , drop = FALSE]`,
      "rownames(items) <- NULL",
      ".circle_at <- match(",
      `  paste(answers[[${rString(answerName("participant"))}]], answers[[${rString(answerName("timepoint"))}]], sep = "\\r"),`,
      `  paste(items[[${rString(answerName("participant"))}]], items[[${rString(answerName("timepoint"))}]], sep = "\\r")`,
      ")",
      ".circle_item <- function(instrument, item) {",
      "  x <- rep(NA_real_, nrow(items))",
      `  s <- which(answers[[${rString(answerName("instrument"))}]] == instrument & answers[[${rString(answerName("item"))}]] == item)`,
      `  x[.circle_at[s]] <- as.numeric(answers[[${rString(answerName("value"))}]][s])`,
      "  x",
      "}",
      ...items.map(
        (it, i) =>
          `items[[${rString(itemNames[i]!)}]] <- .circle_item(${rString(it.instrument)}, ${rString(it.item)})`,
      ),
      ...items.map((it, i) => convert("items", it, itemNames[i]!)),
      ...model.items.keys.map((k, i) =>
        convert(
          "items",
          model.answers.variables.find((v) => v.column === k)!,
          keyNames[i]!,
        ),
      ),
      "",
    );
  }
  lines.push(
    "# Answers: labels and factors (after the items were built from the codes).",
    ...model.answers.variables.map((v, i) => convert("answers", v, answerNames[i]!)),
    "",
    'rm(list = ls(all.names = TRUE, pattern = "^\\\\.circle_"))',
    "",
  );
  const variables = model.scores.variables.length + model.answers.variables.length + items.length;
  return [{ name: R_FILE, content: lines.join("\n"), rows: variables }];
}

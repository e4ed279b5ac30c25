// What the SPSS, R and Stata scripts declare, independent of the tool: for each data file the
// scripts read (scores_wide.csv, answers_long.csv) its columns with type, measurement level,
// variable label and value labels in the chosen locale, plus the item-level dataset the scripts
// build from answers_long (one row per participant and timepoint, one column per numeric item).
// Built from the flows and from the CSV text itself, so string widths and the categories present
// in the data are exact (a value the study does not declare still gets a level, labelled by itself,
// instead of silently becoming missing).
import type { Instrument, LoadedFlows, Localized } from "../../study/model.js";
import { t } from "../../study/model.js";
import { slotOrder } from "../../usecases/assignments.js";
import { scanCsv, type ColumnScan } from "./scan.js";

export type Level = "nominal" | "ordinal" | "scale";

export interface ValueLabel {
  /** The value as it appears in the CSV ("experimental", "3"). */
  value: string;
  label: string;
}

/** A shared list of value labels; string sets label string codes, numeric sets numbers. */
export interface ValueSet {
  id: string;
  kind: "string" | "numeric";
  labels: ValueLabel[];
}

export interface Variable {
  /** The column's name in the CSV (for items: "<instrument>.<item>"). */
  column: string;
  type: "string" | "numeric";
  level: Level;
  label: string;
  /** Id of the value set labelling it, or null. */
  valueSet: string | null;
  /** Strings: the longest value in bytes (UTF-8), at least 1 and at least every labelled value. */
  width: number;
  /** Numbers: whether every value is a whole number (display without decimals). */
  integer: boolean;
}

export interface CsvDataset {
  id: "scores" | "answers";
  /** The file the scripts read. */
  file: string;
  rows: number;
  variables: Variable[];
  /** Whether some value spans lines (a quoted line break; SPSS cannot read those). */
  multiline: boolean;
}

export interface ItemVariable extends Variable {
  instrument: string;
  item: string;
}

export interface ItemsDataset {
  id: "items";
  /** Columns of answers_long that identify a row: participant, its fixed facts and timepoint. */
  keys: string[];
  items: ItemVariable[];
}

export interface ExportModel {
  locale: string;
  scores: CsvDataset;
  answers: CsvDataset;
  items: ItemsDataset;
  valueSets: Map<string, ValueSet>;
}

export const SCORES_FILE = "scores_wide.csv";
export const ANSWERS_FILE = "answers_long.csv";

/** Labels that are Circle's own (not from the flow files), per locale; English is the fallback. */
const TEXT: Record<string, Record<string, string>> = {
  en: {
    participant: "Participant code",
    arm: "Study arm",
    group: "Group",
    gender: "Gender",
    male: "Boy",
    female: "Girl",
    age: "Age (years)",
    timepoint: "Timepoint",
    instrument: "Instrument",
    instrument_hash: "Instrument version (content hash)",
    item: "Item",
    value: "Answer (number, or text for open questions)",
    respondent: "Respondent",
    parent: "Parent",
    child: "Child",
    facilitator: "Facilitator",
    answered_at: "Answered at (UTC, ISO 8601)",
    source: "Source",
    telegram: "Telegram",
    import: "Paper (imported)",
    total: "Total",
    session: "Session {n}: {title}",
    "group-end": "End of the group",
  },
  zh: {
    participant: "参与者编号",
    arm: "研究组别",
    group: "小组",
    gender: "性别",
    male: "男孩",
    female: "女孩",
    age: "年龄（岁）",
    timepoint: "测量时间点",
    instrument: "量表",
    instrument_hash: "量表版本（内容哈希）",
    item: "题目",
    value: "回答（数值；开放题为文字）",
    respondent: "回答者",
    parent: "家长",
    child: "孩子",
    facilitator: "带领者",
    answered_at: "回答时间（UTC，ISO 8601）",
    source: "来源",
    telegram: "Telegram",
    import: "纸质问卷（导入）",
    total: "总分",
    session: "第{n}次活动：{title}",
    "group-end": "小组结束时",
  },
};

export function text(locale: string, key: string): string {
  return TEXT[locale]?.[key] ?? TEXT.en![key] ?? key;
}

const PARTICIPANT_COLUMNS = ["participant", "arm", "group", "gender", "age"];

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** Columns whose distinct values become value labels (and Stata codes). */
const CATEGORICAL = new Set(["arm", "gender", "timepoint", "respondent", "source"]);

/** The timepoint (slot) codes in chronological order: study timepoints, sessions, group end. */
function slotCodes(flows: LoadedFlows, seen: Iterable<string>): string[] {
  const codes = new Set<string>([
    ...flows.study.timepoints.map((tp) => tp.id),
    ...flows.study.sessions.map((s) => `session:${s.number}`),
  ]);
  const end = flows.study.assignments.groupEnd;
  if (end.parent.length + end.child.length > 0) codes.add("group-end");
  for (const s of seen) if (s !== "") codes.add(s);
  return [...codes].sort(
    (a, b) => slotOrder(flows, a) - slotOrder(flows, b) || (a < b ? -1 : a > b ? 1 : 0),
  );
}

function slotLabel(flows: LoadedFlows, slot: string, locale: string): string {
  const d = flows.study.defaultLocale;
  const tp = flows.study.timepoints.find((x) => x.id === slot);
  if (tp) return t(tp.label, locale, d);
  const m = /^session:(\d+)$/.exec(slot);
  if (m) {
    const s = flows.study.sessions.find((x) => x.number === Number(m[1]));
    const title = s ? t(s.title, locale, d) : "";
    const label = text(locale, "session").replace("{n}", m[1]!).replace("{title}", title);
    return s ? label : label.replace(/[:：]\s*$/, "");
  }
  if (slot === "group-end") return text(locale, "group-end");
  return slot;
}

/** Value labels for a categorical string column: declared codes first, then any others seen. */
function stringSet(
  id: string,
  declared: { value: string; label: string }[],
  seen: Iterable<string>,
): ValueSet {
  const labels = [...declared];
  const known = new Set(declared.map((d) => d.value));
  const extra = [...new Set(seen)].filter((v) => v !== "" && !known.has(v)).sort();
  for (const v of extra) labels.push({ value: v, label: v });
  return { id, kind: "string", labels };
}

/** A number as the CSV writes it (String(n)), so a label matches the cell exactly. */
const numberText = (n: number) => String(n);

function widthOf(c: ColumnScan, labelled: ValueSet | undefined): number {
  let w = Math.max(1, c.maxBytes);
  for (const l of labelled?.labels ?? []) w = Math.max(w, bytes(l.value));
  return w;
}

export interface ModelInput {
  flows: LoadedFlows;
  locale: string;
  /** The CSV texts written by writeExport, by file name. */
  files: Readonly<Record<string, string>>;
}

/** Item-level instruments: everything families answer (facilitators' forms have their own files). */
export function itemInstruments(flows: LoadedFlows): Instrument[] {
  return flows.instrumentList.filter((ins) => ins.respondent !== "facilitator");
}

export async function buildModel({ flows, locale, files }: ModelInput): Promise<ExportModel> {
  const d = flows.study.defaultLocale;
  const loc = (l: Localized) => t(l, locale, d);
  const scoresCsv = await scanCsv(files[SCORES_FILE] ?? "", CATEGORICAL);
  const answersCsv = await scanCsv(files[ANSWERS_FILE] ?? "", CATEGORICAL);
  const scoreCols = scoresCsv.columns;
  const answerCols = answersCsv.columns;
  const col = (cols: ColumnScan[], name: string) => [
    ...(cols.find((c) => c.name === name)?.distinct ?? []),
  ];

  const valueSets = new Map<string, ValueSet>();
  const addSet = (s: ValueSet) => {
    // An instrument may be called "arm": its options then get another id.
    let id = s.id;
    for (let k = 2; valueSets.has(id); k++) id = `${s.id}_${k}`;
    valueSets.set(id, { ...s, id });
    return id;
  };
  const seenIn = (name: string) => [...col(scoreCols, name), ...col(answerCols, name)];
  addSet(
    stringSet(
      "arm",
      flows.study.arms.map((a) => ({ value: a.id, label: loc(a.label) })),
      seenIn("arm"),
    ),
  );
  addSet(
    stringSet(
      "gender",
      ["male", "female"].map((g) => ({ value: g, label: text(locale, g) })),
      seenIn("gender"),
    ),
  );
  addSet(
    stringSet(
      "timepoint",
      slotCodes(flows, col(answerCols, "timepoint")).map((s) => ({
        value: s,
        label: slotLabel(flows, s, locale),
      })),
      [],
    ),
  );
  addSet(
    stringSet(
      "respondent",
      ["parent", "child", "facilitator"].map((r) => ({ value: r, label: text(locale, r) })),
      col(answerCols, "respondent"),
    ),
  );
  addSet(
    stringSet(
      "source",
      ["telegram", "import"].map((r) => ({ value: r, label: text(locale, r) })),
      col(answerCols, "source"),
    ),
  );

  // Score columns are "<instrument>.<subscale|total>.<timepoint>".
  const scoreLabels = new Map<string, string>();
  for (const ins of flows.instrumentList) {
    const measures = [
      ...ins.subscales.map((s) => ({ id: s.id, label: loc(s.label) })),
      { id: "total", label: text(locale, "total") },
    ];
    for (const m of measures)
      for (const tp of flows.study.timepoints)
        scoreLabels.set(
          `${ins.id}.${m.id}.${tp.id}`,
          `${m.label} (${loc(tp.label)}) – ${loc(ins.title)}`,
        );
  }

  const known: Record<string, Omit<Variable, "column" | "width" | "integer">> = {
    participant: {
      type: "string",
      level: "nominal",
      label: text(locale, "participant"),
      valueSet: null,
    },
    arm: { type: "string", level: "nominal", label: text(locale, "arm"), valueSet: "arm" },
    group: { type: "string", level: "nominal", label: text(locale, "group"), valueSet: null },
    gender: { type: "string", level: "nominal", label: text(locale, "gender"), valueSet: "gender" },
    age: { type: "numeric", level: "scale", label: text(locale, "age"), valueSet: null },
    timepoint: {
      type: "string",
      level: "ordinal",
      label: text(locale, "timepoint"),
      valueSet: "timepoint",
    },
    instrument: {
      type: "string",
      level: "nominal",
      label: text(locale, "instrument"),
      valueSet: null,
    },
    instrument_hash: {
      type: "string",
      level: "nominal",
      label: text(locale, "instrument_hash"),
      valueSet: null,
    },
    item: { type: "string", level: "nominal", label: text(locale, "item"), valueSet: null },
    value: { type: "string", level: "nominal", label: text(locale, "value"), valueSet: null },
    respondent: {
      type: "string",
      level: "nominal",
      label: text(locale, "respondent"),
      valueSet: "respondent",
    },
    answered_at: {
      type: "string",
      level: "nominal",
      label: text(locale, "answered_at"),
      valueSet: null,
    },
    source: { type: "string", level: "nominal", label: text(locale, "source"), valueSet: "source" },
  };

  const variables = (cols: ColumnScan[], scores: boolean): Variable[] =>
    cols.map((c) => {
      const k = known[c.name];
      const scoreLabel = scoreLabels.get(c.name);
      const base: Omit<Variable, "column" | "width" | "integer"> =
        k && !(scores && !PARTICIPANT_COLUMNS.includes(c.name))
          ? k
          : {
              type: "numeric",
              level: "scale",
              label: scoreLabel ?? c.name,
              valueSet: null,
            };
      return {
        column: c.name,
        ...base,
        width: base.type === "string" ? widthOf(c, valueSets.get(base.valueSet ?? "")) : 8,
        integer: base.type === "numeric" && c.integer,
      };
    });

  // Items: one numeric column per non-text item. Items of one instrument with the same options
  // share a value set named after the instrument (not shared across instruments, so the name a
  // researcher sees always says where the options come from).
  const setByContent = new Map<string, string>();
  const items: ItemVariable[] = [];
  for (const ins of itemInstruments(flows)) {
    let n = 0;
    for (const it of ins.items) {
      if (it.type === "text") continue;
      let valueSet: string | null = null;
      if (it.options.length > 0) {
        const labels = it.options.map((o) => ({ value: numberText(o.value), label: loc(o.label) }));
        const key = JSON.stringify([ins.id, labels]);
        valueSet = setByContent.get(key) ?? null;
        if (!valueSet) {
          n++;
          valueSet = addSet({ id: n === 1 ? ins.id : `${ins.id}_${n}`, kind: "numeric", labels });
          setByContent.set(key, valueSet);
        }
      }
      items.push({
        column: `${ins.id}.${it.id}`,
        instrument: ins.id,
        item: it.id,
        type: "numeric",
        level: it.type === "choice" ? "ordinal" : "scale",
        label: loc(it.text),
        valueSet,
        width: 8,
        // Display only: whole-number option codes without decimals, typed numbers with two.
        integer: it.options.length > 0 && it.options.every((o) => Number.isInteger(o.value)),
      });
    }
  }

  return {
    locale,
    scores: {
      id: "scores",
      file: SCORES_FILE,
      rows: scoresCsv.rows,
      variables: variables(scoreCols, true),
      multiline: scoresCsv.multiline,
    },
    answers: {
      id: "answers",
      file: ANSWERS_FILE,
      rows: answersCsv.rows,
      variables: variables(answerCols, false),
      multiline: answersCsv.multiline,
    },
    items: {
      id: "items",
      keys: answerCols
        .map((c) => c.name)
        .filter((n) => [...PARTICIPANT_COLUMNS, "timepoint"].includes(n)),
      items,
    },
    valueSets,
  };
}

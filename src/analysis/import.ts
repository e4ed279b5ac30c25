// Paper questionnaires, checked. The CSV (contract) has the header
// participant,arm,gender,age,timepoint,instrument,item,value — one answered item per row.
//
// All or nothing: every row is checked against the flows and the stored data first, every problem
// is reported with its line ("answers.csv:12: …"), and only a clean file is written. Importing the
// same file again changes nothing: identical stored answers are counted as unchanged, a different
// stored value is an error (the import never overwrites). An empty value means the respondent left
// the item blank on paper; it is stored as skipped.
//
// This module decides (pure: the file, the flows and the stored rows it is given); the import use
// case (src/usecases/import.ts) reads the stored rows and writes the plan in one transaction.
import { createHash } from "node:crypto";
import { evalExpr } from "../study/expr.js";
import type { Instrument, Item, LoadedFlows } from "../study/model.js";
import { responseSetKey, timepointAssignments } from "../usecases/assignments.js";
import { CODE_PATTERN } from "../usecases/participants.js";
import { TEXT_MAX_LENGTH } from "../domain/questionnaire/progress.js";
import { CsvSyntaxError, parseCsvRecords } from "./csv.js";

export const IMPORT_HEADER = [
  "participant",
  "arm",
  "gender",
  "age",
  "timepoint",
  "instrument",
  "item",
  "value",
] as const;

/** Imported participants were asked on paper, which the protocol allows only after consent. */
const IMPORTED_PARTICIPANT_STATUS = "consented";
const CLOSED_STATUSES = new Set(["declined", "withdrawn"]);

export type ImportValue =
  { kind: "number"; v: number } | { kind: "text"; t: string } | { kind: "skip" };

/** A row that passed the checks needing only the flows. */
export interface ImportRow {
  line: number;
  code: string;
  arm: string | null;
  gender: string | null;
  age: number | null;
  timepoint: string;
  instrument: Instrument;
  item: Item;
  value: ImportValue;
}

/** A problem with the file: on a line, or (line null) with the file as a whole. */
export interface ImportProblem {
  line: number | null;
  message: string;
}

const fmtNumber = (n: number) => String(n);

function showValue(v: ImportValue): string {
  if (v.kind === "number") return fmtNumber(v.v);
  if (v.kind === "text") return JSON.stringify(v.t);
  return "(blank)";
}

function sameValue(a: ImportValue, b: ImportValue): boolean {
  if (a.kind === "number" && b.kind === "number") return a.v === b.v;
  if (a.kind === "text" && b.kind === "text") return a.t === b.t;
  return a.kind === b.kind;
}

function storedValue(a: {
  value: number | null;
  text: string | null;
  skipped: boolean;
}): ImportValue {
  if (a.skipped) return { kind: "skip" };
  if (a.value !== null) return { kind: "number", v: a.value };
  if (a.text !== null) return { kind: "text", t: a.text };
  return { kind: "skip" };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Checks one value against its item; returns the parsed value or the problem. */
function parseValue(raw: string, instrument: Instrument, item: Item): ImportValue | string {
  const where = `${instrument.id}/${item.id}`;
  if (raw === "") return { kind: "skip" };
  if (item.type === "text") {
    if (raw.length > TEXT_MAX_LENGTH)
      return `text for ${where} is longer than ${TEXT_MAX_LENGTH} characters`;
    return { kind: "text", t: raw };
  }
  if (!NUMBER.test(raw)) {
    const hint = /^\d+,\d+$/.test(raw) ? ' (use "." as the decimal mark)' : "";
    return `value ${JSON.stringify(raw)} is not a number for ${where}${hint}`;
  }
  const v = Number(raw);
  if (item.min !== null && item.max !== null && (v < item.min || v > item.max)) {
    return `value ${raw} is outside ${item.min}–${item.max} for ${where}`;
  }
  if (
    item.type === "choice" &&
    item.options.length > 0 &&
    !item.options.some((o) => o.value === v)
  ) {
    return `value ${raw} is not one of the answer codes ${item.options.map((o) => o.value).join(", ")} for ${where}`;
  }
  return { kind: "number", v };
}

/** Field-level checks that need only the flows. */
function checkRow(
  flows: LoadedFlows,
  line: number,
  f: string[],
  problems: ImportProblem[],
): ImportRow | null {
  const [code, armRaw, genderRaw, ageRaw, timepoint, instrumentId, itemId, valueRaw] = f.map((x) =>
    x.trim(),
  ) as [string, string, string, string, string, string, string, string];
  const bad = (message: string) => problems.push({ line, message });
  const before = problems.length;

  if (!CODE_PATTERN.test(code))
    bad(
      `participant ${JSON.stringify(code)} is not a valid code (2–32 letters, digits, "-" or "_")`,
    );
  const arms = flows.study.arms.map((a) => a.id as string);
  if (armRaw !== "" && !arms.includes(armRaw))
    bad(`arm ${JSON.stringify(armRaw)} must be ${arms.join(", ")} or empty (no arm)`);
  if (genderRaw !== "" && genderRaw !== "male" && genderRaw !== "female")
    bad(`gender ${JSON.stringify(genderRaw)} must be male or female`);
  let age: number | null = null;
  if (ageRaw !== "") {
    if (!/^\d{1,2}$/.test(ageRaw) || Number(ageRaw) > 25)
      bad(`age ${JSON.stringify(ageRaw)} must be whole years between 0 and 25`);
    else age = Number(ageRaw);
  }
  const tps = flows.study.timepoints.map((t) => t.id);
  if (!tps.includes(timepoint))
    bad(`timepoint ${JSON.stringify(timepoint)} is not in the study (${tps.join(", ")})`);
  const instrument = flows.instruments.get(instrumentId);
  let item: Item | undefined;
  if (!instrument) bad(`unknown instrument ${JSON.stringify(instrumentId)}`);
  else {
    item = instrument.items.find((it) => it.id === itemId);
    if (!item) bad(`unknown item ${JSON.stringify(itemId)} in ${instrument.id}`);
  }
  let value: ImportValue | null = null;
  if (instrument && item) {
    const v = parseValue(valueRaw, instrument, item);
    if (typeof v === "string") bad(v);
    else value = v;
  }
  if (problems.length > before || !instrument || !item || !value) return null;
  return {
    line,
    code,
    arm: armRaw === "" ? null : armRaw,
    gender: genderRaw === "" ? null : genderRaw,
    age,
    timepoint,
    instrument,
    item,
    value,
  };
}

/** Required items that are shown (skip logic) but not answered; none left = complete. */
function isComplete(instrument: Instrument, answers: Map<string, ImportValue>): boolean {
  const plain: Record<string, number | string | null> = {};
  for (const [id, v] of answers)
    plain[id] = v.kind === "number" ? v.v : v.kind === "text" ? v.t : null;
  return instrument.items.every((it) => {
    if (!it.required) return true;
    if (it.showIf && !evalExpr(it.showIf, plain)) return true;
    const v = answers.get(it.id);
    return v !== undefined && v.kind !== "skip";
  });
}

/** The file checked against the flows alone. */
export type CheckedImport =
  /** The file could not be read as rows (CSV syntax, header): there is nothing more to check. */
  | { readable: false; problems: ImportProblem[] }
  | {
      readable: true;
      /** The rows that passed (the others have their problems). */
      rows: ImportRow[];
      problems: ImportProblem[];
      /** Data rows in the file (the header excluded). */
      dataRows: number;
      sha256: string;
    };

/** Reads the CSV and checks each row against the flows (planImport checks the stored data). */
export function checkImportFile(flows: LoadedFlows, text: string): CheckedImport {
  const problems: ImportProblem[] = [];
  const unreadable = (): CheckedImport => ({ readable: false, problems });

  let records;
  try {
    records = parseCsvRecords(text);
  } catch (e) {
    if (!(e instanceof CsvSyntaxError)) throw e;
    problems.push({ line: e.line, message: e.message });
    return unreadable();
  }
  const [header, ...data] = records;
  const expected = IMPORT_HEADER.join(",");
  if (!header) {
    problems.push({ line: null, message: `the file is empty; expected the header ${expected}` });
    return unreadable();
  }
  if (header.fields.map((h) => h.trim()).join(",") !== expected) {
    problems.push({
      line: header.line,
      message: `the header must be exactly ${expected} (found ${header.fields.join(",")})`,
    });
    return unreadable();
  }

  const rows: ImportRow[] = [];
  for (const r of data) {
    if (r.fields.length !== IMPORT_HEADER.length) {
      problems.push({
        line: r.line,
        message: `expected ${IMPORT_HEADER.length} values, found ${r.fields.length}`,
      });
      continue;
    }
    const row = checkRow(flows, r.line, r.fields, problems);
    if (row) rows.push(row);
  }
  const sha256 = createHash("sha256").update(text).digest("hex");
  return { readable: true, rows, problems, dataRows: data.length, sha256 };
}

/** The problems as the user reads them, in line order: "answers.csv:12: …". */
export function importErrors(file: string, problems: readonly ImportProblem[]): string[] {
  return [...problems]
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    .map((p) => (p.line === null ? `${file}: ${p.message}` : `${file}:${p.line}: ${p.message}`));
}

interface NewParticipant {
  code: string;
  arm: string | null;
  gender: string | null;
  age: number | null;
  /** First row of the participant, and the rows that gave gender and age. */
  line: number;
  genderLine: number;
  ageLine: number;
}

/** What the import finds stored for the file's participants (read in the writing transaction). */
export interface StoredImportState {
  participants: readonly {
    id: number;
    code: string;
    arm: string | null;
    gender: string;
    ageYears: number;
    status: string;
  }[];
  /** The response sets under the keys of storedSetKeys, with their answers. */
  sets: readonly {
    id: number;
    key: string;
    status: string;
    source: string;
    startedAt: Date | null;
    completedAt: Date | null;
    answers: readonly {
      itemId: string;
      value: number | null;
      text: string | null;
      skipped: boolean;
    }[];
  }[];
}

/** The participant codes the rows name. */
export function importCodes(rows: readonly ImportRow[]): string[] {
  return [...new Set(rows.map((r) => r.code))];
}

/** The keys of the response sets the rows may add to, for participants already stored. */
export function storedSetKeys(
  rows: readonly ImportRow[],
  participants: StoredImportState["participants"],
): string[] {
  const ids = new Map(participants.map((p) => [p.code, p.id]));
  const keys = new Set<string>();
  for (const r of rows) {
    const participantId = ids.get(r.code);
    if (participantId !== undefined) keys.add(setKey(participantId, r));
  }
  return [...keys];
}

const setKey = (participantId: number, r: ImportRow) =>
  responseSetKey({
    participantId,
    sessionId: null,
    slot: r.timepoint,
    instrumentId: r.instrument.id,
    respondent: r.instrument.respondent,
  });

interface PlannedSet {
  key: string;
  code: string;
  timepoint: string;
  instrument: Instrument;
  existing: {
    id: number;
    status: string;
    source: string;
    answerCount: number;
    completedAt: Date | null;
    startedAt: Date | null;
  } | null;
  /** Stored and new answers by item id (for the completeness check). */
  answers: Map<string, ImportValue>;
  newAnswers: { item: Item; value: ImportValue }[];
}

/** What a clean file writes. */
export interface ImportPlan {
  newParticipants: {
    code: string;
    arm: string | null;
    gender: string;
    ageYears: number;
    status: string;
  }[];
  /** Stored participants' ids by code (new ones get theirs when written). */
  participantIds: Map<string, number>;
  /** Response sets that gain answers: a stored one (updated) or a new one (created). */
  sets: {
    code: string;
    timepoint: string;
    instrument: Instrument;
    existing: { id: number; startedAt: Date | null; completedAt: Date | null } | null;
    /** Every required item shown by the skip logic is answered, stored and new answers together. */
    complete: boolean;
    newAnswers: { item: Item; value: ImportValue }[];
  }[];
  /** Rows whose answer is stored already, with the same value. */
  unchanged: number;
}

/**
 * Checks the rows against each other and the stored data, adding to `problems`; returns what to
 * write (which only a file without problems may).
 */
export function planImport(
  flows: LoadedFlows,
  rows: readonly ImportRow[],
  storedState: StoredImportState,
  problems: ImportProblem[],
): ImportPlan {
  const bad = (line: number, message: string) => problems.push({ line, message });
  const stored = new Map(storedState.participants.map((p) => [p.code, p]));

  // Participant attributes: stored ones must agree; a new participant's rows must agree with
  // each other, and its first row must say gender and age.
  const newParticipants = new Map<string, NewParticipant>();
  const badParticipants = new Set<string>();
  const closedReported = new Set<string>();
  for (const r of rows) {
    const p = stored.get(r.code);
    if (p) {
      if (CLOSED_STATUSES.has(p.status)) {
        badParticipants.add(r.code);
        if (!closedReported.has(r.code))
          bad(
            r.line,
            `participant ${r.code} has ${p.status === "declined" ? "declined" : "withdrawn"}; no answers are imported for them`,
          );
        closedReported.add(r.code);
        continue;
      }
      const issues: string[] = [];
      if (r.arm !== p.arm)
        issues.push(`arm ${r.arm ?? "(none)"} contradicts the stored arm ${p.arm ?? "(none)"}`);
      if (r.gender !== null && r.gender !== p.gender)
        issues.push(`gender ${r.gender} contradicts the stored gender ${p.gender}`);
      if (r.age !== null && r.age !== p.ageYears)
        issues.push(`age ${r.age} contradicts the stored age ${p.ageYears}`);
      for (const i of issues) bad(r.line, `participant ${r.code}: ${i}`);
      if (issues.length) badParticipants.add(r.code);
      continue;
    }
    const first = newParticipants.get(r.code);
    if (!first) {
      newParticipants.set(r.code, {
        code: r.code,
        arm: r.arm,
        gender: r.gender,
        age: r.age,
        line: r.line,
        genderLine: r.line,
        ageLine: r.line,
      });
      continue;
    }
    const issues: string[] = [];
    if (r.arm !== first.arm)
      issues.push(
        `arm ${r.arm ?? "(none)"} contradicts line ${first.line} (${first.arm ?? "(none)"})`,
      );
    if (r.gender !== null) {
      if (first.gender === null) Object.assign(first, { gender: r.gender, genderLine: r.line });
      else if (r.gender !== first.gender)
        issues.push(`gender ${r.gender} contradicts line ${first.genderLine} (${first.gender})`);
    }
    if (r.age !== null) {
      if (first.age === null) Object.assign(first, { age: r.age, ageLine: r.line });
      else if (r.age !== first.age)
        issues.push(`age ${r.age} contradicts line ${first.ageLine} (${first.age})`);
    }
    for (const i of issues) bad(r.line, `participant ${r.code}: ${i}`);
    if (issues.length) badParticipants.add(r.code);
  }
  for (const np of newParticipants.values()) {
    if (np.gender === null || np.age === null) {
      bad(np.line, `new participant ${np.code} needs gender and age`);
      badParticipants.add(np.code);
    }
  }

  // The instrument must be one the study gives at that timepoint to the participant's arm.
  const armOf = (code: string) =>
    stored.has(code) ? stored.get(code)!.arm : (newParticipants.get(code)?.arm ?? null);
  const usable: ImportRow[] = [];
  for (const r of rows) {
    if (badParticipants.has(r.code)) continue;
    const arm = armOf(r.code);
    if (
      !timepointAssignments(flows, r.timepoint, arm).some(
        (a) => a.instrument.id === r.instrument.id,
      )
    ) {
      bad(
        r.line,
        `${r.instrument.id} is not given at ${r.timepoint} to participants ${arm ? `in the ${arm} arm` : "with no arm"}`,
      );
      continue;
    }
    usable.push(r);
  }

  // Duplicates within the file.
  const firstRow = new Map<string, ImportRow>();
  const unique: ImportRow[] = [];
  for (const r of usable) {
    const k = `${r.code}|${r.timepoint}|${r.instrument.id}|${r.item.id}`;
    const prev = firstRow.get(k);
    if (!prev) {
      firstRow.set(k, r);
      unique.push(r);
    } else if (!sameValue(prev.value, r.value)) {
      bad(
        r.line,
        `${r.code} ${r.timepoint} ${r.instrument.id}/${r.item.id} repeats line ${prev.line} with a different value (${showValue(r.value)}, line ${prev.line} has ${showValue(prev.value)})`,
      );
    }
  }

  // Stored response sets and answers.
  const participantIds = new Map([...stored].map(([c, p]) => [c, p.id]));
  const keyOf = (r: ImportRow) => {
    const pid = participantIds.get(r.code);
    return pid === undefined ? null : setKey(pid, r);
  };
  const existingSets = new Map(storedState.sets.map((s) => [s.key, s]));

  const sets = new Map<string, PlannedSet>();
  let unchanged = 0;
  const telegramReported = new Set<string>();
  for (const r of unique) {
    const key = keyOf(r) ?? `new:${r.code}|${r.timepoint}|${r.instrument.id}`;
    let set = sets.get(key);
    if (!set) {
      const ex = existingSets.get(key);
      set = {
        key,
        code: r.code,
        timepoint: r.timepoint,
        instrument: r.instrument,
        existing: ex
          ? {
              id: ex.id,
              status: ex.status,
              source: ex.source,
              answerCount: ex.answers.length,
              completedAt: ex.completedAt,
              startedAt: ex.startedAt,
            }
          : null,
        answers: new Map(ex ? ex.answers.map((a) => [a.itemId, storedValue(a)]) : []),
        newAnswers: [],
      };
      sets.set(key, set);
    }
    const have = set.answers.get(r.item.id);
    if (have !== undefined) {
      if (sameValue(have, r.value)) unchanged++;
      else
        bad(
          r.line,
          `${r.code} ${r.timepoint} ${r.instrument.id}/${r.item.id}: the stored answer is ${showValue(have)}, the file has ${showValue(r.value)}; the import never overwrites answers`,
        );
      continue;
    }
    // Paper answers are not merged into a questionnaire the family is answering in Telegram.
    if (set.existing && set.existing.source !== "import" && set.existing.answerCount > 0) {
      if (!telegramReported.has(key))
        bad(
          r.line,
          `${r.code} ${r.timepoint} ${r.instrument.id} already has answers from Telegram (${set.existing.status}); paper answers are not added to it`,
        );
      telegramReported.add(key);
      continue;
    }
    set.answers.set(r.item.id, r.value);
    set.newAnswers.push({ item: r.item, value: r.value });
  }

  return {
    newParticipants: [...newParticipants.values()]
      .filter((p) => !badParticipants.has(p.code))
      .map((p) => ({
        code: p.code,
        arm: p.arm,
        gender: p.gender!,
        ageYears: p.age!,
        status: IMPORTED_PARTICIPANT_STATUS,
      })),
    participantIds,
    sets: [...sets.values()]
      .filter((s) => s.newAnswers.length > 0)
      .map((s) => ({
        code: s.code,
        timepoint: s.timepoint,
        instrument: s.instrument,
        existing: s.existing,
        complete: isComplete(s.instrument, s.answers),
        newAnswers: s.newAnswers,
      })),
    unchanged,
  };
}

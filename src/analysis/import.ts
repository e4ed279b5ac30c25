// Paper questionnaires into the database. The CSV (contract) has the header
// participant,arm,gender,age,timepoint,instrument,item,value — one answered item per row.
//
// All or nothing: every row is checked against the flows and the stored data first, every problem
// is reported with its line ("answers.csv:12: …"), and only a clean file is written, in one
// transaction. Importing the same file again changes nothing: identical stored answers are
// counted as unchanged, a different stored value is an error (the import never overwrites).
// An empty value means the respondent left the item blank on paper; it is stored as skipped.
import { createHash } from "node:crypto";
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
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

export interface ImportOptions {
  /** How the file is named in messages ("answers.csv:12: …"). */
  file: string;
  actor: AuditActor;
  now?: Date;
}

export interface ImportSummary {
  rows: number;
  participantsCreated: number;
  responseSetsCreated: number;
  responseSetsUpdated: number;
  answersImported: number;
  answersUnchanged: number;
}

export type ImportResult = { ok: true; summary: ImportSummary } | { ok: false; errors: string[] };

type Value = { kind: "number"; v: number } | { kind: "text"; t: string } | { kind: "skip" };

interface Row {
  line: number;
  code: string;
  arm: string | null;
  gender: string | null;
  age: number | null;
  timepoint: string;
  instrument: Instrument;
  item: Item;
  value: Value;
}

interface Problem {
  line: number | null;
  message: string;
}

const fmtNumber = (n: number) => String(n);

function showValue(v: Value): string {
  if (v.kind === "number") return fmtNumber(v.v);
  if (v.kind === "text") return JSON.stringify(v.t);
  return "(blank)";
}

function sameValue(a: Value, b: Value): boolean {
  if (a.kind === "number" && b.kind === "number") return a.v === b.v;
  if (a.kind === "text" && b.kind === "text") return a.t === b.t;
  return a.kind === b.kind;
}

function storedValue(a: { value: number | null; text: string | null; skipped: boolean }): Value {
  if (a.skipped) return { kind: "skip" };
  if (a.value !== null) return { kind: "number", v: a.value };
  if (a.text !== null) return { kind: "text", t: a.text };
  return { kind: "skip" };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Checks one value against its item; returns the parsed value or the problem. */
function parseValue(raw: string, instrument: Instrument, item: Item): Value | string {
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
function checkRow(flows: LoadedFlows, line: number, f: string[], problems: Problem[]): Row | null {
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
  let value: Value | null = null;
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
function isComplete(instrument: Instrument, answers: Map<string, Value>): boolean {
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

class Abort extends Error {}

export async function importAnswers(
  db: Db,
  flows: LoadedFlows,
  text: string,
  opts: ImportOptions,
): Promise<ImportResult> {
  const problems: Problem[] = [];
  const report = (): ImportResult => ({
    ok: false,
    errors: [...problems]
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
      .map((p) =>
        p.line === null ? `${opts.file}: ${p.message}` : `${opts.file}:${p.line}: ${p.message}`,
      ),
  });

  let records;
  try {
    records = parseCsvRecords(text);
  } catch (e) {
    if (!(e instanceof CsvSyntaxError)) throw e;
    problems.push({ line: e.line, message: e.message });
    return report();
  }
  const [header, ...data] = records;
  const expected = IMPORT_HEADER.join(",");
  if (!header) {
    problems.push({ line: null, message: `the file is empty; expected the header ${expected}` });
    return report();
  }
  if (header.fields.map((h) => h.trim()).join(",") !== expected) {
    problems.push({
      line: header.line,
      message: `the header must be exactly ${expected} (found ${header.fields.join(",")})`,
    });
    return report();
  }

  const rows: Row[] = [];
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

  const now = opts.now ?? new Date();
  try {
    const summary = await db.$transaction(
      async (tx) => {
        const plan = await planImport(tx, flows, rows, problems);
        if (problems.length > 0) throw new Abort();
        return writeImport(
          tx,
          flows,
          plan,
          { ...opts, now },
          { rows: data.length, sha256: createHash("sha256").update(text).digest("hex") },
        );
      },
      { timeout: 300_000, maxWait: 30_000 },
    );
    return { ok: true, summary };
  } catch (e) {
    if (e instanceof Abort) return report();
    throw e;
  }
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
  answers: Map<string, Value>;
  newAnswers: { item: Item; value: Value }[];
}

interface Plan {
  newParticipants: NewParticipant[];
  participantIds: Map<string, number>;
  sets: PlannedSet[];
  unchanged: number;
}

/** Checks the rows against each other and the database; collects what to write. */
async function planImport(
  tx: Tx,
  flows: LoadedFlows,
  rows: Row[],
  problems: Problem[],
): Promise<Plan> {
  const bad = (line: number, message: string) => problems.push({ line, message });
  const codes = [...new Set(rows.map((r) => r.code))];
  const stored = new Map(
    (await tx.participant.findMany({ where: { code: { in: codes } } })).map((p) => [p.code, p]),
  );

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
  const usable: Row[] = [];
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
  const firstRow = new Map<string, Row>();
  const unique: Row[] = [];
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
  const keyOf = (r: Row) => {
    const pid = participantIds.get(r.code);
    return pid === undefined
      ? null
      : responseSetKey({
          participantId: pid,
          sessionId: null,
          slot: r.timepoint,
          instrumentId: r.instrument.id,
          respondent: r.instrument.respondent,
        });
  };
  const keys = [...new Set(unique.map(keyOf).filter((k): k is string => k !== null))];
  const existingSets = new Map(
    (
      await tx.responseSet.findMany({ where: { key: { in: keys } }, include: { answers: true } })
    ).map((s) => [s.key, s]),
  );

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
    newParticipants: [...newParticipants.values()].filter((p) => !badParticipants.has(p.code)),
    participantIds,
    sets: [...sets.values()],
    unchanged,
  };
}

async function writeImport(
  tx: Tx,
  flows: LoadedFlows,
  plan: Plan,
  opts: ImportOptions & { now: Date },
  file: { rows: number; sha256: string },
): Promise<ImportSummary> {
  const { actor, now } = opts;
  for (const np of plan.newParticipants) {
    const p = await tx.participant.create({
      data: {
        code: np.code,
        arm: np.arm,
        gender: np.gender!,
        ageYears: np.age!,
        status: IMPORTED_PARTICIPANT_STATUS,
        enrolledAt: now,
        createdAt: now,
      },
    });
    plan.participantIds.set(np.code, p.id);
    await audit(tx, {
      actor,
      action: "participant.add",
      entity: "Participant",
      entityId: p.id,
      at: now,
      data: {
        code: p.code,
        arm: p.arm,
        gender: p.gender,
        ageYears: p.ageYears,
        group: null,
        status: p.status,
        via: "import",
      },
    });
  }

  let created = 0;
  let updated = 0;
  let imported = 0;
  for (const s of plan.sets) {
    if (s.newAnswers.length === 0) continue;
    const ins = s.instrument;
    const complete = isComplete(ins, s.answers);
    const status = complete ? "complete" : "in_progress";
    let id: number;
    if (s.existing) {
      id = s.existing.id;
      await tx.responseSet.update({
        where: { id },
        data: {
          status,
          source: "import",
          startedAt: s.existing.startedAt ?? now,
          completedAt: complete ? (s.existing.completedAt ?? now) : null,
        },
      });
      updated++;
    } else {
      const participantId = plan.participantIds.get(s.code)!;
      const rs = await tx.responseSet.create({
        data: {
          key: responseSetKey({
            participantId,
            sessionId: null,
            slot: s.timepoint,
            instrumentId: ins.id,
            respondent: ins.respondent,
          }),
          participantId,
          sessionId: null,
          slot: s.timepoint,
          timepoint: s.timepoint,
          instrumentId: ins.id,
          instrumentVersion: ins.version,
          instrumentHash: ins.hash,
          respondent: ins.respondent,
          status,
          source: "import",
          startedAt: now,
          completedAt: complete ? now : null,
          createdAt: now,
        },
      });
      id = rs.id;
      created++;
    }
    await tx.answer.createMany({
      data: s.newAnswers.map(({ item, value }) => ({
        responseSetId: id,
        itemId: item.id,
        value: value.kind === "number" ? value.v : null,
        text: value.kind === "text" ? value.t : null,
        skipped: value.kind === "skip",
        instrumentHash: ins.hash,
        respondent: ins.respondent,
        childAnswered: ins.respondent === "child",
        source: "import",
        answeredAt: now,
      })),
    });
    imported += s.newAnswers.length;
  }

  const summary: ImportSummary = {
    rows: file.rows,
    participantsCreated: plan.newParticipants.length,
    responseSetsCreated: created,
    responseSetsUpdated: updated,
    answersImported: imported,
    answersUnchanged: plan.unchanged,
  };
  await audit(tx, {
    actor,
    action: "import",
    entity: "Import",
    entityId: file.sha256.slice(0, 16),
    at: now,
    data: { file: baseName(opts.file), sha256: file.sha256, flows: flows.study.id, ...summary },
  });
  return summary;
}

/** Only the file name goes into the audit trail: paths can carry a user's home directory. */
function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

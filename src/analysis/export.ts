// The research export: one folder of CSV files (conventions in ./csv.ts) plus the codebook,
// carrying pseudonymous participant codes only. Accounts, Telegram ids, usernames and the
// facilitators' nicknames for children are never read into a file; a nickname a facilitator typed
// into free text is replaced by the child's code. Every export is audited: the export use case
// (src/usecases/export.ts) writes the files through this module and records them.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSnapshot, type Db, type Tx } from "../db/client.js";
import { codebookCsv, codebookJson } from "../study/codebook.js";
import type { Instrument, LoadedFlows } from "../study/model.js";
import { isoUtc, toCsv, toCsvInBatches, type Cell } from "./csv.js";
import {
  buildProgress,
  questionnaireComparator,
  SATISFACTION_INSTRUMENT,
  satisfactionTotals,
} from "./progress.js";
import { scoreResponseSet, scoredItems } from "./scoring.js";
import { formatFiles, type ExportFormat } from "./export-formats/index.js";

export const EXPORT_FILES = [
  "answers_long.csv",
  "scores_wide.csv",
  "sessions.csv",
  "attendance.csv",
  "observations.csv",
  "reflections.csv",
  "notes.csv",
  "satisfaction.csv",
  "codebook.csv",
  "codebook.json",
] as const;

export interface ExportedFile {
  name: string;
  /**
   * Data rows (header excluded); for codebook.json the number of instruments; for a script
   * (circle.sps, circle.R, circle.do) the number of variables it declares.
   */
  rows: number;
}

export interface ExportOptions {
  /** Formats beside the CSV files (default csv only): spss, r, stata add their scripts. */
  formats?: readonly ExportFormat[];
  /** Locale of the scripts' labels (default: the study's defaultLocale). */
  locale?: string;
}

export interface ExportResult {
  dir: string;
  files: ExportedFile[];
}

/** What `writeExport` wrote, and for the audit trail the scripts' formats and label language. */
export interface WrittenExport extends ExportResult {
  /** Null when only the CSV files were written. */
  scripts: { formats: readonly ExportFormat[]; locale: string } | null;
}

const PARTICIPANT_COLUMNS = ["participant", "arm", "group", "gender", "age"] as const;

interface ParticipantInfo {
  code: string;
  cells: Cell[];
}

/** Replaces facilitators' nicknames for children in free text with the child's code. */
export function nicknameRedactor(
  nicknames: readonly { nickname: string; code: string }[],
): (text: string) => string {
  // Longest first, so "Lili" is not half-replaced by a rule for "Li".
  const rules = [...nicknames]
    .filter((n) => n.nickname.trim() !== "")
    .sort((a, b) => b.nickname.length - a.nickname.length)
    .map(({ nickname, code }) => {
      const escaped = nickname.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      // Alphabetic names match as whole words; in scripts without spaces (Chinese) anywhere.
      const latin = /^[\p{Script=Latin}\p{N}\s'’-]+$/u.test(nickname);
      const pattern = latin ? `(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])` : escaped;
      return { re: new RegExp(pattern, "giu"), replacement: `[${code}]` };
    });
  return (text) => rules.reduce((t, r) => t.replace(r.re, r.replacement), text);
}

function scoredColumns(
  flows: LoadedFlows,
): { instrument: Instrument; measure: string; timepoint: string }[] {
  const given = new Map<string, Set<string>>();
  for (const a of flows.study.assignments.timepoints) {
    for (const id of [...a.parent, ...a.child]) {
      const s = given.get(id) ?? new Set<string>();
      s.add(a.timepoint);
      given.set(id, s);
    }
  }
  const out: { instrument: Instrument; measure: string; timepoint: string }[] = [];
  for (const ins of flows.instrumentList) {
    const tps = given.get(ins.id);
    if (!tps || scoredItems(ins).length === 0) continue;
    const ordered = flows.study.timepoints.map((t) => t.id).filter((t) => tps.has(t));
    for (const measure of [...ins.subscales.map((s) => s.id), "total"]) {
      for (const timepoint of ordered) out.push({ instrument: ins, measure, timepoint });
    }
  }
  return out;
}

interface Files {
  [name: string]: { content: string; rows: number };
}

async function collect(tx: Tx, flows: LoadedFlows): Promise<Files> {
  const participants = await tx.participant.findMany({
    orderBy: { code: "asc" },
    include: { group: { select: { name: true } } },
  });
  const nicknames = await tx.nickname.findMany({
    select: { nickname: true, participant: { select: { code: true } } },
  });
  const redact = nicknameRedactor(
    nicknames.map((n) => ({ nickname: n.nickname, code: n.participant.code })),
  );
  const info = new Map<number, ParticipantInfo>(
    participants.map((p) => [
      p.id,
      { code: p.code, cells: [p.code, p.arm ?? "", p.group?.name ?? "", p.gender, p.ageYears] },
    ]),
  );
  const sessions = await tx.groupSession.findMany({
    include: { group: { select: { name: true } } },
  });
  const sessionById = new Map(sessions.map((s) => [s.id, s]));
  const files: Files = {};
  const put = (name: string, header: readonly string[], rows: Cell[][]) => {
    files[name] = { content: toCsv(header, rows), rows: rows.length };
  };
  // For the files of a large study's size (one row per answer): the bot's chats get turns.
  const putInBatches = async (name: string, header: readonly string[], rows: Cell[][]) => {
    files[name] = { content: await toCsvInBatches(header, rows), rows: rows.length };
  };

  // answers_long: every answer of a participant's questionnaires, in study order.
  const sets = await pagedResponseSets(tx);
  const compare = questionnaireComparator(flows);
  const byCode = (id: number | null) => info.get(id ?? -1)?.code ?? "";
  sets.sort(
    (a, b) =>
      byCode(a.participantId).localeCompare(byCode(b.participantId)) ||
      compare(
        { timepoint: a.slot, respondent: a.respondent, instrument: a.instrumentId },
        { timepoint: b.slot, respondent: b.respondent, instrument: b.instrumentId },
      ) ||
      a.id - b.id,
  );
  const itemOrder = (ins: Instrument | undefined) => {
    const idx = new Map(ins?.items.map((it, i) => [it.id, i]) ?? []);
    return (a: { itemId: string }, b: { itemId: string }) =>
      (idx.get(a.itemId) ?? Infinity) - (idx.get(b.itemId) ?? Infinity) ||
      a.itemId.localeCompare(b.itemId);
  };
  const answerCell = (a: { value: number | null; text: string | null; skipped: boolean }): Cell =>
    a.skipped ? "" : (a.value ?? (a.text === null ? "" : redact(a.text)));
  await turn();
  const answerRows: Cell[][] = [];
  for (const [i, rs] of sets.entries()) {
    if (i % 500 === 499) await turn();
    const p = info.get(rs.participantId!);
    if (!p) continue;
    for (const a of [...rs.answers].sort(itemOrder(flows.instruments.get(rs.instrumentId)))) {
      answerRows.push([
        ...p.cells,
        rs.slot,
        rs.instrumentId,
        a.instrumentHash,
        a.itemId,
        answerCell(a),
        a.respondent,
        isoUtc(a.answeredAt),
        a.source,
      ]);
    }
  }
  await putInBatches(
    "answers_long.csv",
    [
      ...PARTICIPANT_COLUMNS,
      "timepoint",
      "instrument",
      "instrument_hash",
      "item",
      "value",
      "respondent",
      "answered_at",
      "source",
    ],
    answerRows,
  );

  await turn();
  // scores_wide: one row per participant (declined ones excluded), one column per score.
  const columns = scoredColumns(flows);
  const scoreOf = new Map<string, number | null>();
  for (const [i, rs] of sets.entries()) {
    if (i % 500 === 499) await turn();
    if (rs.timepoint === null) continue;
    const ins = flows.instruments.get(rs.instrumentId);
    if (!ins || rs.answers.length === 0) continue;
    const answers: Record<string, number | null> = {};
    for (const a of rs.answers) answers[a.itemId] = a.skipped ? null : a.value;
    const s = scoreResponseSet(ins, answers);
    const base = `${rs.participantId}|${ins.id}`;
    for (const [sub, v] of Object.entries(s.subscales))
      scoreOf.set(`${base}|${sub}|${rs.timepoint}`, v);
    scoreOf.set(`${base}|total|${rs.timepoint}`, s.total);
  }
  put(
    "scores_wide.csv",
    [
      ...PARTICIPANT_COLUMNS,
      ...columns.map((c) => `${c.instrument.id}.${c.measure}.${c.timepoint}`),
    ],
    participants
      .filter((p) => p.status !== "declined")
      .map((p) => [
        ...info.get(p.id)!.cells,
        ...columns.map(
          (c) => scoreOf.get(`${p.id}|${c.instrument.id}|${c.measure}|${c.timepoint}`) ?? null,
        ),
      ]),
  );

  await turn();
  // sessions, with the same log-completeness and satisfaction figures as `circle progress`.
  const progress = await buildProgress(tx, flows);
  put(
    "sessions.csv",
    [
      "group",
      "session",
      "held_on",
      "status",
      "present",
      "absent",
      "log_complete",
      "satisfaction_responses",
      "satisfaction_mean",
    ],
    progress.sessions.map((s) => [
      s.group,
      s.number,
      s.date,
      s.status,
      s.attendance,
      s.absent,
      s.logComplete,
      s.satisfaction.responses,
      s.satisfaction.mean,
    ]),
  );

  const sessionCells = (id: number | null): Cell[] => {
    const s = id === null ? undefined : sessionById.get(id);
    return [s?.group.name ?? "", s?.number ?? null];
  };
  const sessionOrder = (a: number | null, b: number | null) => {
    const sa = a === null ? undefined : sessionById.get(a);
    const sb = b === null ? undefined : sessionById.get(b);
    return (
      (sa?.group.name ?? "").localeCompare(sb?.group.name ?? "") ||
      (sa?.number ?? 0) - (sb?.number ?? 0)
    );
  };
  const bySession = <T extends { sessionId: number; participantId: number }>(a: T, b: T) =>
    sessionOrder(a.sessionId, b.sessionId) ||
    byCode(a.participantId).localeCompare(byCode(b.participantId));

  const attendance = (await tx.attendance.findMany()).sort(bySession);
  put(
    "attendance.csv",
    ["group", "session", "participant", "present"],
    attendance.map((a) => [...sessionCells(a.sessionId), byCode(a.participantId), a.present]),
  );

  const obsInstrument = flows.study.assignments.observation
    ? flows.instruments.get(flows.study.assignments.observation)
    : undefined;
  const dimOrder = new Map(obsInstrument?.items.map((it, i) => [it.id, i]) ?? []);
  const observations = (await tx.observation.findMany()).sort(
    (a, b) =>
      bySession(a, b) ||
      (dimOrder.get(a.dimension) ?? 99) - (dimOrder.get(b.dimension) ?? 99) ||
      a.dimension.localeCompare(b.dimension),
  );
  put(
    "observations.csv",
    ["group", "session", "participant", "dimension", "rating", "skipped", "note", "observed_at"],
    observations.map((o) => [
      ...sessionCells(o.sessionId),
      byCode(o.participantId),
      o.dimension,
      o.rating,
      o.skipped,
      o.note === null ? "" : redact(o.note),
      isoUtc(o.at),
    ]),
  );

  // reflections: the facilitators' answers per session; who wrote them stays out of the file.
  const reflections = await tx.reflection.findMany({
    select: { sessionId: true, responseSetId: true },
  });
  const reflectionSets = await tx.responseSet.findMany({
    where: {
      OR: [
        { id: { in: reflections.map((r) => r.responseSetId) } },
        { respondent: "facilitator", sessionId: { not: null }, participantId: null },
      ],
    },
    include: { answers: true },
    orderBy: { id: "asc" },
  });
  const sessionOfSet = new Map(reflections.map((r) => [r.responseSetId, r.sessionId]));
  const reflectionRows: Cell[][] = [];
  const perSession = new Map<number, number>();
  const orderedSets = reflectionSets
    .map((rs) => ({ rs, sessionId: rs.sessionId ?? sessionOfSet.get(rs.id) ?? null }))
    .sort((a, b) => sessionOrder(a.sessionId, b.sessionId) || a.rs.id - b.rs.id);
  for (const { rs, sessionId } of orderedSets) {
    const n = (perSession.get(sessionId ?? -1) ?? 0) + 1;
    perSession.set(sessionId ?? -1, n);
    for (const a of [...rs.answers].sort(itemOrder(flows.instruments.get(rs.instrumentId)))) {
      reflectionRows.push([
        ...sessionCells(sessionId),
        n,
        rs.instrumentId,
        a.instrumentHash,
        a.itemId,
        answerCell(a),
        rs.status,
        isoUtc(a.answeredAt),
      ]);
    }
  }
  put(
    "reflections.csv",
    [
      "group",
      "session",
      "reflection",
      "instrument",
      "instrument_hash",
      "item",
      "value",
      "status",
      "answered_at",
    ],
    reflectionRows,
  );

  const notes = await tx.note.findMany({ orderBy: { id: "asc" } });
  notes.sort(
    (a, b) =>
      byCode(a.participantId).localeCompare(byCode(b.participantId)) ||
      a.createdAt.getTime() - b.createdAt.getTime() ||
      a.id - b.id,
  );
  put(
    "notes.csv",
    ["participant", "kind", "session", "created_at", "codes", "text"],
    notes.map((n) => [
      byCode(n.participantId),
      n.kind,
      sessionCells(n.sessionId)[1],
      isoUtc(n.createdAt),
      parseCodes(n.codes).join(";"),
      redact(n.text),
    ]),
  );

  // satisfaction: complete session ratings, item values and the 0–40 total.
  const satItems =
    flows.instruments
      .get(SATISFACTION_INSTRUMENT)
      ?.items.filter((it) => it.type !== "text")
      .map((it) => it.id) ?? [];
  const sat = (await satisfactionTotals(tx, flows))
    .map((s) => ({ ...s, session: sessionById.get(s.sessionId) }))
    .sort(
      (a, b) =>
        sessionOrder(a.sessionId, b.sessionId) ||
        byCode(a.participantId).localeCompare(byCode(b.participantId)),
    );
  put(
    "satisfaction.csv",
    ["participant", "group", "session", ...satItems, "total"],
    sat.map((s) => [
      byCode(s.participantId),
      s.session?.group.name ?? "",
      s.session?.number ?? null,
      ...satItems.map((id) => s.values.get(id) ?? null),
      s.total,
    ]),
  );

  files["codebook.csv"] = {
    content: codebookCsv(flows),
    rows: flows.instrumentList.reduce((n, i) => n + i.items.length, 0),
  };
  files["codebook.json"] = {
    content: `${JSON.stringify(codebookJson(flows), null, 2)}\n`,
    rows: flows.instrumentList.length,
  };
  return files;
}

/** One turn of the event loop, so the bot's chats get in between long stretches of work. */
const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Every participant's response set with its answers, in pages: better-sqlite3 runs each query
 * synchronously on the event loop (and its promises resolve as microtasks, so awaiting them never
 * lets timers or sockets in), so one query for a large study's million answers would stall every
 * chat of the bot for seconds. Pages of a few thousand answers, with a turn of the event loop
 * between them, keep each pause short.
 */
async function pagedResponseSets(tx: Tx) {
  const PAGE = 100;
  const sets = [];
  for (let after = 0; ;) {
    const page = await tx.responseSet.findMany({
      where: { participantId: { not: null }, id: { gt: after } },
      include: { answers: true },
      orderBy: { id: "asc" },
      take: PAGE,
    });
    sets.push(...page);
    if (page.length < PAGE) return sets;
    after = page[page.length - 1]!.id;
    await turn();
  }
}

function parseCodes(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

/**
 * Writes the export into `dir` (created if needed; files of the same names are replaced). The data
 * are read in one snapshot, so the files agree with each other.
 */
export async function writeExport(
  db: Db,
  flows: LoadedFlows,
  dir: string,
  options: ExportOptions = {},
): Promise<WrittenExport> {
  // One snapshot on the read-only connection: the files agree with each other, and a long export
  // makes no parent, facilitator or other process wait.
  const files = await readSnapshot(db, (tx) => collect(tx, flows));
  mkdirSync(dir, { recursive: true });
  for (const name of EXPORT_FILES) {
    const f = files[name]!;
    // Write then rename, so a reader never sees half a file.
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, f.content, "utf8");
    renameSync(tmp, join(dir, name));
  }
  const list: ExportedFile[] = EXPORT_FILES.map((name) => ({ name, rows: files[name]!.rows }));
  // SPSS, R and Stata scripts read the CSV files just written; the CSVs themselves never change.
  const formats = options.formats ?? ["csv"];
  const locale = options.locale ?? flows.study.defaultLocale;
  const extra = await formatFiles({
    flows,
    formats,
    locale,
    files: Object.fromEntries(EXPORT_FILES.map((n) => [n, files[n]!.content])),
  });
  for (const f of extra) {
    const tmp = join(dir, `.${f.name}.tmp`);
    writeFileSync(tmp, f.content, "utf8");
    renameSync(tmp, join(dir, f.name));
    list.push({ name: f.name, rows: f.rows });
  }
  return { dir, files: list, scripts: extra.length > 0 ? { formats, locale } : null };
}

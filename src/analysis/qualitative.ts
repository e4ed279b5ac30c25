// The qualitative codes report: the facilitators' `/note` and `/interview` texts, counted by the
// study's codes (flows/study.yaml `codes:`) overall and by kind, arm, group and session, with the
// number of distinct children per code, code co-occurrence and the coded texts as excerpts.
//
// Which note counts where:
// - a note is one coded segment: the whole text, tagged with zero or more codes when it was saved;
// - arm and group are the child's (a note on a child whose group changed counts for the group the
//   child is in now; when the child has no group, the group of the note's session);
// - session is the one stored with the note (Note.sessionId): the session being logged for the
//   child's group when the note was saved, else one of that group held that day. A note written on
//   another day (an interview after the programme, a ward note between sessions) has none and is
//   counted under `session: null`: we do not guess a session from dates;
// - codes no longer in study.yaml but stored on notes are kept (after the codebook's, by id) with
//   `inCodebook: false`, so nothing a facilitator tagged disappears from the counts.
//
// Texts pass through the export's nickname redactor (a nickname a facilitator typed is replaced
// by the child's code); facilitators appear only as pseudonymous "facilitator-<n>" (numbered by
// account order, so re-exports keep the numbers). JSON and CSV never suppress small cells; the
// readable views in ./qualitative-view.ts do. The files leave Circle through the export use case
// (src/usecases/export.ts), which audits them.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSnapshot, type Db, type Tx } from "../db/client.js";
import { t, type Localized, type LoadedFlows } from "../study/model.js";
import { isoDate, isoUtc, toCsv, type Cell } from "./csv.js";
import { nicknameRedactor } from "./export.js";

export const NOTE_KINDS = ["note", "interview"] as const;

export interface NoteSession {
  group: string;
  number: number;
  /** YYYY-MM-DD, or null for a session not (yet) held. */
  heldOn: string | null;
}

/** One note or interview as the qualitative analysis sees it: pseudonymous, redacted. */
export interface CodedNote {
  id: number;
  participant: string;
  arm: string | null;
  group: string | null;
  gender: string;
  age: number;
  kind: string;
  createdAt: Date;
  session: NoteSession | null;
  /** Code ids, each once: the codebook's order first, then codes unknown to it. */
  codes: string[];
  /** The text with facilitators' nicknames for children replaced by the child's code. */
  text: string;
  /** "facilitator-<n>", or null when no account wrote it (e.g. an import). */
  author: string | null;
}

export interface LevelCount {
  segments: number;
  participants: number;
}

export interface Breakdown extends LevelCount {
  byKind: (LevelCount & { kind: string })[];
  byArm: (LevelCount & { arm: string | null })[];
  byGroup: (LevelCount & { group: string | null })[];
  bySession: (LevelCount & { session: number | null })[];
}

export interface Excerpt {
  note: number;
  participant: string;
  kind: string;
  createdAt: string;
  session: NoteSession | null;
  /** Every code on the note (this one included). */
  codes: string[];
  text: string;
}

export interface CodeSummary extends Breakdown {
  id: string;
  /** The label per locale from study.yaml; null for a code no longer in it. */
  label: Localized | null;
  inCodebook: boolean;
  excerpts: Excerpt[];
}

export interface CodeReport {
  generatedAt: string;
  study: string;
  /** Every note and interview; `coded` carry at least one code. */
  totals: Breakdown & { coded: number; uncoded: number };
  codes: CodeSummary[];
  /** Square matrices in `codes` order: notes (and distinct children) carrying both codes; the diagonal is the code's own count. */
  cooccurrence: { codes: string[]; segments: number[][]; participants: number[][] };
}

/** The levels every breakdown lists (with zeros), so tables line up across codes. */
interface Levels {
  kinds: string[];
  arms: (string | null)[];
  groups: (string | null)[];
  sessions: (number | null)[];
}

function parseCodes(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** Orders code ids: the codebook's order, then unknown ids alphabetically. */
function codeOrder(flows: LoadedFlows): (a: string, b: string) => number {
  const idx = new Map(flows.study.codes.map((c, i) => [c.id, i]));
  return (a, b) =>
    (idx.get(a) ?? Infinity) - (idx.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Reads every note with what the analysis needs, redacted and pseudonymous. */
export async function loadCodedNotes(db: Db, flows: LoadedFlows): Promise<CodedNote[]> {
  return (await loadQualitative(db, flows)).notes;
}

/** Everything the analysis reads, in one snapshot on the read-only connection (no writer waits). */
async function readQualitative(tx: Tx) {
  const notes = await tx.note.findMany({ orderBy: { id: "asc" } });
  const participants = await tx.participant.findMany({
    include: { group: { select: { name: true } } },
  });
  const sessions = await tx.groupSession.findMany({
    include: { group: { select: { name: true } } },
  });
  const nicknames = await tx.nickname.findMany({
    select: { nickname: true, participant: { select: { code: true } } },
  });
  const authorIds = [...new Set(notes.map((n) => n.accountId).filter((x) => x !== null))];
  // Numbered among all facilitator accounts (and any other author) by id: a facilitator keeps
  // their number when others write their first note later.
  const accounts = await tx.account.findMany({
    where: { OR: [{ role: "facilitator" }, { id: { in: authorIds } }] },
    select: { id: true },
    orderBy: { id: "asc" },
  });
  const groups = (await tx.group.findMany({ select: { name: true } })).map((g) => g.name);
  return { notes, participants, sessions, nicknames, accounts, groups };
}

/** The coded notes and the study's group names, from one snapshot. */
async function loadQualitative(
  db: Db,
  flows: LoadedFlows,
): Promise<{ notes: CodedNote[]; groups: string[] }> {
  const data = await readSnapshot(db, readQualitative);
  const redact = nicknameRedactor(
    data.nicknames.map((n) => ({ nickname: n.nickname, code: n.participant.code })),
  );
  const people = new Map(data.participants.map((p) => [p.id, p]));
  const sessions = new Map(data.sessions.map((s) => [s.id, s]));
  const author = new Map(data.accounts.map((a, i) => [a.id, `facilitator-${i + 1}`]));
  const order = codeOrder(flows);
  const out: CodedNote[] = [];
  for (const n of data.notes) {
    const p = people.get(n.participantId);
    if (!p) continue;
    const s = n.sessionId === null ? undefined : sessions.get(n.sessionId);
    const session: NoteSession | null = s
      ? { group: s.group.name, number: s.number, heldOn: isoDate(s.heldOn) }
      : null;
    out.push({
      id: n.id,
      participant: p.code,
      arm: p.arm,
      group: p.group?.name ?? session?.group ?? null,
      gender: p.gender,
      age: p.ageYears,
      kind: n.kind,
      createdAt: n.createdAt,
      session,
      codes: [...new Set(parseCodes(n.codes))].sort(order),
      text: redact(n.text),
      author: n.accountId === null ? null : (author.get(n.accountId) ?? null),
    });
  }
  // The export's order: by child, then time.
  out.sort(
    (a, b) =>
      (a.participant < b.participant ? -1 : a.participant > b.participant ? 1 : 0) ||
      a.createdAt.getTime() - b.createdAt.getTime() ||
      a.id - b.id,
  );
  return { notes: out, groups: data.groups };
}

function levelsOf(notes: readonly CodedNote[], flows: LoadedFlows, groups: string[]): Levels {
  const kinds: string[] = [...NOTE_KINDS];
  for (const n of notes) if (!kinds.includes(n.kind)) kinds.push(n.kind);
  const arms: (string | null)[] = flows.study.arms.map((a) => a.id);
  for (const n of notes) if (n.arm !== null && !arms.includes(n.arm)) arms.push(n.arm);
  if (notes.some((n) => n.arm === null)) arms.push(null);
  const groupSet = new Set(groups);
  for (const n of notes) if (n.group !== null) groupSet.add(n.group);
  const groupLevels: (string | null)[] = [...groupSet].sort();
  if (notes.some((n) => n.group === null)) groupLevels.push(null);
  const numbers = new Set(flows.study.sessions.map((s) => s.number));
  for (const n of notes) if (n.session) numbers.add(n.session.number);
  const sessions: (number | null)[] = [...numbers].sort((a, b) => a - b);
  // Always listed: most notes outside a session is a finding, not an error.
  sessions.push(null);
  return { kinds, arms, groups: groupLevels, sessions };
}

function count(notes: readonly CodedNote[]): LevelCount {
  return { segments: notes.length, participants: new Set(notes.map((n) => n.participant)).size };
}

function breakdown(notes: readonly CodedNote[], levels: Levels): Breakdown {
  const by = <K>(key: (n: CodedNote) => K, values: K[]) =>
    values.map((v) => ({ value: v, ...count(notes.filter((n) => key(n) === v)) }));
  return {
    ...count(notes),
    byKind: by((n) => n.kind, levels.kinds).map(({ value, ...c }) => ({ kind: value, ...c })),
    byArm: by((n) => n.arm, levels.arms).map(({ value, ...c }) => ({ arm: value, ...c })),
    byGroup: by((n) => n.group, levels.groups).map(({ value, ...c }) => ({ group: value, ...c })),
    bySession: by((n) => n.session?.number ?? null, levels.sessions).map(({ value, ...c }) => ({
      session: value,
      ...c,
    })),
  };
}

function excerpt(n: CodedNote): Excerpt {
  return {
    note: n.id,
    participant: n.participant,
    kind: n.kind,
    createdAt: isoUtc(n.createdAt),
    session: n.session,
    codes: n.codes,
    text: n.text,
  };
}

/**
 * The report from loaded notes (pure). `groups` lists the study's groups, so a group without notes
 * shows as 0 rather than missing.
 */
export function buildCodeReport(
  notes: readonly CodedNote[],
  flows: LoadedFlows,
  opts: { now: Date; groups?: string[] },
): CodeReport {
  const levels = levelsOf(notes, flows, opts.groups ?? []);
  const known = new Set(flows.study.codes.map((c) => c.id));
  const unknown = [...new Set(notes.flatMap((n) => n.codes))].filter((c) => !known.has(c)).sort();
  const ids = [...flows.study.codes.map((c) => c.id), ...unknown];
  const withCode = new Map(ids.map((id) => [id, notes.filter((n) => n.codes.includes(id))]));
  const codes: CodeSummary[] = ids.map((id) => {
    const tagged = withCode.get(id)!;
    return {
      id,
      label: flows.study.codes.find((c) => c.id === id)?.label ?? null,
      inCodebook: known.has(id),
      ...breakdown(tagged, levels),
      excerpts: tagged.map(excerpt),
    };
  });
  const both = (a: string, b: string) =>
    withCode.get(a)!.filter((n) => n.codes.includes(b)) as readonly CodedNote[];
  const coded = notes.filter((n) => n.codes.length > 0).length;
  return {
    generatedAt: opts.now.toISOString(),
    study: flows.study.id,
    totals: { ...breakdown(notes, levels), coded, uncoded: notes.length - coded },
    codes,
    cooccurrence: {
      codes: ids,
      segments: ids.map((a) => ids.map((b) => both(a, b).length)),
      participants: ids.map((a) => ids.map((b) => count(both(a, b)).participants)),
    },
  };
}

/** Loads and builds in one call (what the CLI and the bot use). */
export async function codeReport(
  db: Db,
  flows: LoadedFlows,
  now: Date = new Date(),
): Promise<{ report: CodeReport; notes: CodedNote[] }> {
  const { notes, groups } = await loadQualitative(db, flows);
  return { report: buildCodeReport(notes, flows, { now, groups }), notes };
}

/** A code's label in a locale (the id for a code no longer in the codebook). */
export function codeLabel(flows: LoadedFlows, id: string, locale: string): string {
  const c = flows.study.codes.find((x) => x.id === id);
  return c ? t(c.label, locale, flows.study.defaultLocale) : id;
}

/** Length in Unicode code points (what REFI-QDA positions count, and coded_segments.chars). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// CSV (conventions of ./csv.ts). Exports never suppress.

export const CODE_CSV_FILES = ["codes_summary.csv", "coded_segments.csv"] as const;

/** Marks the rows of codes_summary.csv that count all notes (code ids start with a letter). */
export const ALL_NOTES = "_all";

/**
 * Long format, one row per code × dimension × level: dimension "all" (level empty), "kind",
 * "arm", "group", "session" (empty level: none) and "co-occurrence" (level: the other code).
 * Rows with code "_all" count every note, the denominators.
 */
export function codesSummaryCsv(
  report: CodeReport,
  flows: LoadedFlows,
  locale: string,
): { content: string; rows: number } {
  const rows: Cell[][] = [];
  const emit = (code: string, label: string, inCodebook: boolean | null, b: Breakdown) => {
    const row = (dimension: string, level: Cell, c: LevelCount) =>
      rows.push([code, label, inCodebook, dimension, level, c.segments, c.participants]);
    row("all", "", b);
    for (const x of b.byKind) row("kind", x.kind, x);
    for (const x of b.byArm) row("arm", x.arm ?? "", x);
    for (const x of b.byGroup) row("group", x.group ?? "", x);
    for (const x of b.bySession) row("session", x.session, x);
  };
  emit(ALL_NOTES, "All notes and interviews", null, report.totals);
  const ids = report.cooccurrence.codes;
  for (const [i, c] of report.codes.entries()) {
    emit(c.id, codeLabel(flows, c.id, locale), c.inCodebook, c);
    for (const [j, other] of ids.entries()) {
      if (j === i) continue;
      rows.push([
        c.id,
        codeLabel(flows, c.id, locale),
        c.inCodebook,
        "co-occurrence",
        other,
        report.cooccurrence.segments[i]![j]!,
        report.cooccurrence.participants[i]![j]!,
      ]);
    }
  }
  const header = ["code", "label", "in_codebook", "dimension", "level", "segments", "participants"];
  return { content: toCsv(header, rows), rows: rows.length };
}

/** One row per note × code (an uncoded note: one row with an empty code), the text repeated. */
export function codedSegmentsCsv(
  notes: readonly CodedNote[],
  flows: LoadedFlows,
  locale: string,
): { content: string; rows: number } {
  const rows: Cell[][] = [];
  for (const n of notes) {
    const base: Cell[] = [
      n.id,
      n.participant,
      n.arm ?? "",
      n.group ?? "",
      n.gender,
      n.age,
      n.kind,
      n.session?.group ?? "",
      n.session?.number ?? null,
      n.session?.heldOn ?? "",
      isoUtc(n.createdAt),
    ];
    const tail: Cell[] = [codePointLength(n.text), n.text];
    if (n.codes.length === 0) rows.push([...base, "", "", ...tail]);
    for (const c of n.codes) rows.push([...base, c, codeLabel(flows, c, locale), ...tail]);
  }
  const header = [
    "note",
    "participant",
    "arm",
    "group",
    "gender",
    "age",
    "kind",
    "session_group",
    "session",
    "held_on",
    "created_at",
    "code",
    "label",
    "chars",
    "text",
  ];
  return { content: toCsv(header, rows), rows: rows.length };
}

export interface WrittenFile {
  name: string;
  /** Data rows (header excluded); for a .qdpx the number of sources. */
  rows: number;
}

/** Writes a file whole (write, then rename), so a reader never sees half of it. */
export function writeAtomically(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Writes codes_summary.csv and coded_segments.csv into `dir`. */
export function writeCodeCsv(
  flows: LoadedFlows,
  report: CodeReport,
  notes: readonly CodedNote[],
  dir: string,
  locale: string,
): WrittenFile[] {
  mkdirSync(dir, { recursive: true });
  const summary = codesSummaryCsv(report, flows, locale);
  const segments = codedSegmentsCsv(notes, flows, locale);
  writeAtomically(join(dir, "codes_summary.csv"), summary.content);
  writeAtomically(join(dir, "coded_segments.csv"), segments.content);
  return [
    { name: "codes_summary.csv", rows: summary.rows },
    { name: "coded_segments.csv", rows: segments.rows },
  ];
}

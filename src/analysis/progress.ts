// Where the study stands: who has answered what, how the group sessions went, and what is still
// missing. The CLI's `circle progress` and the bot's /progress print the same object (contract:
// keep the field names).
import type { Tx } from "../db/client.js";
import type { Instrument, LoadedFlows } from "../study/model.js";
import { slotOrder, timepointAssignments } from "../usecases/assignments.js";
import { isoDate } from "./csv.js";
import { displayWidth } from "./display-width.js";
import { satisfactionTotal as totalOfRating } from "../domain/satisfaction.js";

/** The parents' rating after each session; its 0–40 total is the sum of its items. */
export const SATISFACTION_INSTRUMENT = "session-satisfaction";

export type QuestionnaireStatus = "pending" | "in_progress" | "complete";

export interface QuestionnaireProgress {
  timepoint: string;
  instrument: string;
  respondent: string;
  status: QuestionnaireStatus;
  /** Answer rows (answered or deliberately skipped). */
  answered: number;
  /** Items in the instrument (skip logic may hide some, so a complete set can answer fewer). */
  total: number;
}

export interface ParticipantProgress {
  code: string;
  arm: string | null;
  group: string | null;
  status: string;
  questionnaires: QuestionnaireProgress[];
}

export interface SessionProgress {
  group: string;
  number: number;
  /** YYYY-MM-DD (UTC) or null when not held yet. */
  date: string | null;
  status: string;
  /** Children present. */
  attendance: number;
  absent: number;
  logComplete: boolean;
  satisfaction: { responses: number; mean: number | null };
}

export interface CompletionRow {
  timepoint: string;
  instrument: string;
  respondent: string;
  complete: number;
  inProgress: number;
  pending: number;
}

export interface ProgressSummary {
  participants: {
    total: number;
    byArm: { experimental: number; control: number; none: number };
    byGroup: Record<string, number>;
    byStatus: Record<string, number>;
  };
  completion: CompletionRow[];
  sessionsHeld: number;
  attendanceRate: number | null;
  missingLogs: number;
  satisfactionMean: number | null;
}

export interface Progress {
  participants: ParticipantProgress[];
  sessions: SessionProgress[];
  summary: ProgressSummary;
}

const PARTICIPANT_STATUSES = ["invited", "enrolled", "consented", "declined", "withdrawn"];
const RESPONDENT_ORDER: Record<string, number> = { parent: 0, child: 1, facilitator: 2 };
/** Participants who may still answer; declined and withdrawn ones get no placeholders. */
const OPEN_STATUSES = new Set(["invited", "enrolled", "consented"]);

export function questionnaireStatus(s: string): QuestionnaireStatus {
  if (s === "complete") return "complete";
  if (s === "in_progress" || s === "paused") return "in_progress";
  return "pending";
}

/** 0–40 session rating: the sum of the instrument's numeric items, null if any is missing (domain). */
export function satisfactionTotal(
  instrument: Instrument | undefined,
  values: ReadonlyMap<string, number | null>,
): number | null {
  return instrument ? totalOfRating(instrument.items, values) : null;
}

export function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function instrumentRank(flows: LoadedFlows): (id: string) => number {
  const rank = new Map(flows.instrumentList.map((ins, i) => [ins.id, i]));
  return (id) => rank.get(id) ?? flows.instrumentList.length;
}

/** Study order: timepoint/slot, then parent before child, then instrument load order. */
export function questionnaireComparator(flows: LoadedFlows) {
  const rank = instrumentRank(flows);
  return (
    a: { timepoint: string; respondent: string; instrument: string },
    b: { timepoint: string; respondent: string; instrument: string },
  ): number =>
    slotOrder(flows, a.timepoint) - slotOrder(flows, b.timepoint) ||
    (RESPONDENT_ORDER[a.respondent] ?? 9) - (RESPONDENT_ORDER[b.respondent] ?? 9) ||
    rank(a.instrument) - rank(b.instrument) ||
    a.instrument.localeCompare(b.instrument);
}

export interface SessionLogFacts {
  attendanceRows: number;
  presentIds: readonly number[];
  /** participantId → dimensions with an observation row (rated or skipped). */
  observed: ReadonlyMap<number, ReadonlySet<string>>;
  reflectionComplete: boolean;
}

/**
 * A session's log is complete when attendance was taken, every present child has an observation
 * row (rating or skip) on every rated dimension of the study's observation instrument, and a
 * facilitator reflection is complete. Parts the study does not use are not required.
 */
/** The rated items of the study's observation instrument (its free-text note is optional). */
export function observationDimensions(flows: LoadedFlows): string[] {
  const id = flows.study.assignments.observation;
  const ins = id ? flows.instruments.get(id) : undefined;
  return ins ? ins.items.filter((it) => it.type !== "text").map((it) => it.id) : [];
}

export function isLogComplete(flows: LoadedFlows, f: SessionLogFacts): boolean {
  if (f.attendanceRows === 0) return false;
  const dims = observationDimensions(flows);
  for (const pid of f.presentIds) {
    const seen = f.observed.get(pid);
    if (dims.some((d) => !seen?.has(d))) return false;
  }
  const needsReflection = flows.study.assignments.afterSession.facilitator.length > 0;
  return !needsReflection || f.reflectionComplete;
}

export async function buildProgress(db: Tx, flows: LoadedFlows): Promise<Progress> {
  const compare = questionnaireComparator(flows);
  const timepoints = new Set(flows.study.timepoints.map((t) => t.id));
  const first = flows.study.timepoints[0]?.id;

  const participants = await db.participant.findMany({
    orderBy: { code: "asc" },
    include: { group: { select: { name: true } } },
  });
  const sets = await db.responseSet.findMany({
    where: { participantId: { not: null }, slot: { in: [...timepoints] } },
    select: {
      participantId: true,
      slot: true,
      instrumentId: true,
      respondent: true,
      status: true,
      _count: { select: { answers: true } },
    },
  });
  const setsByParticipant = new Map<number, typeof sets>();
  for (const s of sets) {
    const list = setsByParticipant.get(s.participantId!) ?? [];
    list.push(s);
    setsByParticipant.set(s.participantId!, list);
  }

  const participantRows: ParticipantProgress[] = participants.map((p) => {
    const own = setsByParticipant.get(p.id) ?? [];
    const qs: QuestionnaireProgress[] = own.map((s) => ({
      timepoint: s.slot,
      instrument: s.instrumentId,
      respondent: s.respondent,
      status: questionnaireStatus(s.status),
      answered: s._count.answers,
      total: flows.instruments.get(s.instrumentId)?.items.length ?? s._count.answers,
    }));
    // Before the first timepoint opens (at consent), show what the family will be asked.
    if (first && OPEN_STATUSES.has(p.status)) {
      const have = new Set(
        own.filter((s) => s.slot === first).map((s) => `${s.instrumentId}|${s.respondent}`),
      );
      for (const a of timepointAssignments(flows, first, p.arm)) {
        if (have.has(`${a.instrument.id}|${a.respondent}`)) continue;
        qs.push({
          timepoint: first,
          instrument: a.instrument.id,
          respondent: a.respondent,
          status: "pending",
          answered: 0,
          total: a.instrument.items.length,
        });
      }
    }
    qs.sort(compare);
    return {
      code: p.code,
      arm: p.arm,
      group: p.group?.name ?? null,
      status: p.status,
      questionnaires: qs,
    };
  });

  const totals = await satisfactionTotals(db, flows);
  const sessions = await sessionProgress(db, flows, totals);

  const byArm = { experimental: 0, control: 0, none: 0 };
  const byGroup: Record<string, number> = {};
  const byStatus: Record<string, number> = Object.fromEntries(
    PARTICIPANT_STATUSES.map((s) => [s, 0]),
  );
  for (const p of participantRows) {
    if (p.arm === "experimental" || p.arm === "control") byArm[p.arm]++;
    else byArm.none++;
    if (p.group !== null) byGroup[p.group] = (byGroup[p.group] ?? 0) + 1;
    byStatus[p.status] = (byStatus[p.status] ?? 0) + 1;
  }

  const completion = new Map<string, CompletionRow>();
  const row = (timepoint: string, instrument: string, respondent: string): CompletionRow => {
    const key = `${timepoint}|${instrument}|${respondent}`;
    let r = completion.get(key);
    if (!r) {
      r = { timepoint, instrument, respondent, complete: 0, inProgress: 0, pending: 0 };
      completion.set(key, r);
    }
    return r;
  };
  // Every assigned combination appears, even before anyone has been asked.
  for (const a of flows.study.assignments.timepoints) {
    for (const respondent of ["parent", "child"] as const) {
      for (const id of a[respondent]) row(a.timepoint, id, respondent);
    }
  }
  for (const p of participantRows) {
    for (const q of p.questionnaires) {
      const r = row(q.timepoint, q.instrument, q.respondent);
      if (q.status === "complete") r.complete++;
      else if (q.status === "in_progress") r.inProgress++;
      else r.pending++;
    }
  }

  const held = sessions.filter((s) => s.status !== "planned");
  const present = sessions.reduce((n, s) => n + s.attendance, 0);
  const absent = sessions.reduce((n, s) => n + s.absent, 0);

  return {
    participants: participantRows,
    sessions,
    summary: {
      participants: { total: participantRows.length, byArm, byGroup, byStatus },
      completion: [...completion.values()].sort(compare),
      sessionsHeld: held.length,
      attendanceRate: present + absent === 0 ? null : present / (present + absent),
      missingLogs: held.filter((s) => !s.logComplete).length,
      satisfactionMean: mean(totals.filter((t) => t.total !== null).map((t) => t.total!)),
    },
  };
}

export interface SatisfactionSet {
  sessionId: number;
  participantId: number | null;
  values: Map<string, number | null>;
  total: number | null;
}

/** Complete session-satisfaction sets with their item values and 0–40 totals. */
export async function satisfactionTotals(db: Tx, flows: LoadedFlows): Promise<SatisfactionSet[]> {
  const instrument = flows.instruments.get(SATISFACTION_INSTRUMENT);
  const rows = await db.responseSet.findMany({
    where: { instrumentId: SATISFACTION_INSTRUMENT, sessionId: { not: null }, status: "complete" },
    orderBy: { id: "asc" },
    include: { answers: { select: { itemId: true, value: true, skipped: true } } },
  });
  return rows.map((rs) => {
    const values = new Map(rs.answers.map((a) => [a.itemId, a.skipped ? null : a.value]));
    return {
      sessionId: rs.sessionId!,
      participantId: rs.participantId,
      values,
      total: satisfactionTotal(instrument, values),
    };
  });
}

async function sessionProgress(
  db: Tx,
  flows: LoadedFlows,
  totals: readonly SatisfactionSet[],
): Promise<SessionProgress[]> {
  const rows = await db.groupSession.findMany({
    include: {
      group: { select: { name: true } },
      attendance: { select: { participantId: true, present: true } },
      observations: { select: { participantId: true, dimension: true } },
      reflections: { select: { responseSetId: true } },
    },
  });
  rows.sort((a, b) => a.group.name.localeCompare(b.group.name) || a.number - b.number);
  const reflectionSets = await db.responseSet.findMany({
    where: { id: { in: rows.flatMap((r) => r.reflections.map((x) => x.responseSetId)) } },
    select: { id: true, status: true },
  });
  const completeReflections = new Set(
    reflectionSets.filter((r) => r.status === "complete").map((r) => r.id),
  );

  return rows.map((s) => {
    const observed = new Map<number, Set<string>>();
    for (const o of s.observations) {
      const set = observed.get(o.participantId) ?? new Set<string>();
      set.add(o.dimension);
      observed.set(o.participantId, set);
    }
    const presentIds = s.attendance.filter((a) => a.present).map((a) => a.participantId);
    const mine = totals.filter((t) => t.sessionId === s.id);
    return {
      group: s.group.name,
      number: s.number,
      date: isoDate(s.heldOn),
      status: s.status,
      attendance: presentIds.length,
      absent: s.attendance.length - presentIds.length,
      logComplete: isLogComplete(flows, {
        attendanceRows: s.attendance.length,
        presentIds,
        observed,
        reflectionComplete: s.reflections.some((r) => completeReflections.has(r.responseSetId)),
      }),
      satisfaction: {
        responses: mine.length,
        mean: mean(mine.filter((t) => t.total !== null).map((t) => t.total!)),
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Text rendering

const LABELS = {
  en: {
    participants: "Participants",
    experimental: "experimental",
    control: "control",
    none: "no arm",
    byGroup: "by group",
    byStatus: "by status",
    noGroup: "(no group)",
    questionnaires: "Questionnaires",
    timepoint: "timepoint",
    instrument: "instrument",
    respondent: "respondent",
    complete: "complete",
    inProgress: "in progress",
    pending: "pending",
    sessions: "Sessions",
    group: "group",
    session: "#",
    date: "date",
    status: "status",
    present: "present",
    log: "log",
    logOk: "complete",
    logMissing: "MISSING",
    satisfaction: "satisfaction n / mean (0–40)",
    noSessions: "no group sessions yet",
    noParticipants: "no participants yet",
    sessionsHeld: "sessions held",
    attendanceRate: "attendance",
    missingLogs: "logs missing",
    satisfactionMean: "satisfaction mean",
    perParticipant: "By participant (complete/assigned per timepoint)",
    code: "code",
    arm: "arm",
  },
  zh: {
    participants: "参与者",
    experimental: "实验组",
    control: "对照组",
    none: "未分组",
    byGroup: "按小组",
    byStatus: "按状态",
    noGroup: "（无小组）",
    questionnaires: "问卷",
    timepoint: "时间点",
    instrument: "问卷",
    respondent: "填写人",
    complete: "已完成",
    inProgress: "进行中",
    pending: "待填",
    sessions: "小组活动",
    group: "小组",
    session: "#",
    date: "日期",
    status: "状态",
    present: "出席",
    log: "记录",
    logOk: "完整",
    logMissing: "缺失",
    satisfaction: "满意度 n / 均值 (0–40)",
    noSessions: "尚无小组活动",
    noParticipants: "尚无参与者",
    sessionsHeld: "已举行活动",
    attendanceRate: "出席率",
    missingLogs: "缺少记录",
    satisfactionMean: "满意度均值",
    perParticipant: "按参与者（各时间点 已完成/已分配）",
    code: "编号",
    arm: "组别",
  },
} as const;

const width = displayWidth;

function table(
  header: string[],
  rows: string[][],
  rightAligned: ReadonlySet<number> = new Set(),
): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => {
        const pad = " ".repeat(Math.max(0, widths[i]! - width(c)));
        return rightAligned.has(i) ? pad + c : c + pad;
      })
      .join("  ")
      .trimEnd();
  return [fmt(header), fmt(header.map((_, i) => "-".repeat(widths[i]!))), ...rows.map(fmt)];
}

const num = (x: number | null, digits = 1) => (x === null ? "–" : x.toFixed(digits));
const pct = (x: number | null) => (x === null ? "–" : `${Math.round(x * 100)}%`);

export function formatProgressText(progress: Progress, locale = "en"): string {
  const L = locale.startsWith("zh") ? LABELS.zh : LABELS.en;
  const s = progress.summary;
  const out: string[] = [];
  const armLabel = (a: string | null) =>
    a === "experimental" ? L.experimental : a === "control" ? L.control : L.none;

  out.push(
    `${L.participants}: ${s.participants.total} (${L.experimental} ${s.participants.byArm.experimental}, ${L.control} ${s.participants.byArm.control}, ${L.none} ${s.participants.byArm.none})`,
  );
  const groups = Object.entries(s.participants.byGroup).sort(([a], [b]) => a.localeCompare(b));
  const ungrouped = s.participants.total - groups.reduce((n, [, c]) => n + c, 0);
  if (groups.length > 0 || ungrouped > 0) {
    const parts = groups.map(([g, n]) => `${g} ${n}`);
    if (ungrouped > 0) parts.push(`${L.noGroup} ${ungrouped}`);
    out.push(`  ${L.byGroup}: ${parts.join(", ")}`);
  }
  const statuses = Object.entries(s.participants.byStatus).filter(([, n]) => n > 0);
  if (statuses.length > 0)
    out.push(`  ${L.byStatus}: ${statuses.map(([k, n]) => `${k} ${n}`).join(", ")}`);

  out.push("", L.questionnaires);
  out.push(
    ...table(
      [L.timepoint, L.instrument, L.respondent, L.complete, L.inProgress, L.pending],
      s.completion.map((c) => [
        c.timepoint,
        c.instrument,
        c.respondent,
        String(c.complete),
        String(c.inProgress),
        String(c.pending),
      ]),
      new Set([3, 4, 5]),
    ),
  );

  if (progress.participants.length === 0) {
    out.push("", L.noParticipants);
  } else {
    const tps = [
      ...new Set(progress.participants.flatMap((p) => p.questionnaires.map((q) => q.timepoint))),
    ];
    out.push("", L.perParticipant);
    out.push(
      ...table(
        [L.code, L.arm, L.group, L.status, ...tps],
        progress.participants.map((p) => [
          p.code,
          armLabel(p.arm),
          p.group ?? "",
          p.status,
          ...tps.map((tp) => {
            const qs = p.questionnaires.filter((q) => q.timepoint === tp);
            return qs.length === 0
              ? ""
              : `${qs.filter((q) => q.status === "complete").length}/${qs.length}`;
          }),
        ]),
      ),
    );
  }

  out.push("", L.sessions);
  if (progress.sessions.length === 0) out.push(L.noSessions);
  else
    out.push(
      ...table(
        [L.group, L.session, L.date, L.status, L.present, L.log, L.satisfaction],
        progress.sessions.map((x) => [
          x.group,
          String(x.number),
          x.date ?? "",
          x.status,
          String(x.attendance),
          x.status === "planned" ? "" : x.logComplete ? L.logOk : L.logMissing,
          x.satisfaction.responses === 0
            ? "–"
            : `${x.satisfaction.responses} / ${num(x.satisfaction.mean)}`,
        ]),
        new Set([1, 4]),
      ),
    );
  out.push(
    "",
    `${L.sessionsHeld} ${s.sessionsHeld} · ${L.attendanceRate} ${pct(s.attendanceRate)} · ${L.missingLogs} ${s.missingLogs} · ${L.satisfactionMean} ${num(s.satisfactionMean)}`,
  );
  return out.join("\n");
}

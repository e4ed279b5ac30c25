// Protocol-deviation checks, run by every planning pass over the data as it stands. Each finding
// has a stable key, so it is reported once however often it is found again:
//   window:<responseSet>         a timepoint questionnaire started outside its window (for the
//                                post-test: before the group's last session)
//   session-unlogged:<session>   a session without a closed log 24 h after its date
//   no-consent:<participant>     research data for a participant without consent and assent
import type { Db, Tx } from "../db/client.js";
import { consentFacts, startedTimepointSets } from "../store/scheduler-reads.js";
import type { LoadedFlows } from "../study/model.js";
import { dayAt, formatDay, formatLocal, formatLocalDay, studyDay, type StudyDay } from "./zone.js";

export const LOG_GRACE_MS = 24 * 3_600_000;

/**
 * When a session counts as not logged in time: 24 h after its date (for a calendar date, 24 h
 * after the day began, i.e. when the session day is over; for a date with a time, 24 h after it).
 */
export function logOverdueAt(date: Date, timeZone: string): Date {
  return new Date(studyDay(date, timeZone).at.getTime() + LOG_GRACE_MS);
}

const dateLabel = (day: StudyDay, timeZone: string) =>
  formatLocalDay(dayAt(day, 0, 0, timeZone), timeZone);

/** A message whose flow texts (instrument title, timepoint label) are resolved in the reader's language. */
export interface AlertMessage {
  key: string;
  vars: Record<string, string | number>;
  instrumentId?: string;
  timepointId?: string;
  /** A nested phrase (the window's anchor), rendered in the reader's language into vars.anchor. */
  anchor?: { key: string; vars: Record<string, string | number> };
}

export interface Deviation {
  key: string;
  check: "window" | "session-unlogged" | "no-consent";
  entity: string;
  entityId: number;
  message: AlertMessage;
  /** What the audit trail records (codes and ids, no Telegram ids). */
  facts: Record<string, unknown>;
}

/** When a session took place, or is to: the log's date, else the plan, else when the log was closed. */
export function sessionDate(s: {
  heldOn: Date | null;
  plannedOn: Date | null;
  closedAt: Date | null;
}): Date | null {
  return s.heldOn ?? s.plannedOn ?? s.closedAt;
}

/**
 * Every protocol deviation in the data. `flagged` holds the keys of deviations already alerted:
 * they are not worked out again (a steady planning pass over a large study skips nearly all).
 */
export async function findDeviations(
  db: Db,
  flows: LoadedFlows,
  now: Date,
  timeZone: string,
  flagged: ReadonlySet<string> = new Set(),
): Promise<Deviation[]> {
  return [
    ...(await windowDeviations(db, flows, timeZone, flagged)),
    ...(await unloggedSessions(db, now, timeZone)),
    ...(await dataWithoutConsent(db, flagged)),
  ];
}

async function windowDeviations(
  db: Db,
  flows: LoadedFlows,
  timeZone: string,
  flagged: ReadonlySet<string>,
): Promise<Deviation[]> {
  const numbers = flows.study.sessions.map((x) => x.number);
  const first = Math.min(...numbers);
  const last = Math.max(...numbers);
  // Compact rows (prepared SQL) for the sets, Prisma for the few groups: the planner runs every
  // minute over every started questionnaire of the study.
  const groups = new Map(
    (await db.group.findMany({ include: { sessions: true } })).map((g) => [g.id, g]),
  );
  const sets = await startedTimepointSets(db);
  const out: Deviation[] = [];
  for (const rs of sets) {
    if (flagged.has(`window:${rs.id}`)) continue;
    const p = {
      ...rs.participant,
      group: rs.participant.groupId === null ? null : (groups.get(rs.participant.groupId) ?? null),
    };
    const tp = flows.study.timepoints.find((x) => x.id === rs.timepoint);
    if (!tp) continue;
    const { anchor, openDays, closeDays } = tp.window;
    let anchorDay: StudyDay | null;
    let anchorPhrase: AlertMessage["anchor"];
    if (anchor === "enrolment") {
      anchorDay = studyDay(p.enrolledAt, timeZone, { instant: true });
      anchorPhrase = {
        key: "sched-anchor-enrolment",
        vars: { date: dateLabel(anchorDay, timeZone) },
      };
    } else {
      // Without a group there is no session to measure from: nothing can be said.
      if (!p.group) continue;
      const number = anchor === "first-session" ? first : last;
      const row = p.group.sessions.find((x) => x.number === number);
      const date = row ? sessionDate(row) : null;
      anchorDay = date ? studyDay(date, timeZone) : null;
      anchorPhrase = anchorDay
        ? {
            key: "sched-anchor-session",
            vars: { number, group: p.group.name, date: dateLabel(anchorDay, timeZone) },
          }
        : { key: "sched-anchor-session-undated", vars: { number, group: p.group.name } };
    }
    const started = rs.startedAt!;
    const base = { code: p.code, started: formatLocal(started, timeZone) };
    const facts = {
      participant: p.code,
      responseSet: rs.id,
      timepoint: tp.id,
      instrument: rs.instrumentId,
      startedAt: started.toISOString(),
    };
    const finding = (
      key: string,
      vars: Record<string, string | number>,
      extra: Record<string, unknown>,
    ): Deviation => ({
      key: `window:${rs.id}`,
      check: "window",
      entity: "ResponseSet",
      entityId: rs.id,
      message: {
        key,
        vars: { ...base, ...vars },
        instrumentId: rs.instrumentId,
        timepointId: tp.id,
        anchor: anchorPhrase,
      },
      facts: { ...facts, ...extra },
    });
    if (!anchorDay) {
      // The anchor session has no date yet, so it has not happened: a window that opens on or
      // after it has not opened. (One that opens before it cannot be judged yet.)
      if (openDays >= 0)
        out.push(finding("sched-alert-window-undated", {}, { reason: "before-anchor", anchor }));
      continue;
    }
    const opens = dayAt(anchorDay, openDays, 0, timeZone);
    const closesAfter = dayAt(anchorDay, closeDays + 1, 0, timeZone);
    if (started < opens) {
      out.push(
        finding(
          "sched-alert-window-early",
          { opens: formatLocalDay(opens, timeZone) },
          { reason: "early", anchor, opens: opens.toISOString() },
        ),
      );
    } else if (started >= closesAfter) {
      const lastDay = dayAt(anchorDay, closeDays, 0, timeZone);
      out.push(
        finding(
          "sched-alert-window-late",
          { closes: formatLocalDay(lastDay, timeZone) },
          { reason: "late", anchor, closes: lastDay.toISOString() },
        ),
      );
    }
  }
  return out;
}

async function unloggedSessions(db: Tx, now: Date, timeZone: string): Promise<Deviation[]> {
  const sessions = await db.groupSession.findMany({
    where: { status: { not: "closed" } },
    include: { group: true },
    orderBy: { id: "asc" },
  });
  const out: Deviation[] = [];
  for (const s of sessions) {
    const date = sessionDate(s);
    if (!date || now < logOverdueAt(date, timeZone)) continue;
    out.push({
      key: `session-unlogged:${s.id}`,
      check: "session-unlogged",
      entity: "GroupSession",
      entityId: s.id,
      message: {
        key: "sched-alert-session-unlogged",
        vars: {
          number: s.number,
          group: s.group.name,
          date: formatDay(studyDay(date, timeZone), timeZone),
        },
      },
      facts: {
        session: s.id,
        group: s.group.name,
        number: s.number,
        status: s.status,
        date: date.toISOString(),
      },
    });
  }
  return out;
}

/**
 * Research data (answers, observations, notes) for a participant who has not agreed. Where the
 * family used the bot, the latest consent and the latest assent must both be "agree". Data that
 * came only from paper (import) or from facilitators carries no consent record in Circle; then
 * the participant's status must show consent was given (consented, or withdrawn afterwards).
 */
async function dataWithoutConsent(db: Db, flagged: ReadonlySet<string>): Promise<Deviation[]> {
  const out: Deviation[] = [];
  for (const p of await consentFacts(db)) {
    if (!p.hasAnswers && p.observations === 0 && p.notes === 0) continue;
    if (flagged.has(`no-consent:${p.id}`)) continue;
    const latest = (kind: string) => p.consents.filter((c) => c.kind === kind).at(-1)?.decision;
    const recorded = latest("consent") === "agree" && latest("assent") === "agree";
    const ok =
      p.viaBot || p.consents.length > 0
        ? recorded
        : p.status === "consented" || p.status === "withdrawn";
    if (ok) continue;
    const answers = await db.answer.count({ where: { responseSet: { participantId: p.id } } });
    out.push({
      key: `no-consent:${p.id}`,
      check: "no-consent",
      entity: "Participant",
      entityId: p.id,
      message: {
        key: "sched-alert-no-consent",
        vars: { code: p.code, answers, observations: p.observations, notes: p.notes },
      },
      facts: {
        participant: p.code,
        status: p.status,
        answers,
        observations: p.observations,
        notes: p.notes,
      },
    });
  }
  return out;
}

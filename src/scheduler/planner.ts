// The planning pass: derives jobs from the data as it stands, idempotently (every job has a
// dedupe key), so it can run on every tick, after a restart, or in two processes at once.
// What a job will say, and whether it is still wanted, is decided again when it runs.
import type { Job, ResponseSet } from "../generated/prisma/client.js";
import type { Tx } from "../db/client.js";
import { firstToAsk } from "../usecases/assignments.js";
import type { PlanDeps } from "../notify/ports.js";
import {
  existingJobKeys,
  jobKeysWithPrefix,
  jobsOfKind,
  lastFamilyAnswers,
  openFamilySets,
  type JobFacts,
  type OpenFamilySet,
} from "../store/scheduler-reads.js";
import { enqueueJobs, type JobInput } from "./jobs.js";
import { ratingCheckJob } from "./outbox.js";
import { findDeviations, logOverdueAt, sessionDate, type Deviation } from "./protocol.js";
import { dayAt, studyDay } from "./zone.js";

export const JOB = {
  reminder: "reminder",
  sessionReminder: "session-reminder",
  logOverdue: "log-overdue",
  /** A protocol deviation found: fans out into one `alert` per opted-in coordinator. */
  deviation: "deviation",
  alert: "alert",
  /** Newly opened questionnaires (e.g. `circle timepoint open post`): tell the family once. */
  announce: "announce",
  /** A timepoint anchored on a group's last session whose window opens later (a follow-up). */
  openTimepoint: "open-timepoint",
} as const;

const HOUR = 3_600_000;
/** Local hour of the day-before reminder for a session planned by date. */
export const SESSION_REMINDER_HOUR = 9;

export interface ReminderPayload {
  responseSetId: number;
  n: number;
}
export interface SessionPayload {
  sessionId: number;
  accountId: number;
  /** The date the reminder was planned for; a rescheduled session gets a new reminder. */
  plannedOn?: string;
}
export type DeviationPayload = Deviation;
export interface OpenTimepointPayload {
  groupId: number;
  timepoint: string;
  /** The last session's date the opening was planned from; a corrected date plans a new one. */
  lastSession: string;
}
export interface AlertPayload {
  accountId: number;
  deviation: string;
  message: Deviation["message"];
}

/** Questionnaires a family can still be reminded about. */
export const OPEN_STATUSES = ["pending", "in_progress", "paused"];

export const reminderKey = (responseSetId: number, n: number) => `reminder:${responseSetId}:${n}`;

/** Reminder jobs of one response set, oldest first. */
export async function reminderJobs(db: Tx, responseSetId: number): Promise<Job[]> {
  return db.job.findMany({
    where: { kind: JOB.reminder, dedupeKey: { startsWith: `reminder:${responseSetId}:` } },
    orderBy: { id: "asc" },
  });
}

/** When the family last did something in Circle: its latest answer, on any of its own questionnaires. */
export async function lastFamilyAnswer(db: Tx, participantId: number): Promise<Date | null> {
  const a = await db.answer.findFirst({
    where: { responseSet: { participantId, respondent: { in: ["parent", "child"] } } },
    orderBy: { answeredAt: "desc" },
    select: { answeredAt: true },
  });
  return a?.answeredAt ?? null;
}

/**
 * When the next reminder for this response set is due: REMINDER_INTERVAL_HOURS after the latest
 * of its assignment, its start, the family's last answer and the last reminder sent for it.
 */
export function reminderDueAt(
  intervalHours: number,
  rs: Pick<ResponseSet, "createdAt" | "startedAt">,
  lastAnswer: Date | null,
  sent: Pick<Job, "doneAt" | "lastError">[],
): Date {
  let base = Math.max(
    rs.createdAt.getTime(),
    rs.startedAt?.getTime() ?? 0,
    lastAnswer?.getTime() ?? 0,
  );
  for (const j of sent)
    if (j.doneAt && j.lastError === null) base = Math.max(base, j.doneAt.getTime());
  return new Date(base + intervalHours * HOUR);
}

/** Accounts a participant's reminders go to: the family's active parent chats. */
export async function parentChats(db: Tx, participantId: number) {
  return db.account.findMany({
    where: { participantId, role: "parent", active: true, chatId: { not: null } },
    orderBy: { id: "asc" },
  });
}

/** The group's facilitators (and the session's own facilitator) who can be messaged. */
export async function sessionFacilitators(
  db: Tx,
  session: { groupId: number; facilitatorAccountId: number | null },
) {
  return db.account.findMany({
    where: {
      active: true,
      chatId: { not: null },
      OR: [
        { groups: { some: { groupId: session.groupId } } },
        ...(session.facilitatorAccountId ? [{ id: session.facilitatorAccountId }] : []),
      ],
    },
    orderBy: { id: "asc" },
  });
}

/** Coordinators who asked for protocol alerts. */
export async function alertRecipients(db: Tx) {
  return db.account.findMany({
    where: { role: "admin", alertsOptIn: true, active: true, chatId: { not: null } },
    orderBy: { id: "asc" },
  });
}

/**
 * Reminders, in three statements however large the study: the planner runs every minute, and
 * per-family queries made a 5,000-family pass take tens of seconds. Reads the open questionnaires
 * of every family a reminder can reach, the reminder jobs so far, and (only for families that may
 * get a new reminder) the time of their last answer.
 */
async function planReminders(s: PlanDeps): Promise<JobInput[]> {
  const max = s.config.REMINDER_MAX;
  if (max <= 0) return [];
  // Remind about what /resume would show next, so one family gets one reminder at a time.
  const byFamily = new Map<number, OpenFamilySet[]>();
  for (const rs of await openFamilySets(s.db)) {
    const list = byFamily.get(rs.participantId) ?? [];
    list.push(rs);
    byFamily.set(rs.participantId, list);
  }
  const next = new Map<number, OpenFamilySet>();
  for (const [participantId, sets] of byFamily) {
    const first = firstToAsk(s.flows, sets);
    if (first && OPEN_STATUSES.includes(first.status)) next.set(participantId, first);
  }
  if (next.size === 0) return [];

  const jobsBySet = new Map<number, JobFacts[]>();
  for (const j of await jobsOfKind(s.db, JOB.reminder)) {
    const id = Number(j.dedupeKey?.split(":")[1]);
    const list = jobsBySet.get(id) ?? [];
    list.push(j);
    jobsBySet.set(id, list);
  }
  const candidates = [...next].filter(([, rs]) => {
    const jobs = jobsBySet.get(rs.id) ?? [];
    return jobs.length < max && !jobs.some((j) => !j.doneAt);
  });
  if (candidates.length === 0) return [];
  const lastAnswer = await lastFamilyAnswers(
    s.db,
    candidates.map(([participantId]) => participantId),
  );
  return candidates.map(([participantId, rs]) => {
    const jobs = jobsBySet.get(rs.id) ?? [];
    const n = jobs.length + 1;
    return {
      kind: JOB.reminder,
      dueAt: reminderDueAt(
        s.config.REMINDER_INTERVAL_HOURS,
        rs,
        lastAnswer.get(participantId) ?? null,
        jobs,
      ),
      dedupeKey: reminderKey(rs.id, n),
      payload: { responseSetId: rs.id, n } satisfies ReminderPayload,
    };
  });
}

/**
 * The day before a session: at SESSION_REMINDER_HOUR local for a session known by its date,
 * 24 h ahead for one with a time.
 */
export function sessionReminderDueAt(plannedOn: Date, timeZone: string): Date {
  const day = studyDay(plannedOn, timeZone);
  return day.dateOnly
    ? dayAt(day, -1, SESSION_REMINDER_HOUR, timeZone)
    : new Date(plannedOn.getTime() - 24 * HOUR);
}

async function planSessions(s: PlanDeps, now: Date): Promise<JobInput[]> {
  const tz = s.config.QUIET_HOURS_TZ;
  const sessions = await s.db.groupSession.findMany({
    where: { status: { not: "closed" } },
    orderBy: { id: "asc" },
  });
  const facilitatorsOf = await sessionFacilitatorsOf(s.db, sessions);
  const out: JobInput[] = [];
  for (const session of sessions) {
    const upcoming =
      session.status === "planned" &&
      !session.heldOn &&
      session.plannedOn &&
      studyDay(session.plannedOn, tz).at > now;
    const date = sessionDate(session);
    const overdue = date && now >= logOverdueAt(date, tz);
    if (!upcoming && !overdue) continue;
    for (const f of facilitatorsOf(session)) {
      if (upcoming) {
        const plannedOn = session.plannedOn!;
        out.push({
          kind: JOB.sessionReminder,
          dueAt: sessionReminderDueAt(plannedOn, tz),
          dedupeKey: `session-reminder:${session.id}:${plannedOn.getTime()}:${f.id}`,
          payload: {
            sessionId: session.id,
            accountId: f.id,
            plannedOn: plannedOn.toISOString(),
          } satisfies SessionPayload,
        });
      }
      if (overdue) {
        out.push({
          kind: JOB.logOverdue,
          dueAt: now,
          dedupeKey: `log-overdue:${session.id}:${f.id}`,
          payload: { sessionId: session.id, accountId: f.id } satisfies SessionPayload,
        });
      }
    }
  }
  return out;
}

/**
 * Timepoints anchored on the last session that open days after it (a follow-up): endGroup opened
 * the others when the session closed. One job per group and timepoint, due at local midnight of
 * the day the window opens, for every group whose last session is closed.
 */
async function planTimepointOpenings(s: PlanDeps): Promise<JobInput[]> {
  const later = s.flows.study.timepoints.filter(
    (tp) => tp.window.anchor === "last-session" && tp.window.openDays > 0,
  );
  if (later.length === 0) return [];
  const tz = s.config.QUIET_HOURS_TZ;
  const last = Math.max(...s.flows.study.sessions.map((x) => x.number));
  const ended = await s.db.groupSession.findMany({
    where: { number: last, status: "closed", heldOn: { not: null } },
    select: { groupId: true, heldOn: true },
    orderBy: { groupId: "asc" },
  });
  return ended.flatMap(({ groupId, heldOn }) =>
    later.map((tp) => ({
      kind: JOB.openTimepoint,
      dueAt: dayAt(studyDay(heldOn!, tz), tp.window.openDays, 0, tz),
      dedupeKey: `open-timepoint:${groupId}:${tp.id}:${heldOn!.toISOString()}`,
      payload: {
        groupId,
        timepoint: tp.id,
        lastSession: heldOn!.toISOString(),
      } satisfies OpenTimepointPayload,
    })),
  );
}

/**
 * `sessionFacilitators` for many sessions with two queries: the groups' facilitators and the
 * sessions' own facilitators, messageable ones only, in account order.
 */
async function sessionFacilitatorsOf(
  db: Tx,
  sessions: { groupId: number; facilitatorAccountId: number | null }[],
) {
  const messageable = { active: true, chatId: { not: null } };
  const links = await db.groupFacilitator.findMany({
    where: { groupId: { in: [...new Set(sessions.map((x) => x.groupId))] }, account: messageable },
    include: { account: true },
  });
  const own = await db.account.findMany({
    where: {
      id: { in: [...new Set(sessions.flatMap((x) => x.facilitatorAccountId ?? []))] },
      ...messageable,
    },
  });
  const ownById = new Map(own.map((a) => [a.id, a]));
  return (session: { groupId: number; facilitatorAccountId: number | null }) => {
    const accounts = new Map(
      links.filter((l) => l.groupId === session.groupId).map((l) => [l.accountId, l.account]),
    );
    const mine = session.facilitatorAccountId ? ownById.get(session.facilitatorAccountId) : null;
    if (mine) accounts.set(mine.id, mine);
    return [...accounts.values()].sort((a, b) => a.id - b.id);
  };
}

/**
 * The outbox's safety net for completed session ratings and reflections: the completion listener
 * enqueues their check right after the answer's commit, so a process that stopped in between
 * would lose it. One statement over the last day's completed sets (older ones are not alerted
 * about after the fact); the dedupe key makes a check already enqueued a no-op.
 */
async function planRatingChecks(s: PlanDeps, now: Date): Promise<JobInput[]> {
  const after = s.flows.study.assignments.afterSession;
  const sets = await s.db.responseSet.findMany({
    where: {
      sessionId: { not: null },
      status: "complete",
      completedAt: { gte: new Date(now.getTime() - 24 * HOUR) },
      OR: [
        { respondent: "parent", instrumentId: { in: after.parent } },
        { respondent: "child", instrumentId: { in: after.child } },
        { respondent: "facilitator", participantId: null, instrumentId: { in: after.facilitator } },
      ],
    },
    select: { id: true },
    orderBy: { id: "asc" },
  });
  return sets.map((rs) => ratingCheckJob(rs.id, now));
}

/** One planning pass. Returns how many new jobs it enqueued. */
export async function planJobs(s: PlanDeps, now: Date): Promise<number> {
  const flagged = new Set(
    (await jobKeysWithPrefix(s.db, "deviation:")).map((k) => k.slice("deviation:".length)),
  );
  const deviations = await findDeviations(s.db, s.flows, now, s.config.QUIET_HOURS_TZ, flagged);
  const inputs: JobInput[] = [
    ...(await planReminders(s)),
    ...(await planSessions(s, now)),
    ...(await planTimepointOpenings(s)),
    ...(await planRatingChecks(s, now)),
    ...deviations.map((d) => ({
      kind: JOB.deviation,
      dueAt: now,
      dedupeKey: `deviation:${d.key}`,
      payload: d as unknown as Record<string, unknown>,
    })),
  ];
  // In a steady pass nearly every input exists already: drop those in one statement first.
  const known = await existingJobKeys(
    s.db,
    inputs.flatMap((i) => i.dedupeKey ?? []),
  );
  return enqueueJobs(
    s.db,
    inputs.filter((i) => !i.dedupeKey || !known.has(i.dedupeKey)),
  );
}

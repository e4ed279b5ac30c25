// The planning pass: derives jobs from the data as it stands, idempotently (every job has a
// dedupe key), so it can run on every tick, after a restart, or in two processes at once.
// What a job will say, and whether it is still wanted, is decided again when it runs.
import type { Job, ResponseSet } from "../generated/prisma/client.js";
import type { Tx } from "../db/client.js";
import { nextFamilyResponseSet } from "../bot/conversation/questionnaire.js";
import type { Services } from "../bot/services.js";
import { enqueueJobs, type JobInput } from "./jobs.js";
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
  sent: Job[],
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

async function planReminders(s: Services): Promise<JobInput[]> {
  const max = s.config.REMINDER_MAX;
  if (max <= 0) return [];
  const families = await s.db.participant.findMany({
    where: {
      status: "consented",
      accounts: { some: { role: "parent", active: true, chatId: { not: null } } },
      responseSets: {
        some: { status: { in: OPEN_STATUSES }, respondent: { in: ["parent", "child"] } },
      },
    },
    select: { id: true },
    orderBy: { id: "asc" },
  });
  const out: JobInput[] = [];
  for (const { id } of families) {
    // Remind about what /resume would show next, so one family gets one reminder at a time.
    const rs = await nextFamilyResponseSet(s.db, s, id);
    if (!rs || !OPEN_STATUSES.includes(rs.status)) continue;
    const jobs = await reminderJobs(s.db, rs.id);
    if (jobs.length >= max || jobs.some((j) => !j.doneAt)) continue;
    const dueAt = reminderDueAt(
      s.config.REMINDER_INTERVAL_HOURS,
      rs,
      await lastFamilyAnswer(s.db, id),
      jobs,
    );
    const n = jobs.length + 1;
    out.push({
      kind: JOB.reminder,
      dueAt,
      dedupeKey: reminderKey(rs.id, n),
      payload: { responseSetId: rs.id, n } satisfies ReminderPayload,
    });
  }
  return out;
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

async function planSessions(s: Services, now: Date): Promise<JobInput[]> {
  const tz = s.config.QUIET_HOURS_TZ;
  const sessions = await s.db.groupSession.findMany({
    where: { status: { not: "closed" } },
    orderBy: { id: "asc" },
  });
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
    for (const f of await sessionFacilitators(s.db, session)) {
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

/** One planning pass. Returns how many new jobs it enqueued. */
export async function planJobs(s: Services, now: Date): Promise<number> {
  const deviations = await findDeviations(s.db, s.flows, now, s.config.QUIET_HOURS_TZ);
  const inputs: JobInput[] = [
    ...(await planReminders(s)),
    ...(await planSessions(s, now)),
    ...deviations.map((d) => ({
      kind: JOB.deviation,
      dueAt: now,
      dedupeKey: `deviation:${d.key}`,
      payload: d as unknown as Record<string, unknown>,
    })),
  ];
  return enqueueJobs(s.db, inputs);
}

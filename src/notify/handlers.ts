// What each kind of job does when it comes due. A handler looks at the data as it is now and
// decides: skip (no longer wanted), reschedule (not yet), send (messages decided now, plus a
// last check run right before each goes out), or fan out into further jobs. The loop carries
// the decision out; handlers never send themselves, and never write: what a job writes (its audit
// event, a fan-out's jobs) is a use case's, run by the loop in the job's completing transaction.
import type { Account, Job } from "../generated/prisma/client.js";
import { t } from "../study/model.js";
import { nextFamilyResponseSet } from "../usecases/assignments.js";
import { fanOutDeviation } from "../usecases/alerts.js";
import { openFollowUpForGroup } from "../usecases/follow-up.js";
import type { FanOut, JobAuditEvent } from "../usecases/jobs.js";
import { jobPayload, stillHeld } from "../scheduler/jobs.js";
import {
  JOB,
  lastFamilyAnswer,
  OPEN_STATUSES,
  parentChats,
  reminderDueAt,
  reminderJobs,
  sessionFacilitators,
  type AlertPayload,
  type DeviationPayload,
  type OpenTimepointPayload,
  type ReminderPayload,
  type SessionPayload,
} from "../scheduler/planner.js";
import { outboxHandlers } from "./outbox-handlers.js";
import type { NotifyDeps } from "./ports.js";
import { sessionDate, type AlertMessage } from "../scheduler/protocol.js";
import { dayAt, formatDay, studyDay } from "../scheduler/zone.js";

export interface OutMessage {
  accountId: number;
  chatId: string;
  html: string;
  /** Instead of sending `html`: this API step (e.g. starting a questionnaire, taking a question's buttons away). */
  deliver?: () => Promise<void>;
}

export type Decision =
  | { kind: "skip"; reason: string }
  | { kind: "reschedule"; dueAt: Date; reason: string }
  | {
      kind: "send";
      messages: OutMessage[];
      /** Run right before each message goes out: false drops it (e.g. the family withdrew meanwhile). */
      stillWanted(): Promise<boolean>;
      /** Quiet hours may postpone the send, but not past this instant (then it is skipped). */
      notAfter?: Date;
      /** Makes no sound (an edit): quiet hours do not hold it back. */
      silent?: boolean;
      /** The audit event written with the job's completion (in its transaction), if any. */
      audit?(delivered: number): JobAuditEvent;
    }
  | { kind: "fanout"; run: FanOut };

export type Handler = (s: NotifyDeps, job: Job, now: Date) => Promise<Decision>;

const skip = (reason: string): Decision => ({ kind: "skip", reason });

/**
 * A family's reminder: what it says is decided now (the questionnaire /resume would show), never
 * to a withdrawn or declined participant, never about a completed questionnaire, never a score.
 */
const reminder: Handler = async (s, job, now) => {
  const { responseSetId, n } = jobPayload<ReminderPayload>(job);
  const rs = await s.db.responseSet.findUnique({
    where: { id: responseSetId },
    include: { participant: true },
  });
  if (!rs || !rs.participant) return skip("questionnaire gone");
  if (!OPEN_STATUSES.includes(rs.status)) return skip(`questionnaire ${rs.status}`);
  if (rs.participant.status !== "consented") return skip(`participant ${rs.participant.status}`);
  const current = await nextFamilyResponseSet(s.db, s.flows, rs.participant.id);
  if (current?.id !== rs.id) return skip("another questionnaire comes first now");
  // The family may have answered since this was planned: then it is not due yet.
  const due = reminderDueAt(
    s.config.REMINDER_INTERVAL_HOURS,
    rs,
    await lastFamilyAnswer(s.db, rs.participant.id),
    await reminderJobs(s.db, rs.id),
  );
  if (due > now) return { kind: "reschedule", dueAt: due, reason: "family active since planned" };
  const instrument = s.flows.instruments.get(rs.instrumentId);
  if (!instrument) return skip("instrument no longer in the flows");
  const accounts = await parentChats(s.db, rs.participant.id);
  if (accounts.length === 0) return skip("no parent chat");
  const started = rs.status !== "pending";
  const participantId = rs.participant.id;
  const code = rs.participant.code;
  return {
    kind: "send",
    messages: accounts.map((a) => ({
      accountId: a.id,
      chatId: a.chatId!,
      html: s.tr(s.localeOf(a), started ? "sched-reminder-unfinished" : "sched-reminder-start", {
        title: t(instrument.title, s.localeOf(a)),
      }),
    })),
    async stillWanted() {
      const [p, r] = await Promise.all([
        s.db.participant.findUnique({ where: { id: participantId }, select: { status: true } }),
        s.db.responseSet.findUnique({ where: { id: responseSetId }, select: { status: true } }),
      ]);
      return (
        p?.status === "consented" &&
        !!r &&
        OPEN_STATUSES.includes(r.status) &&
        (await stillHeld(s.db, job))
      );
    },
    audit: (delivered) => ({
      action: "reminder.send",
      entity: "ResponseSet",
      entityId: responseSetId,
      data: { participant: code, instrument: rs.instrumentId, n, recipients: delivered },
    }),
  };
};

async function facilitatorFor(
  s: NotifyDeps,
  accountId: number,
  session: { groupId: number; facilitatorAccountId: number | null },
) {
  const still = await sessionFacilitators(s.db, session);
  return still.find((a) => a.id === accountId) ?? null;
}

function sessionTitle(s: NotifyDeps, number: number, locale: string): string {
  const def = s.flows.study.sessions.find((x) => x.number === number);
  return def ? t(def.title, locale) : String(number);
}

/** The day before a planned session: a reminder to each of the group's facilitators. */
const sessionReminder: Handler = async (s, job, now) => {
  const p = jobPayload<SessionPayload>(job);
  const session = await s.db.groupSession.findUnique({
    where: { id: p.sessionId },
    include: { group: true },
  });
  if (!session) return skip("session gone");
  if (session.status !== "planned" || session.heldOn) return skip(`session ${session.status}`);
  if (!session.plannedOn || session.plannedOn.toISOString() !== p.plannedOn)
    return skip("session rescheduled");
  const day = studyDay(session.plannedOn, s.config.QUIET_HOURS_TZ);
  if (day.at <= now) return skip("session date passed");
  const account = await facilitatorFor(s, p.accountId, session);
  if (!account) return skip("no longer a facilitator of the group");
  const locale = s.localeOf(account);
  const plannedOn = session.plannedOn;
  return {
    kind: "send",
    notAfter: day.at,
    messages: [
      {
        accountId: account.id,
        chatId: account.chatId!,
        html: s.tr(locale, "sched-session-reminder", {
          number: session.number,
          title: sessionTitle(s, session.number, locale),
          group: session.group.name,
          date: formatDay(day, s.config.QUIET_HOURS_TZ),
        }),
      },
    ],
    async stillWanted() {
      const now2 = await s.db.groupSession.findUnique({
        where: { id: p.sessionId },
        select: { status: true, plannedOn: true },
      });
      return (
        now2?.status === "planned" &&
        now2.plannedOn?.getTime() === plannedOn.getTime() &&
        (await stillHeld(s.db, job))
      );
    },
    audit: (delivered) => ({
      action: "session.remind",
      entity: "GroupSession",
      entityId: session.id,
      data: { group: session.group.name, number: session.number, account: account.id, delivered },
    }),
  };
};

/** 24 h after the session date without a closed log: the facilitators are asked to log it. */
const logOverdue: Handler = async (s, job) => {
  const p = jobPayload<SessionPayload>(job);
  const session = await s.db.groupSession.findUnique({
    where: { id: p.sessionId },
    include: { group: true },
  });
  if (!session) return skip("session gone");
  if (session.status === "closed") return skip("session logged");
  const account = await facilitatorFor(s, p.accountId, session);
  if (!account) return skip("no longer a facilitator of the group");
  const locale = s.localeOf(account);
  const date = sessionDate(session);
  return {
    kind: "send",
    messages: [
      {
        accountId: account.id,
        chatId: account.chatId!,
        html: s.tr(locale, "sched-log-overdue", {
          number: session.number,
          group: session.group.name,
          date: date
            ? formatDay(studyDay(date, s.config.QUIET_HOURS_TZ), s.config.QUIET_HOURS_TZ)
            : "—",
        }),
      },
    ],
    async stillWanted() {
      const now2 = await s.db.groupSession.findUnique({
        where: { id: p.sessionId },
        select: { status: true },
      });
      return !!now2 && now2.status !== "closed" && (await stillHeld(s.db, job));
    },
    audit: (delivered) => ({
      action: "session.log-overdue",
      entity: "GroupSession",
      entityId: session.id,
      data: { group: session.group.name, number: session.number, account: account.id, delivered },
    }),
  };
};

/**
 * A deviation was found: it enters the audit trail once, and each coordinator opted in now gets
 * their own alert job (delivered and retried independently). Coordinators who opt in later are
 * not sent the history.
 */
const deviation: Handler = async (_s, job) => {
  const d = jobPayload<DeviationPayload>(job);
  return { kind: "fanout", run: (tx, now) => fanOutDeviation(tx, d, now) };
};

export function renderAlert(s: NotifyDeps, m: AlertMessage, locale: string): string {
  const vars: Record<string, string | number> = { ...m.vars };
  if (m.instrumentId) {
    const ins = s.flows.instruments.get(m.instrumentId);
    vars.instrument = ins ? t(ins.title, locale) : m.instrumentId;
  }
  if (m.timepointId) {
    const tp = s.flows.study.timepoints.find((x) => x.id === m.timepointId);
    vars.timepoint = tp ? t(tp.label, locale) : m.timepointId;
  }
  // The anchor phrase is already escaped by tr; the outer tr would escape it again.
  const anchor = m.anchor ? s.tr(locale, m.anchor.key, m.anchor.vars) : null;
  const placeholder = "\u0000anchor\u0000";
  if (anchor !== null) vars.anchor = placeholder;
  const body = s.tr(locale, m.key, vars);
  return `${s.tr(locale, "sched-alert-title")}\n${anchor !== null ? body.replace(placeholder, anchor) : body}`;
}

/** One coordinator's copy of a protocol alert. */
const alert: Handler = async (s, job) => {
  const p = jobPayload<AlertPayload>(job);
  const optedIn = (a: Account | null): a is Account & { chatId: string } =>
    !!a && a.role === "admin" && a.active && a.alertsOptIn && !!a.chatId;
  const account = await s.db.account.findUnique({ where: { id: p.accountId } });
  if (!optedIn(account)) return skip("recipient no longer opted in");
  return {
    kind: "send",
    messages: [
      {
        accountId: account.id,
        chatId: account.chatId,
        html: renderAlert(s, p.message, s.localeOf(account)),
      },
    ],
    async stillWanted() {
      return (
        optedIn(await s.db.account.findUnique({ where: { id: account.id } })) &&
        (await stillHeld(s.db, job))
      );
    },
    audit: () => ({
      action: "alert.send",
      entity: "Account",
      entityId: account.id,
      data: { deviation: p.deviation },
    }),
  };
};

/**
 * A timepoint was opened for a family (from the CLI): tell them once that a questionnaire is
 * waiting. Decided at send time like a reminder: nothing for withdrawn families, nothing when
 * they have already started it.
 */
const announce: Handler = async (s, job) => {
  const { participantId } = jobPayload<{ participantId: number }>(job);
  const p = await s.db.participant.findUnique({ where: { id: participantId } });
  if (!p || p.status !== "consented") return skip(`participant ${p?.status ?? "gone"}`);
  const rs = await nextFamilyResponseSet(s.db, s.flows, participantId);
  if (!rs) return skip("nothing open");
  if (rs.status !== "pending") return skip("the family is already answering");
  const instrument = s.flows.instruments.get(rs.instrumentId);
  if (!instrument) return skip("instrument no longer in the flows");
  const accounts = await parentChats(s.db, participantId);
  if (accounts.length === 0) return skip("no parent chat");
  return {
    kind: "send",
    messages: accounts.map((a) => ({
      accountId: a.id,
      chatId: a.chatId!,
      html: s.tr(s.localeOf(a), "sched-reminder-start", {
        title: t(instrument.title, s.localeOf(a)),
      }),
    })),
    async stillWanted() {
      const now = await s.db.participant.findUnique({
        where: { id: participantId },
        select: { status: true },
      });
      return now?.status === "consented" && (await stillHeld(s.db, job));
    },
    audit: (delivered) => ({
      action: "questionnaire.announce",
      entity: "Participant",
      entityId: participantId,
      data: { participant: p.code, instrument: rs.instrumentId, recipients: delivered },
    }),
  };
};

/**
 * A follow-up's window has opened for a group: its consented members get the questionnaires
 * (withdrawn and declined ones nothing), and each family is told once, like after
 * `circle timepoint open`. Decided now: nothing when the last session was reopened or its date
 * corrected since (a new job follows the new date), nothing once the window has closed (a
 * researcher can still open it by hand).
 */
const openTimepoint: Handler = async (s, job, now) => {
  const p = jobPayload<OpenTimepointPayload>(job);
  const tp = s.flows.study.timepoints.find((x) => x.id === p.timepoint);
  if (!tp || tp.window.anchor !== "last-session") return skip("timepoint no longer in the flows");
  const last = Math.max(...s.flows.study.sessions.map((x) => x.number));
  const session = await s.db.groupSession.findUnique({
    where: { groupId_number: { groupId: p.groupId, number: last } },
    include: { group: true },
  });
  if (!session || session.status !== "closed" || !session.heldOn)
    return skip("the group's last session is not closed");
  if (session.heldOn.toISOString() !== p.lastSession)
    return skip("the last session's date changed");
  const tz = s.config.QUIET_HOURS_TZ;
  const day = studyDay(session.heldOn, tz);
  const opens = dayAt(day, tp.window.openDays, 0, tz);
  if (now < opens) return { kind: "reschedule", dueAt: opens, reason: "window not open yet" };
  if (now >= dayAt(day, tp.window.closeDays + 1, 0, tz))
    return skip("the window closed before it could be opened");
  const group = session.group;
  return {
    kind: "fanout",
    run: (tx, at) => openFollowUpForGroup(tx, s.flows, group, tp.id, at),
  };
};

export const handlers: Record<string, Handler> = {
  [JOB.announce]: announce,
  [JOB.openTimepoint]: openTimepoint,
  [JOB.reminder]: reminder,
  [JOB.sessionReminder]: sessionReminder,
  [JOB.logOverdue]: logOverdue,
  [JOB.deviation]: deviation,
  [JOB.alert]: alert,
  ...outboxHandlers,
};

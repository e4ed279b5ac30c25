// The outbox for what Circle sends on its own when something happens in another chat: a session
// closed (its families are told and asked), a group ended, a family's session rating completed (the
// group's facilitators may be alerted). The event's own transaction writes a job per recipient with
// a dedupe key; the scheduler renders and re-checks each job when it sends it (outbox-handlers.ts).
// The dedupe key is the state: an event handled twice enqueues nothing twice, and no audit trail
// is read back to decide whether something was already sent.
//
// A job enqueued by this process is claimed right after its transaction commits: the caller wakes
// the scheduler loop running on the same database client (wakeOutbox); jobs of other processes are
// picked up by the loop's periodic tick.
import type { Db, Tx } from "../db/client.js";
import { enqueueJobs, type JobInput } from "./jobs.js";

export const OUTBOX = {
  /** A family is told that the session (or the group) is over and asked its questions. */
  sessionOver: "session-over",
  /** A question about a set withdrawn again (its child marked absent) loses its buttons. */
  releaseQuestion: "release-question",
  /** A session rating or reflection completed: checks it and fans out the facilitators' alerts. */
  ratingCheck: "rating-check",
  lowRating: "low-rating",
  comment: "comment",
  /** The session's ratings diverge from the facilitator's own: audited once, one alert per facilitator. */
  divergence: "divergence",
  divergenceAlert: "divergence-alert",
} as const;

export interface SessionOverPayload {
  sessionId: number;
  number: number;
  participantId: number;
  accountId: number;
  reason: "session" | "group-end";
}

export interface ReleaseQuestionPayload {
  accountId: number;
  messageId: number;
  responseSetId: number;
}

export interface RatingCheckPayload {
  responseSetId: number;
}

/** One facilitator's copy of an alert about one family's rating (low-rating, comment). */
export interface RatingAlertPayload {
  responseSetId: number;
  accountId: number;
}

export interface DivergencePayload {
  sessionId: number;
}

export interface DivergenceAlertPayload {
  sessionId: number;
  accountId: number;
}

/** An amendment that adds a family asks it under a new key; re-closing asks nobody twice. */
export const sessionOverKey = (sessionId: number, accountId: number, amendment: number) =>
  amendment > 0
    ? `session-over:${sessionId}:${accountId}:amendment-${amendment}`
    : `session-over:${sessionId}:${accountId}`;
export const releaseQuestionKey = (responseSetId: number, accountId: number) =>
  `release-question:${responseSetId}:${accountId}`;
export const ratingCheckKey = (responseSetId: number) => `rating-check:${responseSetId}`;
export const lowRatingKey = (responseSetId: number, accountId: number) =>
  `low-rating:${responseSetId}:${accountId}`;
export const commentKey = (responseSetId: number, accountId: number) =>
  `comment:${responseSetId}:${accountId}`;
/** Once per session, however many ratings flag it. */
export const divergenceKey = (sessionId: number) => `divergence:${sessionId}`;
export const divergenceAlertKey = (sessionId: number, accountId: number) =>
  `divergence:${sessionId}:${accountId}`;

const payload = <T extends object>(p: T) => p as unknown as Record<string, unknown>;

/**
 * The jobs of a session's close, in the caller's transaction: first the stale questions of sets
 * withdrawn again lose their buttons, then each family's parents are told and asked, in the
 * order of `prompt` (as the families were asked when this happened inline). Returns how many
 * parents will be asked (jobs new now).
 */
export async function enqueueSessionClosed(
  tx: Tx,
  input: {
    sessionId: number;
    number: number;
    amendment: number;
    now: Date;
    prompt: readonly { participantId: number; reason: "session" | "group-end" }[];
    released: readonly { accountId: number; messageId: number; responseSetId: number }[];
  },
): Promise<number> {
  const release: JobInput[] = input.released.map((r) => ({
    kind: OUTBOX.releaseQuestion,
    dueAt: input.now,
    dedupeKey: releaseQuestionKey(r.responseSetId, r.accountId),
    payload: payload<ReleaseQuestionPayload>(r),
  }));
  await enqueueJobs(tx, release);
  const ids = input.prompt.map((p) => p.participantId);
  const parents = ids.length
    ? await tx.account.findMany({
        where: { participantId: { in: ids }, role: "parent", active: true, chatId: { not: null } },
        select: { id: true, participantId: true },
        orderBy: { id: "asc" },
      })
    : [];
  const asks: JobInput[] = input.prompt.flatMap((p) =>
    parents
      .filter((a) => a.participantId === p.participantId)
      .map((a) => ({
        kind: OUTBOX.sessionOver,
        dueAt: input.now,
        dedupeKey: sessionOverKey(input.sessionId, a.id, input.amendment),
        payload: payload<SessionOverPayload>({
          sessionId: input.sessionId,
          number: input.number,
          participantId: p.participantId,
          accountId: a.id,
          reason: p.reason,
        }),
      })),
  );
  return enqueueJobs(tx, asks);
}

/** A completed session rating or reflection is to be checked (idempotent per response set). */
export function ratingCheckJob(responseSetId: number, now: Date): JobInput {
  return {
    kind: OUTBOX.ratingCheck,
    dueAt: now,
    dedupeKey: ratingCheckKey(responseSetId),
    payload: payload<RatingCheckPayload>({ responseSetId }),
  };
}

// ---------------------------------------------------------------------------------------------
// Wake: an in-process nudge to the scheduler loop, keyed by the database client both share.

const sleepers = new WeakMap<object, Set<() => void>>();

/** Call after the transaction that enqueued jobs has committed: the loop on `db` claims them now. */
export function wakeOutbox(db: Db): void {
  for (const wake of sleepers.get(db) ?? []) wake();
}

/** The scheduler loop registers here; returns the unregistration. */
export function onOutboxWake(db: Db, wake: () => void): () => void {
  const set = sleepers.get(db) ?? new Set<() => void>();
  set.add(wake);
  sleepers.set(db, set);
  return () => set.delete(wake);
}

// The durable job table. A job is a row with a due time; the process that claims it holds a
// lease (lockedUntil) that doubles as its fencing token: finishing a job only works while the
// lease is still the one that was claimed, and a crashed process's lease simply runs out.
import type { Job } from "../generated/prisma/client.js";
import type { Db, Tx } from "../db/client.js";
import { claimDueJobRows, insertJobsSkippingDuplicates } from "../store/jobs.js";

export type { Job };

export interface JobInput {
  kind: string;
  dueAt: Date;
  payload?: Record<string, unknown>;
  /** Same key, same job: enqueueing again is a no-op (whether the first one ran or not). */
  dedupeKey?: string;
}

/** A claimed job runs at most this many times (crashes included) before it is given up. */
export const MAX_ATTEMPTS = 5;
export const DEFAULT_LEASE_MS = 5 * 60_000;

function isUniqueViolation(e: unknown): boolean {
  return !!e && typeof e === "object" && "code" in e && (e as { code: unknown }).code === "P2002";
}

/** Idempotent enqueue. Returns the job, whether it was created now or existed already. */
export async function enqueueJob(db: Tx, input: JobInput): Promise<{ job: Job; created: boolean }> {
  const data = {
    kind: input.kind,
    dueAt: input.dueAt,
    payload: JSON.stringify(input.payload ?? {}),
    dedupeKey: input.dedupeKey ?? null,
  };
  if (!input.dedupeKey) return { job: await db.job.create({ data }), created: true };
  const existing = await db.job.findUnique({ where: { dedupeKey: input.dedupeKey } });
  if (existing) return { job: existing, created: false };
  try {
    return { job: await db.job.create({ data }), created: true };
  } catch (e) {
    // Another process enqueued the same key between our read and write.
    if (!isUniqueViolation(e)) throw e;
    return {
      job: await db.job.findUniqueOrThrow({ where: { dedupeKey: input.dedupeKey } }),
      created: false,
    };
  }
}

/** Enqueues many (skipping keys that exist); returns how many were new. */
export async function enqueueJobs(db: Tx, inputs: JobInput[]): Promise<number> {
  if (inputs.length === 0) return 0;
  const keys = inputs.map((i) => i.dedupeKey).filter((k): k is string => !!k);
  const existing = new Set<string>();
  for (let i = 0; i < keys.length; i += 500) {
    const rows = await db.job.findMany({
      where: { dedupeKey: { in: keys.slice(i, i + 500) } },
      select: { dedupeKey: true },
    });
    for (const r of rows) existing.add(r.dedupeKey!);
  }
  let created = 0;
  const fresh: JobInput[] = [];
  for (const input of inputs) {
    if (input.dedupeKey && existing.has(input.dedupeKey)) continue;
    if (!input.dedupeKey) {
      await enqueueJob(db, input);
      created++;
      continue;
    }
    existing.add(input.dedupeKey);
    fresh.push(input);
  }
  // Many rows per statement; a key another process enqueued since the read above is skipped.
  const rows = fresh.map((j) => ({
    kind: j.kind,
    dueAt: j.dueAt,
    payload: JSON.stringify(j.payload ?? {}),
    dedupeKey: j.dedupeKey ?? null,
  }));
  return created + (await insertJobsSkippingDuplicates(db, rows, new Date()));
}

export function jobPayload<T>(job: Job): T {
  return JSON.parse(job.payload) as T;
}

/**
 * Claims up to `limit` due jobs, oldest due first, in one atomic statement (src/store/jobs.ts):
 * two processes never hold the same job. The claim counts as an attempt, so a job that crashes
 * its process every time is given up after MAX_ATTEMPTS.
 */
export async function claimDueJobs(
  db: Db,
  now: Date,
  limit: number,
  leaseMs = DEFAULT_LEASE_MS,
): Promise<Job[]> {
  const jobs = await claimDueJobRows(db, now, new Date(now.getTime() + leaseMs), limit);
  const claimed: Job[] = [];
  for (const job of jobs) {
    if (job.attempts > MAX_ATTEMPTS) {
      await finish(
        db,
        job,
        now,
        `gave up after ${MAX_ATTEMPTS} attempts: ${job.lastError ?? "process stopped while running it"}`,
      );
      continue;
    }
    claimed.push(job);
  }
  return claimed;
}

function held(job: Job) {
  return { id: job.id, lockedUntil: job.lockedUntil };
}

async function finish(db: Tx, job: Job, now: Date, note: string | null): Promise<boolean> {
  const r = await db.job.updateMany({
    where: held(job),
    data: { doneAt: now, lockedUntil: null, lastError: note },
  });
  return r.count === 1;
}

/** Marks a claimed job done. False when the lease was lost (another process has it now). */
export async function completeJob(db: Tx, job: Job, now: Date): Promise<boolean> {
  return finish(db, job, now, null);
}

/** Done without doing it (the reason is kept in lastError, prefixed "skipped:"). */
export async function skipJob(db: Tx, job: Job, now: Date, reason: string): Promise<boolean> {
  return finish(db, job, now, `skipped: ${reason}`);
}

/** Done, but it could not be delivered and retrying would not help (e.g. the user blocked the bot). */
export async function abandonJob(db: Tx, job: Job, now: Date, reason: string): Promise<boolean> {
  return finish(db, job, now, `undeliverable: ${reason}`);
}

/** Seconds to wait before retry n (1-based): 30 s, 1 min, 2 min, … capped at one hour. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
}

/** A failed run: retried later with backoff, or given up after MAX_ATTEMPTS. */
export async function failJob(
  db: Tx,
  job: Job,
  now: Date,
  error: string,
): Promise<"retry" | "gave-up" | "lost"> {
  if (job.attempts >= MAX_ATTEMPTS) {
    return (await finish(db, job, now, `gave up after ${job.attempts} attempts: ${error}`))
      ? "gave-up"
      : "lost";
  }
  const r = await db.job.updateMany({
    where: held(job),
    data: {
      lockedUntil: null,
      lastError: error,
      dueAt: new Date(now.getTime() + backoffMs(job.attempts)),
    },
  });
  return r.count === 1 ? "retry" : "lost";
}

/** Not now, later (quiet hours, a family active again): moved without counting as an attempt. */
export async function rescheduleJob(db: Tx, job: Job, dueAt: Date): Promise<boolean> {
  const r = await db.job.updateMany({
    where: held(job),
    data: { lockedUntil: null, dueAt, attempts: { decrement: 1 } },
  });
  return r.count === 1;
}

/** Gives a claim back untouched (the process is stopping before it could run the job). */
export async function releaseJob(db: Tx, job: Job): Promise<boolean> {
  const r = await db.job.updateMany({
    where: held(job),
    data: { lockedUntil: null, attempts: { decrement: 1 } },
  });
  return r.count === 1;
}

/** Whether this claim is still ours (checked right before a message goes out). */
export async function stillHeld(db: Tx, job: Job): Promise<boolean> {
  return (await db.job.count({ where: { ...held(job), doneAt: null } })) === 1;
}

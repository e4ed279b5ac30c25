// The scheduler's writes that commit together with a job's completion: what a fan-out job writes
// (further jobs, audit events), and the audit event of a delivered message. Finishing a job only
// works while its lease is ours (src/scheduler/jobs.ts); when it is not, nothing of it commits.
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditInput } from "../store/audit.js";
import { completeJob, type Job } from "../scheduler/jobs.js";

/** What a job's completion records in the audit trail (the scheduler is its actor). */
export type JobAuditEvent = Omit<AuditInput, "actor" | "at">;

/** A fan-out's writes, in the transaction that completes its job. */
export type FanOut = (tx: Tx, now: Date) => Promise<void>;

class LeaseLost extends Error {}

/**
 * Runs a fan-out and completes its job in one transaction. False (and nothing written) when the
 * lease was lost meanwhile: another process has the job now and does it.
 */
export async function completeFanOut(db: Db, job: Job, now: Date, run: FanOut): Promise<boolean> {
  try {
    await db.$transaction(async (tx) => {
      await run(tx, now);
      if (!(await completeJob(tx, job, now))) throw new LeaseLost();
    });
    return true;
  } catch (e) {
    if (e instanceof LeaseLost) return false;
    throw e;
  }
}

/**
 * A job whose messages went out: completed, with its audit event (if any) in the same
 * transaction. False when the lease was lost while sending (then no event is written).
 */
export async function completeDelivered(
  db: Db,
  job: Job,
  now: Date,
  event: JobAuditEvent | null,
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    if (!(await completeJob(tx, job, now))) return false;
    if (event) await audit(tx, { actor: { kind: "system" }, at: now, ...event });
    return true;
  });
}

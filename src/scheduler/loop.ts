// The scheduler: a polling loop over the durable job table, no timers inside any state machine.
// Each tick plans jobs from the data, claims what is due, decides each job's fate in due order,
// then sends through the pacer and records each outcome. A restart loses nothing: whatever was
// not finished is still in the table, and a crashed claim expires. The loop writes nothing of its
// own beyond a job's state: what a completed job records commits through src/usecases/jobs.ts.
import type { Job } from "../generated/prisma/client.js";
import { errMessage } from "../errors.js";
import { systemClock, type Clock } from "./clock.js";
import { handlers, type Decision, type OutMessage } from "../notify/handlers.js";
import type { NotifyDeps } from "../notify/ports.js";
import { completeDelivered, completeFanOut } from "../usecases/jobs.js";
import {
  abandonJob,
  claimDueJobs,
  DEFAULT_LEASE_MS,
  failJob,
  releaseJob,
  rescheduleJob,
  skipJob,
} from "./jobs.js";
import { SendPacer, PacerClosedError, retryAfterSeconds } from "../notify/pacer.js";
import { onOutboxWake } from "./outbox.js";
import { planJobs } from "./planner.js";
import { assertTimeZone, quietEnd } from "./zone.js";

export interface TickOptions {
  pacer: SendPacer;
  /** Run the planning pass first (default true). */
  plan?: boolean;
  /** Jobs claimed per tick. */
  limit?: number;
  leaseMs?: number;
}

export interface TickReport {
  planned: number;
  claimed: number;
  sent: number;
  skipped: number;
  rescheduled: number;
  failed: number;
  released: number;
}

/** Errors retrying cannot fix: the user blocked the bot, deleted their account, or the chat is gone. */
function undeliverable(e: unknown): boolean {
  const code =
    e && typeof e === "object" && "error_code" in e
      ? (e as { error_code: unknown }).error_code
      : null;
  return (
    code === 403 ||
    (code === 400 && /chat not found|user is deactivated|PEER_ID_INVALID/i.test(errMessage(e)))
  );
}

type Prepared = { job: Job; decision: Extract<Decision, { kind: "send" }> };

export async function tick(s: NotifyDeps, opts: TickOptions): Promise<TickReport> {
  const report: TickReport = {
    planned: 0,
    claimed: 0,
    sent: 0,
    skipped: 0,
    rescheduled: 0,
    failed: 0,
    released: 0,
  };
  if (opts.plan !== false) report.planned = await planJobs(s, s.now());
  const jobs = await claimDueJobs(
    s.db,
    s.now(),
    opts.limit ?? 100,
    opts.leaseMs ?? DEFAULT_LEASE_MS,
  );
  report.claimed = jobs.length;
  const tz = s.config.QUIET_HOURS_TZ;
  const log = (job: Job, msg: string, extra: Record<string, unknown> = {}) =>
    s.logger.info({ job: job.id, kind: job.kind, ...extra }, msg);

  // Decide in due order (so a chat's messages are queued in that order), then send concurrently.
  const sends: Prepared[] = [];
  for (const job of jobs) {
    const now = s.now();
    try {
      const handler = handlers[job.kind];
      const d: Decision = handler
        ? await handler(s, job, now)
        : { kind: "skip", reason: `unknown job kind ${job.kind}` };
      if (d.kind === "send") {
        const until = d.silent ? now : quietEnd(now, s.config.QUIET_HOURS, tz);
        if (until > now) {
          if (d.notAfter && until >= d.notAfter) {
            await skipJob(s.db, job, now, "quiet hours last beyond its use");
            report.skipped++;
          } else {
            await rescheduleJob(s.db, job, until);
            report.rescheduled++;
            log(job, "postponed to the end of quiet hours");
          }
          continue;
        }
        sends.push({ job, decision: d });
      } else if (d.kind === "skip") {
        await skipJob(s.db, job, now, d.reason);
        report.skipped++;
        log(job, "skipped", { reason: d.reason });
      } else if (d.kind === "reschedule") {
        await rescheduleJob(s.db, job, d.dueAt);
        report.rescheduled++;
      } else if (await completeFanOut(s.db, job, now, d.run)) {
        report.sent++;
      }
    } catch (e) {
      report.failed++;
      s.logger.error({ job: job.id, kind: job.kind, err: errMessage(e) }, "scheduled job failed");
      await failJob(s.db, job, s.now(), errMessage(e));
    }
  }

  // Outcomes are written one at a time (the audit chain appends in order; SQLite has one writer).
  const write = serial();
  await Promise.all(sends.map((p) => deliver(s, opts.pacer, p, report, write)));
  return report;
}

type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

function serial(): Serial {
  let last: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const next = last.then(fn, fn);
    last = next.catch(() => {});
    return next;
  };
}

async function deliver(
  s: NotifyDeps,
  pacer: SendPacer,
  { job, decision }: Prepared,
  report: TickReport,
  write: Serial,
): Promise<void> {
  let delivered = 0;
  let dropped = 0;
  const unreachable = new Set<string>();
  try {
    for (const m of decision.messages) {
      // A chat that refused one message (blocked bot) is not tried again within the job.
      if (unreachable.has(m.chatId)) continue;
      const outcome = await sendOne(s, pacer, m, decision);
      if (outcome === "sent") delivered++;
      else if (outcome === "undeliverable") unreachable.add(m.chatId);
      else dropped++;
    }
  } catch (e) {
    const now = s.now();
    if (e instanceof PacerClosedError) {
      // Part of it went out already (a family told, its first question not yet): done, so a
      // restart does not send that part twice; the rest follows the family's next message.
      if (delivered > 0) {
        await write(() => completeDelivered(s.db, job, now, decision.audit?.(delivered) ?? null));
        report.sent++;
        return;
      }
      await write(() => releaseJob(s.db, job));
      report.released++;
      return;
    }
    if (undeliverable(e) && decision.messages.length === 1) {
      await write(() => abandonJob(s.db, job, now, errMessage(e)));
      report.skipped++;
      s.logger.warn(
        { job: job.id, kind: job.kind, err: errMessage(e) },
        "message could not be delivered",
      );
      return;
    }
    report.failed++;
    const outcome = await write(() =>
      failJob(
        s.db,
        job,
        now,
        retryAfterSeconds(e) !== null ? `rate limited: ${errMessage(e)}` : errMessage(e),
      ),
    );
    s.logger.warn(
      { job: job.id, kind: job.kind, outcome, err: errMessage(e) },
      "scheduled message failed",
    );
    return;
  }
  const now = s.now();
  if (delivered === 0 && dropped === 0 && unreachable.size > 0) {
    await write(() => abandonJob(s.db, job, now, "no recipient could be reached"));
    report.skipped++;
    return;
  }
  if (delivered === 0) {
    await write(() =>
      skipJob(
        s.db,
        job,
        now,
        dropped ? "no longer wanted when it was time to send" : "nobody to send to",
      ),
    );
    report.skipped++;
    return;
  }
  const completed = await write(() =>
    completeDelivered(s.db, job, now, decision.audit?.(delivered) ?? null),
  );
  if (!completed)
    s.logger.warn({ job: job.id, kind: job.kind }, "job lease was lost while sending");
  report.sent++;
}

async function sendOne(
  s: NotifyDeps,
  pacer: SendPacer,
  m: OutMessage,
  decision: Prepared["decision"],
): Promise<"sent" | "dropped" | "undeliverable"> {
  try {
    return await pacer.send(m.chatId, async () => {
      // The last word on "still wanted" is right before the API call: a withdrawal stops it.
      if (!(await decision.stillWanted())) return "dropped" as const;
      if (m.deliver) await m.deliver();
      else await s.outbound.send(m.chatId, m.html);
      return "sent" as const;
    });
  } catch (e) {
    // A family with two parents: one who blocked the bot does not stop the other's reminder.
    if (undeliverable(e) && decision.messages.length > 1) {
      s.logger.warn({ account: m.accountId, err: errMessage(e) }, "message could not be delivered");
      return "undeliverable";
    }
    throw e;
  }
}

export interface SchedulerHandle {
  /** Stops polling, gives back claims whose messages had not gone out, waits for sends in flight. */
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  pollMs?: number;
  /** How often the planning pass runs (default: every minute, or every tick if polling is slower). */
  planEveryMs?: number;
  clock?: Clock;
  pacer?: SendPacer;
  /** How long a claim holds a job (DEFAULT_LEASE_MS). */
  leaseMs?: number;
}

/**
 * Starts the polling loop: tick, wait pollMs, tick… until stop(). A job this process enqueued
 * (wakeOutbox after its commit) cuts the wait short: it is claimed at once, without a planning
 * pass unless one is due anyway. A wake during a tick makes the loop go again right after it.
 */
export function startScheduler(s: NotifyDeps, opts: SchedulerOptions = {}): SchedulerHandle {
  assertTimeZone(s.config.QUIET_HOURS_TZ);
  const pollMs = opts.pollMs ?? s.config.SCHEDULER_POLL_MS;
  const planEveryMs = opts.planEveryMs ?? Math.max(pollMs, 60_000);
  const clock = opts.clock ?? systemClock;
  const pacer = opts.pacer ?? new SendPacer({ clock });
  const abort = new AbortController();
  let stopped = false;
  let lastPlan = -Infinity;
  let woken = false;
  let nap: AbortController | null = null;
  const unwake = onOutboxWake(s.db, () => {
    woken = true;
    nap?.abort();
  });

  const loop = async () => {
    let busyTicks = 0;
    while (!stopped) {
      woken = false;
      const plan = clock.now() - lastPlan >= planEveryMs;
      if (plan) lastPlan = clock.now();
      let claimed = 0;
      await tick(s, { pacer, plan, leaseMs: opts.leaseMs }).then(
        (r) => {
          claimed = r.claimed;
          if (r.planned || r.claimed) s.logger.debug({ ...r }, "scheduler tick");
        },
        (e: unknown) => s.logger.error({ err: errMessage(e) }, "scheduler tick failed"),
      );
      if (stopped) break;
      if (woken) continue;
      // Work done may have made more work due (a deviation fans out into alerts; a burst larger
      // than one claim): go again at once, a few times, before waiting for the next poll.
      if (claimed > 0 && ++busyTicks < 10) continue;
      busyTicks = 0;
      nap = new AbortController();
      await clock.sleep(pollMs, AbortSignal.any([abort.signal, nap.signal]));
      nap = null;
    }
  };
  const running = loop();
  return {
    async stop() {
      stopped = true;
      unwake();
      abort.abort();
      await pacer.close();
      await running;
    },
  };
}

// Long polling with a durable inbox. grammY's runner asks Telegram for updates with an offset that
// confirms every earlier update: once it has asked again, Telegram forgets them. Handlers still
// running then (or updates not yet handed to them) would be lost to a SIGKILL. So each batch is
// written to the inbox (src/store/inbox.ts) before the runner may ask again, handled from there,
// and leaves the inbox when its update is recorded as processed (which every handler does in the
// transaction of its effects). At start, what a crash left in the inbox is handled first, in
// update order; a redelivered or already-handled one is recognised by the processed-update table.
//
// The runner's fetcher (retries, backoff, pacing to the sink's capacity) and its concurrent sink
// (per-chat order through the bot's `sequentialize`) are reused as they are; only the supplier
// between them and the consumer's bookkeeping are Circle's.
import {
  createConcurrentSink,
  createRunner,
  createSource,
  createUpdateFetcher,
  type RunnerHandle,
  type RunnerOptions,
} from "@grammyjs/runner";
import type { Bot } from "grammy";
import type { Update } from "grammy/types";
import type { Db } from "../db/client.js";
import type { Logger } from "../log.js";
import { deferInboxUpdate, inboxDue, removeFromInbox, storeInboxUpdates } from "../store/inbox.js";
import { wasProcessed } from "../store/updates.js";
import { errMessage } from "./services.js";
import type { CircleContext } from "./context.js";

/** Attempts at one update before it leaves the inbox unhandled (a bug, not a busy database). */
export const INBOX_MAX_ATTEMPTS = 5;
/** A failed attempt is tried again after this long (by the sweep, or at the next start). */
const RETRY_AFTER_MS = 3_000;
/** How often updates whose attempt failed are looked at again. */
const RETRY_SWEEP_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface PollingOptions {
  bot: Bot<CircleContext>;
  db: Db;
  logger: Logger;
  fetch: RunnerOptions["fetch"];
  now?: () => Date;
}

export interface Polling extends RunnerHandle {
  /** Updates being handled now (in flight), by id. */
  readonly inFlight: ReadonlySet<number>;
}

export function startPolling(opts: PollingOptions): Polling {
  const { bot, db, logger } = opts;
  const now = opts.now ?? (() => new Date());
  const inFlight = new Set<number>();
  const fetchUpdates = createUpdateFetcher(bot, { fetch: opts.fetch, silent: true });
  type Signal = Parameters<typeof fetchUpdates>[1];

  /** Writes a batch to the inbox; retried (never dropped) while the database cannot take it. */
  async function store(updates: Update[], signal: Signal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await storeInboxUpdates(db, updates, now());
        return;
      } catch (e) {
        if (signal.aborted) throw e;
        logger.warn(
          { err: errMessage(e), attempt },
          "could not write updates to the inbox; retrying",
        );
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
  }

  let resumed = false;
  const supplier = {
    async supply(batchSize: number, signal: Signal): Promise<Update[]> {
      if (!resumed) {
        resumed = true;
        await bot.init();
        const left = await inboxDue(db, now(), 10_000);
        if (left.length) {
          logger.info({ updates: left.length }, "handling updates left in the inbox");
          const updates = left.map((r) => JSON.parse(r.payload) as Update);
          for (const u of updates) inFlight.add(u.update_id);
          return updates;
        }
      }
      const updates = await fetchUpdates(batchSize, signal);
      // The next call (the one that confirms these to Telegram) waits until they are stored.
      await store(updates, signal);
      for (const u of updates) inFlight.add(u.update_id);
      return updates;
    },
  };

  /** After a handling attempt: out of the inbox when processed, else counted and retried later. */
  async function settle(updateId: number): Promise<void> {
    try {
      if (await wasProcessed(db, updateId)) {
        await removeFromInbox(db, updateId);
        return;
      }
      const attempts = await deferInboxUpdate(
        db,
        updateId,
        new Date(now().getTime() + RETRY_AFTER_MS),
      );
      if (attempts >= INBOX_MAX_ATTEMPTS) {
        logger.error({ updateId, attempts }, "update failed every attempt; left unhandled");
        await removeFromInbox(db, updateId);
      }
    } catch (e) {
      // The row stays; the sweep or the next start takes it again.
      logger.warn({ updateId, err: errMessage(e) }, "could not settle an inbox update");
    } finally {
      inFlight.delete(updateId);
    }
  }

  async function handle(update: Update): Promise<void> {
    try {
      await bot.handleUpdate(update);
    } catch (e) {
      logger.error({ updateId: update.update_id, err: errMessage(e) }, "update failed");
    }
    await settle(update.update_id);
  }

  const sink = createConcurrentSink<Update, unknown>({ consume: handle }, async (error) => {
    logger.error({ err: errMessage(error) }, "update sink error");
  });
  const runner = createRunner(createSource(supplier), sink);
  runner.start();

  // Failed attempts come due again while the bot runs (the runner only brings new updates).
  let sweeping = false;
  const sweep = setInterval(() => {
    if (sweeping || !runner.isRunning()) return;
    sweeping = true;
    void (async () => {
      try {
        for (const row of await inboxDue(db, now(), 100)) {
          if (inFlight.has(row.updateId)) continue;
          inFlight.add(row.updateId);
          await handle(JSON.parse(row.payload) as Update);
        }
      } catch (e) {
        logger.warn({ err: errMessage(e) }, "inbox sweep failed");
      } finally {
        sweeping = false;
      }
    })();
  }, RETRY_SWEEP_MS);
  sweep.unref();

  return {
    ...runner,
    inFlight,
    async stop() {
      clearInterval(sweep);
      await runner.stop();
    },
  };
}

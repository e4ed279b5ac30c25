// The Prisma client factory. Every entry point (bot, CLI, demo, tests) opens the database
// here, which applies pending migrations first.
import { AsyncLocalStorage } from "node:async_hooks";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../generated/prisma/client.js";
import { migrateDatabase } from "./migrate.js";

export type Db = PrismaClient;
export type { Prisma } from "../generated/prisma/client.js";
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type Tx = Omit<
  PrismaClient,
  "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends"
>;

export type SyncMode = "NORMAL" | "FULL";

/** A FIFO async lock: one holder at a time, in arrival order. */
class Lock {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * The better-sqlite3 adapter has one connection, and Prisma sends a plain query straight to it
 * even while another chat's interactive transaction is open there. Such a write would silently
 * join that transaction (and vanish if it rolls back). So every query outside a transaction and
 * every whole transaction take turns through one lock; queries inside a transaction (marked with
 * AsyncLocalStorage) pass straight through, so a transaction can never wait on itself.
 */
function serialised(base: PrismaClient): PrismaClient {
  const lock = new Lock();
  const inTransaction = new AsyncLocalStorage<true>();
  const extended = base.$extends({
    query: {
      async $allOperations({ args, query }) {
        if (inTransaction.getStore()) return query(args);
        return lock.run(() => query(args));
      },
    },
  });
  return new Proxy(extended, {
    get(target, prop, receiver) {
      if (prop === "$transaction") {
        return (arg: unknown, options?: unknown) => {
          if (inTransaction.getStore()) throw new Error("nested $transaction is not supported");
          return lock.run(() =>
            inTransaction.run(true, () =>
              (base.$transaction as (a: unknown, o?: unknown) => Promise<unknown>)(arg, options),
            ),
          );
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as unknown as PrismaClient;
}

export async function openDatabase(
  url: string,
  opts: { migrate?: boolean; synchronous?: SyncMode } = {},
): Promise<Db> {
  if (opts.migrate !== false) migrateDatabase(url);
  const adapter = new PrismaBetterSQLite3({ url });
  const base = new PrismaClient({ adapter });
  // Same settings as the migration connection; see applyPragmas in migrate.ts for why.
  await base.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await base.$queryRawUnsafe(`PRAGMA synchronous = ${opts.synchronous ?? "NORMAL"}`);
  await base.$queryRawUnsafe("PRAGMA foreign_keys = ON");
  await base.$queryRawUnsafe("PRAGMA busy_timeout = 5000");
  return serialised(base);
}

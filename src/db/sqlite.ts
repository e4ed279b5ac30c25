// The SQLite connection (the embedded default; src/db/client.ts picks the engine).
//
// Several processes share one SQLite file (the bot, `circle import`, `circle export`, the demo),
// so three rules keep them correct together:
// - every write transaction begins IMMEDIATE: it takes the file's write lock before its first
//   read, so it can never find its snapshot stale at its first write (SQLITE_BUSY_SNAPSHOT, which
//   no busy timeout can cure); another process's transaction waits its turn instead;
// - a transaction that cannot get the lock retries with backoff and then fails with a clear error;
// - long reads (export, report, progress) run on a second, read-only connection inside one WAL
//   snapshot (`readSnapshot`), so they block no writer, in this process or another.
import { AsyncLocalStorage } from "node:async_hooks";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import type BetterSqlite3 from "better-sqlite3";
import { PrismaClient } from "../generated/prisma/client.js";
import { migrateDatabase } from "./migrate.js";
import { sqlitePath } from "./url.js";

type Db = PrismaClient;
type Tx = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;

export type SyncMode = "NORMAL" | "FULL";

/**
 * How long one attempt waits for another process's write lock inside SQLite's busy handler.
 * Short on purpose: better-sqlite3 waits synchronously, which would freeze the whole bot (every
 * chat, the scheduler, the webhook server); longer waits happen between attempts, asynchronously.
 */
export const BUSY_TIMEOUT_MS = 100;
/** How long a transaction or a query keeps retrying before it gives up with `DatabaseBusyError`. */
export const BUSY_RETRY_MS = 60_000;

/** Another process held the database's write lock for longer than Circle waits. */
export class DatabaseBusyError extends Error {
  constructor(waitedMs: number) {
    super(
      `the database is busy: another Circle process has held its write lock for over ${Math.round(waitedMs / 1000)} s; try again when it has finished`,
    );
    this.name = "DatabaseBusyError";
  }
}

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
 * SQLite's "busy"/"locked" failures, as better-sqlite3 throws them or as Prisma wraps them (P1008
 * with the driver's error in `meta.driverAdapterError.cause`).
 */
export function isBusyError(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== "object" || depth > 4) return false;
  const o = e as Record<string, unknown>;
  for (const key of ["code", "originalCode"])
    if (typeof o[key] === "string" && (o[key] as string).startsWith("SQLITE_BUSY")) return true;
  if (typeof o.originalMessage === "string" && /database is (locked|busy)/i.test(o.originalMessage))
    return true;
  const meta = o.meta as Record<string, unknown> | undefined;
  return [o.cause, meta, meta?.driverAdapterError].some((x) => isBusyError(x, depth + 1));
}

export interface SqliteConnection {
  /** The adapter's better-sqlite3 handle: the same connection Prisma uses. */
  raw?: BetterSqlite3.Database;
  reader?: Promise<PrismaClient>;
  /** Circle has just run BEGIN IMMEDIATE for the transaction Prisma is about to start. */
  begun: boolean;
  /** Statements run so far, Prisma's and the store's prepared ones (benchmarks print it). */
  queries: number;
  lock: Lock;
  url: string;
}

/**
 * Wraps the better-sqlite3 adapter factory to keep the connection's raw handle. The adapter begins
 * every transaction with a hard-coded deferred `BEGIN`, and a `BEGIN` that fails leaves its
 * internal mutex held for ever; so Circle begins the transaction itself (IMMEDIATE, retried while
 * busy) and the adapter's own `BEGIN` becomes a no-op for that one transaction.
 */
function immediateAdapter(inner: PrismaBetterSQLite3, conn: SqliteConnection): PrismaBetterSQLite3 {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "connect") {
        return async () => {
          const adapter = await target.connect();
          const raw = (adapter as unknown as { client: BetterSqlite3.Database }).client;
          const prepare = raw.prepare.bind(raw);
          const begun = { run: () => ({ changes: 0, lastInsertRowid: 0 }) };
          raw.prepare = ((sql: string) => {
            if (sql === "BEGIN" && conn.begun) {
              conn.begun = false;
              return begun;
            }
            return prepare(sql);
          }) as typeof raw.prepare;
          conn.raw = raw;
          return adapter;
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `attempt` again while it fails busy (and `retryable` says a retry is safe), with jittered
 * exponential backoff, for up to BUSY_RETRY_MS; then a `DatabaseBusyError` that says what happened.
 */
async function retryBusy<T>(attempt: () => Promise<T>, retryable: () => boolean): Promise<T> {
  const started = Date.now();
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isBusyError(e) || !retryable()) throw e;
      const waited = Date.now() - started;
      if (waited >= BUSY_RETRY_MS) throw new DatabaseBusyError(waited);
      await sleep(Math.min(1000, 20 * 2 ** n) * (0.5 + Math.random()));
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
function serialised(base: PrismaClient, conn: SqliteConnection): PrismaClient {
  const lock = conn.lock;
  const inTransaction = new AsyncLocalStorage<true>();
  const extended = base.$extends({
    query: {
      async $allOperations({ args, query }) {
        conn.queries++;
        if (inTransaction.getStore()) return query(args);
        // A single statement that failed busy had no effect: running it again is safe.
        return retryBusy(
          () => lock.run(() => query(args)),
          () => true,
        );
      },
    },
  });
  const transaction = async (arg: unknown, options?: unknown) => {
    if (inTransaction.getStore()) throw new Error("nested $transaction is not supported");
    const raw = conn.raw;
    const start = (base.$transaction as (a: unknown, o?: unknown) => Promise<unknown>).bind(base);
    if (!raw) return lock.run(() => inTransaction.run(true, () => start(arg, options)));
    // BEGIN IMMEDIATE is retried while another process holds the write lock: nothing has run yet.
    // Once begun, the transaction holds the lock and cannot meet "busy" again.
    let began = false;
    return retryBusy(
      () =>
        lock.run(async () => {
          raw.prepare("BEGIN IMMEDIATE").run();
          began = true;
          conn.begun = true;
          try {
            return await inTransaction.run(true, () => start(arg, options));
          } finally {
            conn.begun = false;
            // Prisma commits or rolls back what it started; this only covers a start that failed.
            if (raw.inTransaction) raw.prepare("ROLLBACK").run();
          }
        }),
      () => !began,
    );
  };
  const proxy = new Proxy(extended, {
    get(target, prop, receiver) {
      if (prop === "$transaction") return transaction;
      if (prop === "$disconnect") {
        return async () => {
          const reader = conn.reader;
          conn.reader = undefined;
          if (reader) await (await reader).$disconnect();
          await base.$disconnect();
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as unknown as PrismaClient;
  return proxy;
}

export async function openSqlite(
  url: string,
  opts: { migrate?: boolean; synchronous?: SyncMode } = {},
): Promise<{ db: Db; conn: SqliteConnection }> {
  if (opts.migrate !== false) migrateDatabase(url);
  const conn: SqliteConnection = { lock: new Lock(), url, begun: false, queries: 0 };
  const adapter = immediateAdapter(new PrismaBetterSQLite3({ url }), conn);
  const base = new PrismaClient({ adapter });
  // Same settings as the migration connection; see applyPragmas in migrate.ts for why.
  await base.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await base.$queryRawUnsafe(`PRAGMA synchronous = ${opts.synchronous ?? "NORMAL"}`);
  await base.$queryRawUnsafe("PRAGMA foreign_keys = ON");
  await base.$queryRawUnsafe(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return { db: serialised(base, conn), conn };
}

/** The read-only connection, opened on first use (null for an in-memory database). */
function readerOf(conn: SqliteConnection): Promise<PrismaClient> | null {
  if (sqlitePath(conn.url) === ":memory:") return null;
  conn.reader ??= (async () => {
    const reader = new PrismaClient({
      adapter: new PrismaBetterSQLite3({ url: conn.url, readonly: true, fileMustExist: true }),
    });
    await reader.$queryRawUnsafe(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return reader;
  })();
  return conn.reader;
}

/**
 * Runs a long read inside one consistent snapshot on the read-only connection: in WAL mode it
 * neither waits for nor blocks any writer (this process's bot, or another process), and the rows
 * it reads all belong to one moment. Reads only: a write through the reader fails.
 */
export async function sqliteSnapshot<T>(
  db: Db,
  conn: SqliteConnection,
  fn: (r: Tx) => Promise<T>,
): Promise<T> {
  const reader = readerOf(conn);
  if (!reader) return db.$transaction(fn, { timeout: 600_000, maxWait: 60_000 });
  return (await reader).$transaction(fn, { timeout: 600_000, maxWait: 60_000 });
}

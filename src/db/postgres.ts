// The PostgreSQL connection: a pg pool shared by the Prisma client (its PostgreSQL twin, generated
// from the same data model: prisma/postgres/schema.prisma) and by the store's hot statements.
//
// Writes keep SQLite's semantics. On SQLite a write transaction takes the file's write lock before
// its first read (BEGIN IMMEDIATE), so every use case sees the database as no other writer is
// changing it and may check, then write. On PostgreSQL every write transaction takes one
// cluster-wide advisory lock as its first statement, so write transactions of all instances
// run one at a time, each in READ COMMITTED seeing everything committed before it. That costs
// nothing the audit chain does not already cost: each audited write advances the chain's single
// head row, where concurrent writers would queue anyway (and nearly every write is audited). Reads
// outside transactions and the long reads (`readSnapshot`: REPEATABLE READ, READ ONLY) run beside
// them without waiting.
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as PostgresClient } from "../generated/prisma-pg/client.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { migratePostgres } from "./postgres-migrate.js";
import { LOCK_CLASS, WRITER_LOCK } from "./locks.js";

/** Pool size per process (PG_POOL_SIZE): the bot's chats, the scheduler and a snapshot read. */
const POOL_SIZE = 10;
/** Chats handled at once by one webhook instance (each holds its chat's lock on a connection). */
const LOCK_POOL_SIZE = 20;

export interface PostgresConnection {
  pool: pg.Pool;
  /**
   * Connections that hold the per-chat advisory locks while an update is handled (src/store/
   * chat-lock.ts). Apart from `pool`: a lock holder must never wait for a connection its own
   * handler needs.
   */
  lockPool: pg.Pool;
  client: PrismaClient;
  /** The same client without the writer lock on its transactions (snapshots only). */
  unlocked: PrismaClient;
  /** Statements run through the Prisma client (benchmarks print it). */
  queries: number;
}

/**
 * PostgreSQL errors worth running the whole transaction again for: a serialisation failure or a
 * deadlock (both roll the transaction back), and Prisma's transaction that could not start in time.
 */
export function isRetryablePostgresError(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== "object" || depth > 4) return false;
  const o = e as Record<string, unknown>;
  if (o.code === "40001" || o.code === "40P01") return true;
  const meta = o.meta as Record<string, unknown> | undefined;
  return [o.cause, meta, meta?.driverAdapterError].some((x) =>
    isRetryablePostgresError(x, depth + 1),
  );
}

function pgSslFromUrl(url: string): pg.PoolConfig["ssl"] {
  // `sslmode=require` (managed databases) without certificate pinning; `verify-full` as given.
  const mode = new URL(url).searchParams.get("sslmode");
  if (mode === "require" || mode === "prefer") return { rejectUnauthorized: false };
  return undefined;
}

/** A pool with Circle's settings: UTC sessions, bounded waits, errors logged not thrown. */
export function postgresPool(url: string, max = POOL_SIZE): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    ssl: pgSslFromUrl(url),
    connectionTimeoutMillis: 30_000,
    idleTimeoutMillis: 30_000,
    // A statement never waits for ever (a lock held by a stuck instance is visible as an error).
    statement_timeout: 120_000,
    options: "-c TimeZone=UTC",
  });
  // An idle client whose server went away emits here; without a listener it would crash the bot.
  pool.on("error", () => {});
  return pool;
}

export async function openPostgres(
  url: string,
  opts: { migrate?: boolean; poolSize?: number } = {},
): Promise<PostgresConnection> {
  if (opts.migrate !== false) await migratePostgres(url);
  const pool = postgresPool(url, opts.poolSize ?? POOL_SIZE);
  const base = new PostgresClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  const conn = {
    pool,
    lockPool: postgresPool(url, LOCK_POOL_SIZE),
    queries: 0,
  } as PostgresConnection;
  const counted = base.$extends({
    query: {
      async $allOperations({ args, query }) {
        conn.queries++;
        return query(args);
      },
    },
  });
  const transaction = async (arg: unknown, options?: Record<string, unknown>) => {
    if (typeof arg !== "function")
      throw new Error("only interactive transactions are used with PostgreSQL");
    const fn = arg as (tx: unknown) => Promise<unknown>;
    const start = (counted.$transaction as (a: unknown, o?: unknown) => Promise<unknown>).bind(
      counted,
    );
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await start(
          async (tx: { $executeRawUnsafe(sql: string): Promise<number> }) => {
            // The writer lock (see the header); released by COMMIT or ROLLBACK.
            await tx.$executeRawUnsafe(
              `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${WRITER_LOCK})`,
            );
            return fn(tx);
          },
          { maxWait: 30_000, timeout: 120_000, ...options },
        );
      } catch (e) {
        if (!isRetryablePostgresError(e) || Date.now() - started > 60_000) throw e;
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt)));
      }
    }
  };
  conn.unlocked = counted as unknown as PrismaClient;
  conn.client = new Proxy(counted, {
    get(target, prop, receiver) {
      if (prop === "$transaction") return transaction;
      if (prop === "$disconnect") {
        return async () => {
          await base.$disconnect();
          await conn.lockPool.end();
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as unknown as PrismaClient;
  return conn;
}

/**
 * A long read in one consistent snapshot (REPEATABLE READ, READ ONLY): it takes no lock a writer
 * waits for, and every row it reads belongs to one moment.
 */
export async function postgresSnapshot<T>(
  conn: PostgresConnection,
  fn: (tx: PrismaClient) => Promise<T>,
): Promise<T> {
  const run = conn.unlocked.$transaction.bind(conn.unlocked) as unknown as (
    f: (tx: PrismaClient) => Promise<T>,
    o: { isolationLevel: "RepeatableRead"; maxWait: number; timeout: number },
  ) => Promise<T>;
  return run(
    async (tx) => {
      await tx.$executeRawUnsafe("SET TRANSACTION READ ONLY");
      return fn(tx);
    },
    { isolationLevel: "RepeatableRead", maxWait: 60_000, timeout: 600_000 },
  );
}

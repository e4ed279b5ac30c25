// The database every entry point (bot, CLI, scheduler, demo, tests) opens, on the engine that
// DATABASE_URL names: `file:…` → SQLite (the embedded default, src/db/sqlite.ts), `postgresql://…`
// → PostgreSQL 15+ (src/db/postgres.ts). Pending migrations are applied first.
//
// Both engines are reached through the same Prisma client API (the PostgreSQL client is generated
// from the same data model), and both give write transactions the same meaning: one at a time,
// each seeing everything committed before it. The store's hand-written statements ask
// `engineOf(db)` where the dialects differ.
import type BetterSqlite3 from "better-sqlite3";
import type pg from "pg";
import type { PrismaClient } from "../generated/prisma/client.js";
import { openSqlite, sqliteSnapshot, type SqliteConnection, type SyncMode } from "./sqlite.js";
import { engineOfUrl, type Engine } from "./url.js";
import type { PostgresConnection } from "./postgres.js";

export type Db = PrismaClient;
export type { Prisma } from "../generated/prisma/client.js";
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type Tx = Omit<
  PrismaClient,
  "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends"
>;
export type { Engine, SyncMode };
export { BUSY_RETRY_MS, BUSY_TIMEOUT_MS, DatabaseBusyError, isBusyError } from "./sqlite.js";

type Handle =
  { engine: "sqlite"; conn: SqliteConnection } | { engine: "postgres"; conn: PostgresConnection };

const handles = new WeakMap<object, Handle>();

export async function openDatabase(
  url: string,
  opts: { migrate?: boolean; synchronous?: SyncMode; poolSize?: number } = {},
): Promise<Db> {
  if (engineOfUrl(url) === "postgres") {
    const { openPostgres } = await import("./postgres.js");
    const conn = await openPostgres(url, opts);
    handles.set(conn.client, { engine: "postgres", conn });
    return conn.client;
  }
  const { db, conn } = await openSqlite(url, opts);
  handles.set(db, { engine: "sqlite", conn });
  return db;
}

/**
 * The engine behind a client or a transaction's client. Transactions are new objects on every
 * call; they carry the provider of the client they came from.
 */
export function engineOf(db: Tx): Engine {
  const h = handles.get(db);
  if (h) return h.engine;
  const provider = (db as unknown as { _activeProvider?: string })._activeProvider;
  return provider === "postgresql" ? "postgres" : "sqlite";
}

/**
 * Runs a long read (export, report data, progress, audit verify) inside one consistent snapshot
 * that blocks no writer: on SQLite a read-only connection in WAL mode, on PostgreSQL a READ ONLY
 * REPEATABLE READ transaction. Reads only.
 */
export async function readSnapshot<T>(db: Db, fn: (r: Tx) => Promise<T>): Promise<T> {
  const h = handles.get(db);
  if (h?.engine === "postgres") {
    const { postgresSnapshot } = await import("./postgres.js");
    return postgresSnapshot(h.conn, fn);
  }
  if (h?.engine === "sqlite") return sqliteSnapshot(db, h.conn, fn);
  return db.$transaction(fn, { timeout: 600_000, maxWait: 60_000 });
}

/**
 * The raw better-sqlite3 handle of a SQLite database and the lock its queries take turns
 * through, for the store's prepared statements (bulk reads and writes); null on PostgreSQL.
 */
export function rawConnection(
  db: Db,
): { raw: BetterSqlite3.Database; run<T>(fn: () => Promise<T>): Promise<T> } | null {
  const h = handles.get(db);
  if (h?.engine !== "sqlite" || !h.conn.raw) return null;
  const conn = h.conn;
  const raw = h.conn.raw;
  return {
    raw,
    run: (fn) => {
      conn.queries++;
      return conn.lock.run(fn);
    },
  };
}

/** The pg pool behind a PostgreSQL database (the store's hot statements); null on SQLite. */
export function postgresPoolOf(db: Db): pg.Pool | null {
  const h = handles.get(db);
  return h?.engine === "postgres" ? h.conn.pool : null;
}

/** The pool whose connections hold per-chat locks (PostgreSQL); null on SQLite. */
export function postgresLockPoolOf(db: Db): pg.Pool | null {
  const h = handles.get(db);
  return h?.engine === "postgres" ? h.conn.lockPool : null;
}

/** How many statements `db` has run (for benchmarks; 0 for other clients). */
export function queryCount(db: Db): number {
  return handles.get(db)?.conn.queries ?? 0;
}

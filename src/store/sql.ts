// The store's hand-written statements on either engine, for the reads and writes that run too often
// (every answer) or over too many rows (the scheduler's pass, the report) for Prisma's query builder.
// A statement is written once with `?` placeholders; on PostgreSQL they become $1, $2, … unless the
// statement gives PostgreSQL its own text (where the dialects differ). Column aliases are quoted
// (PostgreSQL folds unquoted names to lower case).
//
// SQLite: prepared (and cached) better-sqlite3 statements on the connection Prisma uses, under its
// lock. PostgreSQL: named prepared statements on the shared pg pool, with integers (COUNT, SUM,
// BIGINT) as numbers and timestamps read as UTC.
import { createHash } from "node:crypto";
import type BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { engineOf, postgresPoolOf, rawConnection, type Db, type Tx } from "../db/client.js";

export type Statement = string | { sqlite: string; postgres: string };

/** `?` → `$1`, `$2`, … (Circle's statements have no `?` inside string literals). */
export function dollarPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const textOf = (s: Statement, engine: "sqlite" | "postgres"): string =>
  typeof s === "string" ? (engine === "postgres" ? dollarPlaceholders(s) : s) : s[engine];

// PostgreSQL type OIDs whose default parsing does not fit: int8 and numeric come as strings, and
// `timestamp without time zone` (Prisma's DateTime) would be read in the process's local zone.
const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMP = 1114;
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    if (oid === TIMESTAMP) return (v: string) => new Date(`${v.replace(" ", "T")}Z`);
    return pg.types.getTypeParser(oid, format as "text");
  },
} as pg.CustomTypesConfig;

const sqliteStatements = new WeakMap<
  BetterSqlite3.Database,
  Map<string, BetterSqlite3.Statement>
>();
const names = new Map<string, string>();

/** A stable statement name per text, so each pool connection prepares it once. */
function nameOf(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `circle_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

/** Rows of a read on the database's own connection (not inside a transaction). */
export async function queryRows<T>(db: Db, stmt: Statement, params: unknown[] = []): Promise<T[]> {
  const pool = postgresPoolOf(db);
  if (pool) {
    const text = textOf(stmt, "postgres");
    const r = await pool.query({ name: nameOf(text), text, values: params, types });
    return r.rows as T[];
  }
  const c = rawConnection(db);
  if (!c) throw new Error("the store's statements need a database opened by openDatabase");
  const text = textOf(stmt, "sqlite");
  let cache = sqliteStatements.get(c.raw);
  if (!cache) sqliteStatements.set(c.raw, (cache = new Map()));
  let prepared = cache.get(text);
  if (!prepared) {
    prepared = c.raw.prepare(text).safeIntegers(false);
    cache.set(text, prepared);
  }
  const p = prepared;
  const sqliteParams = params.map((v) =>
    v instanceof Date ? v.toISOString() : typeof v === "boolean" ? Number(v) : v,
  );
  return c.run(() => Promise.resolve(p.all(...sqliteParams) as T[]));
}

/** Rows of a statement inside a transaction (or on the client), through Prisma on either engine. */
export async function txRows<T>(tx: Tx, stmt: Statement, params: unknown[] = []): Promise<T[]> {
  const engine = engineOf(tx);
  return tx.$queryRawUnsafe<T[]>(textOf(stmt, engine), ...params);
}

/**
 * A DateTime column as read by a hand-written statement: a Date (PostgreSQL), ISO 8601 text as
 * Prisma's SQLite adapter writes it, SQLite's CURRENT_TIMESTAMP ("YYYY-MM-DD HH:MM:SS", UTC), or
 * epoch milliseconds.
 */
export function dateOf(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v;
  if (typeof v === "number" || typeof v === "bigint") return new Date(Number(v));
  const s = String(v);
  return new Date(
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(s) ? `${s.replace(" ", "T")}Z` : s,
  );
}

/** A boolean column or expression: true/false (PostgreSQL) or 1/0 (SQLite). */
export const boolOf = (v: unknown): boolean => v === true || v === 1 || v === 1n || v === "1";

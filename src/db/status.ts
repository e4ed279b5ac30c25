// `circle db status` and the webhook's /healthz: which migrations the database has applied and
// which of the committed ones (of its engine) it still lacks. Both engines record them in the same
// `_prisma_migrations` table.
import { existsSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { listMigrations, MIGRATIONS_DIR, POSTGRES_MIGRATIONS_DIR } from "./migrate.js";
import { isPostgresUrl, sqlitePath, type Engine } from "./url.js";

export interface MigrationComparison {
  /** Committed migrations the database has applied, in order. */
  applied: string[];
  /** Committed migrations the database has not applied yet (`circle db migrate` applies them). */
  pending: string[];
  /** Migrations the database has applied that this code does not know (a newer Circle wrote it). */
  unknown: string[];
}

export interface DatabaseStatus extends MigrationComparison {
  engine: Engine;
  /** The database file (absolute path), or the PostgreSQL server and database (no password). */
  file: string;
  reachable: boolean;
  /** Why the database could not be read, when it could not. */
  error: string | null;
  sizeBytes: number | null;
  /** Reachable, nothing pending and nothing unknown. */
  current: boolean;
}

/** The committed migrations of an engine, by name, in order. */
export function committedMigrations(engine: Engine): string[] {
  return listMigrations(engine === "postgres" ? POSTGRES_MIGRATIONS_DIR : MIGRATIONS_DIR).map(
    (m) => m.name,
  );
}

export function compareMigrations(
  appliedInDb: readonly string[],
  committed: readonly string[] = committedMigrations("sqlite"),
): MigrationComparison {
  const done = new Set(appliedInDb);
  const known = new Set(committed);
  return {
    applied: committed.filter((name) => done.has(name)),
    pending: committed.filter((name) => !done.has(name)),
    unknown: [...done].filter((name) => !known.has(name)).sort(),
  };
}

/** The names of the migrations recorded as finished (and not rolled back) in the database. */
export const APPLIED_MIGRATIONS_SQL = `SELECT migration_name AS name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;

/**
 * Reads the status of a SQLite database without changing it: only read from, never created (a
 * missing file is "unreachable", not a new empty database), never migrated. (Not opened with
 * SQLite's read-only flag: a read-only connection cannot open a WAL database whose -shm file is
 * gone, which is the normal state after the bot stopped cleanly.)
 */
export async function databaseStatus(url: string): Promise<DatabaseStatus> {
  return isPostgresUrl(url) ? postgresStatus(url) : sqliteStatus(url);
}

/** A PostgreSQL URL without its password, for display. */
export function displayPostgresUrl(url: string): string {
  const u = new URL(url);
  u.password = "";
  return `${u.host}${u.pathname}`;
}

async function postgresStatus(url: string): Promise<DatabaseStatus> {
  const base = { engine: "postgres" as const, file: displayPostgresUrl(url) };
  const committed = committedMigrations("postgres");
  try {
    const { appliedPostgresMigrations, postgresDatabaseSize } =
      await import("./postgres-migrate.js");
    const comparison = compareMigrations(await appliedPostgresMigrations(url), committed);
    return {
      ...base,
      reachable: true,
      error: null,
      sizeBytes: await postgresDatabaseSize(url),
      current: comparison.pending.length === 0 && comparison.unknown.length === 0,
      ...comparison,
    };
  } catch (e) {
    return {
      ...base,
      reachable: false,
      error: e instanceof Error ? e.message : String(e),
      sizeBytes: null,
      current: false,
      ...compareMigrations([], committed),
    };
  }
}

function sqliteStatus(url: string): DatabaseStatus {
  const file = sqlitePath(url);
  const base = { engine: "sqlite" as const, file };
  const unreachable = (error: string): DatabaseStatus => ({
    ...base,
    reachable: false,
    error,
    sizeBytes: null,
    current: false,
    ...compareMigrations([]),
  });
  if (file === ":memory:") return unreachable("an in-memory database has no status to read");
  if (!existsSync(file)) return unreachable(`no database file at ${file}`);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma("busy_timeout = 5000");
    const hasTable = db
      .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'`)
      .get();
    const names = hasTable
      ? (db.prepare(APPLIED_MIGRATIONS_SQL).all() as { name: string }[]).map((r) => r.name)
      : [];
    const comparison = compareMigrations(names);
    return {
      ...base,
      reachable: true,
      error: null,
      sizeBytes: statSync(file).size,
      current: comparison.pending.length === 0 && comparison.unknown.length === 0,
      ...comparison,
    };
  } catch (e) {
    return unreachable(e instanceof Error ? e.message : String(e));
  } finally {
    db?.close();
  }
}

// What bounds durable throughput: how many commits (each one an fsync of the WAL under
// synchronous FULL; under NORMAL a WAL append, fsynced only at checkpoints) and SQL statements
// one answer costs, how fast this disk commits, and the CPU cost of one Prisma query next to the
// same query on better-sqlite3.
import { closeSync, openSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { SyncMode } from "../src/db/client.js";
import { applyPragmas } from "../src/db/migrate.js";

/** Single-row autocommit inserts per second in `dir`, with Circle's pragmas and this synchronous mode. */
export function commitProbe(
  dir: string,
  n: number,
  synchronous: SyncMode,
): { commitsPerSecond: number; msPerCommit: number } {
  const sql = new Database(join(dir, `commit-probe-${synchronous}.db`));
  applyPragmas(sql);
  sql.pragma(`synchronous = ${synchronous}`);
  sql.exec(`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  const insert = sql.prepare(`INSERT INTO t (v) VALUES (?)`);
  for (let i = 0; i < 5; i++) insert.run("warm");
  const t0 = performance.now();
  for (let i = 0; i < n; i++) insert.run(`row ${i}`);
  const ms = performance.now() - t0;
  sql.close();
  return { commitsPerSecond: (n / ms) * 1000, msPerCommit: ms / n };
}

/**
 * Commits recorded in a WAL file since it was last reset: frames whose header carries a
 * "database size after commit" and the current salt (older frames from before a restart have
 * another salt). Format: https://sqlite.org/fileformat2.html#walformat
 */
export function walCommits(dbFile: string): number {
  const wal = `${dbFile}-wal`;
  if (!existsSync(wal)) return 0;
  const buf = readFileSync(wal);
  if (buf.length < 32) return 0;
  const pageSize = buf.readUInt32BE(8);
  const salt1 = buf.readUInt32BE(16);
  const salt2 = buf.readUInt32BE(20);
  let commits = 0;
  for (let off = 32; off + 24 + pageSize <= buf.length; off += 24 + pageSize) {
    if (buf.readUInt32BE(off + 8) !== salt1 || buf.readUInt32BE(off + 12) !== salt2) break;
    if (buf.readUInt32BE(off + 4) !== 0) commits++;
  }
  return commits;
}

/** Touches the file so a WAL that does not exist yet reads as empty. */
export function ensureFile(path: string): void {
  closeSync(openSync(path, "a"));
}

/**
 * Counts SQL statements run inside `fn`. Prisma's better-sqlite3 adapter prepares every statement
 * it runs (no statement cache), so counting prepare() calls counts statements, BEGIN/COMMIT included.
 */
export async function countStatements(fn: () => Promise<void>): Promise<number> {
  const proto = Database.prototype as unknown as {
    prepare: (this: unknown, sql: string) => unknown;
  };
  const original = proto.prepare;
  let n = 0;
  proto.prepare = function (this: unknown, sql: string) {
    n++;
    return original.call(this, sql);
  };
  try {
    await fn();
  } finally {
    proto.prepare = original;
  }
  return n;
}

/** CPU µs per call of `fn`, averaged over `n` calls after a short warm-up. */
export async function cpuMicros(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

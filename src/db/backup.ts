// `circle db backup` and `circle db restore` for SQLite. On PostgreSQL the server's own tools do it
// (pg_dump while Circle runs, pg_restore into an empty database): the commands say how, with the
// database's own URL, instead of wrapping them.
//
// A backup uses SQLite's online backup API (through better-sqlite3) on a separate connection. It
// copies every page in one step, inside one read transaction: in WAL mode that is one consistent
// snapshot of the database, taken without blocking the running bot's writes (a writer committing
// meanwhile neither waits nor makes the copy restart). The copy is written next to the target
// under a temporary name, checked, switched to a single self-contained file (journal_mode DELETE,
// no -wal beside it) and only then renamed into place, so a half-written backup never has the
// target's name.
import { createHash } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  createReadStream,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { basename, dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { databaseStatus } from "./status.js";
import { isPostgresUrl } from "./url.js";
import { sqlitePath } from "./url.js";

/** A database file operation refused or failed; the message says why and what to do. */
export class DatabaseFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseFileError";
  }
}

export interface BackupResult {
  /** The backup file (absolute path). */
  file: string;
  bytes: number;
  sha256: string;
  /** Database pages copied. */
  pages: number;
}

export interface RestoreResult {
  /** The database file that now holds the backup's contents. */
  file: string;
  from: string;
  bytes: number;
  sha256: string;
  /** Where the database that was there before now is (with its -wal), or null if there was none. */
  previous: string | null;
  /** Migrations the restored database still lacks (every entry point applies them at start). */
  pendingMigrations: string[];
}

const SIDECARS = ["-wal", "-shm", "-journal"] as const;

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function fsyncFile(file: string): void {
  const fd = openSync(file, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function removeWithSidecars(file: string): void {
  for (const f of [file, ...SIDECARS.map((s) => file + s)]) rmSync(f, { force: true });
}

/**
 * Checks a database file copy and makes it self-contained: integrity_check must say "ok", the
 * file must be a Circle database (it has the migrations table), and it is switched to
 * journal_mode DELETE so that it is one file with nothing beside it.
 */
function checkAndSeal(file: string, what: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma("journal_mode = DELETE");
    const check = db.pragma("integrity_check") as { integrity_check: string }[];
    const verdict = check.map((r) => r.integrity_check).join("; ");
    if (verdict !== "ok") throw new DatabaseFileError(`${what} is damaged: ${verdict}`);
    const circle = db
      .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'`)
      .get();
    if (!circle) throw new DatabaseFileError(`${what} is not a Circle database`);
  } catch (e) {
    if (e instanceof DatabaseFileError) throw e;
    throw new DatabaseFileError(
      `${what} is not a readable SQLite database: ${e instanceof Error ? e.message : String(e)}`,
    );
  } finally {
    db?.close();
  }
}

export async function backupDatabase(
  url: string,
  destination: string,
  opts: { force?: boolean } = {},
): Promise<BackupResult> {
  if (isPostgresUrl(url))
    throw new DatabaseFileError(
      `on PostgreSQL, back up with pg_dump while Circle runs (a consistent snapshot, no lock on writers): pg_dump --format=custom --file=${destination} "$DATABASE_URL" (README: Running on PostgreSQL)`,
    );
  const source = sqlitePath(url);
  const dest = resolve(destination);
  if (source === ":memory:")
    throw new DatabaseFileError("an in-memory database cannot be backed up");
  if (!existsSync(source)) throw new DatabaseFileError(`no database file at ${source}`);
  if (dest === source || SIDECARS.some((s) => dest === source + s))
    throw new DatabaseFileError("the backup file must not be the database itself");
  if (!existsSync(dirname(dest))) throw new DatabaseFileError(`no such folder: ${dirname(dest)}`);
  if (existsSync(dest) && !opts.force)
    throw new DatabaseFileError(`${dest} already exists; add --force to overwrite it`);

  const temp = `${dest}.tmp-${process.pid}`;
  removeWithSidecars(temp);
  const db = new Database(source, { fileMustExist: true });
  let pages = 0;
  try {
    db.pragma("busy_timeout = 5000");
    // After the first (empty) step, copy all remaining pages in a single step: one snapshot.
    const done = await db.backup(temp, { progress: () => 0x7fffffff });
    pages = done.totalPages;
  } catch (e) {
    removeWithSidecars(temp);
    throw new DatabaseFileError(`backup failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    db.close();
  }
  try {
    checkAndSeal(temp, "the backup");
    fsyncFile(temp);
    renameSync(temp, dest);
  } finally {
    removeWithSidecars(temp);
  }
  return { file: dest, bytes: statSync(dest).size, sha256: await sha256File(dest), pages };
}

/**
 * Process ids (other than this one) that have `file` or its -wal open, read from /proc on Linux;
 * null where that cannot be checked (other systems).
 */
export function processesHolding(file: string): number[] | null {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  const targets = new Set([file, `${file}-wal`]);
  const holders: number[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile, or another user's process (not ours to see)
    }
    for (const fd of fds) {
      try {
        if (targets.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          holders.push(Number(pid));
          break;
        }
      } catch {
        // the descriptor closed meanwhile
      }
    }
  }
  return holders;
}

/**
 * Puts a backup in place of the database at `url`. Only while nothing has the database open:
 * it refuses when another process holds the file (the bot must be stopped first). An existing
 * database is only replaced with `force`, and even then it is kept, renamed (with its -wal) to
 * `<file>.before-restore-<time>`, so a restore by mistake loses nothing.
 */
export async function restoreDatabase(
  backupFile: string,
  url: string,
  opts: { force?: boolean; now?: Date } = {},
): Promise<RestoreResult> {
  if (isPostgresUrl(url))
    throw new DatabaseFileError(
      `on PostgreSQL, stop Circle and restore into an empty database with pg_restore: createdb circle_restored && pg_restore --no-owner --dbname=postgresql://…/circle_restored ${backupFile}, then point DATABASE_URL at it (README: Running on PostgreSQL)`,
    );
  const from = resolve(backupFile);
  const target = sqlitePath(url);
  if (target === ":memory:")
    throw new DatabaseFileError("cannot restore into an in-memory database");
  if (!existsSync(from)) throw new DatabaseFileError(`no backup file at ${from}`);
  if (from === target) throw new DatabaseFileError("the backup is the database itself");
  if (!existsSync(dirname(target)))
    throw new DatabaseFileError(`no such folder: ${dirname(target)}`);
  const exists = existsSync(target);
  if (exists) {
    const holders = processesHolding(target);
    if (holders && holders.length > 0)
      throw new DatabaseFileError(
        `${target} is open in process ${holders.join(", ")}: stop the bot (and any running circle command) first`,
      );
    if (!opts.force)
      throw new DatabaseFileError(
        `${target} already exists; add --force to replace it (it is kept as ${basename(target)}.before-restore-<time>)`,
      );
  }

  // Copy and check next to the target first: the database is only touched once the copy is good.
  const temp = `${target}.restore-${process.pid}`;
  removeWithSidecars(temp);
  let previous: string | null = null;
  try {
    copyFileSync(from, temp);
    checkAndSeal(temp, "the backup");
    fsyncFile(temp);
    if (exists) {
      const stamp = (opts.now ?? new Date()).toISOString().replace(/[:.]/g, "-");
      previous = `${target}.before-restore-${stamp}`;
      // The -wal may hold committed transactions not yet in the main file: it moves with it.
      for (const suffix of ["", "-wal"]) {
        if (existsSync(target + suffix)) renameSync(target + suffix, previous + suffix);
      }
    }
    // A stale -wal or -shm left beside the new file would be read as part of it.
    for (const s of SIDECARS) rmSync(target + s, { force: true });
    renameSync(temp, target);
  } finally {
    removeWithSidecars(temp);
  }
  const status = await databaseStatus(url);
  return {
    file: target,
    from,
    bytes: statSync(target).size,
    sha256: await sha256File(target),
    previous,
    pendingMigrations: status.pending,
  };
}

// Applies the committed Prisma migrations (prisma/migrations/*/migration.sql) in order and
// records them in a `_prisma_migrations` table compatible with `prisma migrate deploy`, so
// every entry point can bring an empty or older database up to date without spawning the
// Prisma CLI (slow to start, and it must never reach the network).
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { isPostgresUrl, sqlitePath } from "./url.js";

export const MIGRATIONS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../prisma/migrations",
);
/** PostgreSQL's migrations: the same history, written for it (checked against the schema by tests). */
export const POSTGRES_MIGRATIONS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../prisma/migrations-postgres",
);

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

export function listMigrations(dir = MIGRATIONS_DIR): { name: string; sql: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(dir, name, "migration.sql"), "utf8") }));
}

/** SQLite settings every connection of ours uses; see README "Data, privacy and durability". */
export function applyPragmas(db: Database.Database): void {
  // WAL: readers (CLI reports) never block the bot's writes, and a commit is one append.
  db.pragma("journal_mode = WAL");
  // NORMAL in WAL mode: a committed answer survives any crash of Circle's process (it is in the
  // WAL file before the parent sees it acknowledged); only a power cut or kernel crash can lose
  // the last commits, and the database stays consistent (an answer commits together with its
  // conversation state, so the chat resumes at the first unsaved item). The bot's connection
  // uses SQLITE_SYNCHRONOUS (FULL also fsyncs every commit, about 4 ms each on our disks).
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  // The CLI and the bot may write at the same moment; wait instead of failing.
  db.pragma("busy_timeout = 5000");
}

export function migrateDatabase(url: string, dir = MIGRATIONS_DIR): MigrationResult {
  const file = sqlitePath(url);
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    applyPragmas(db);
    db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" TEXT PRIMARY KEY NOT NULL,
      "checksum" TEXT NOT NULL,
      "finished_at" DATETIME,
      "migration_name" TEXT NOT NULL,
      "logs" TEXT,
      "rolled_back_at" DATETIME,
      "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
      "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
    )`);
    const done = new Set(
      (
        db
          .prepare(
            `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
          )
          .all() as { migration_name: string }[]
      ).map((r) => r.migration_name),
    );
    const applied: string[] = [];
    let already = 0;
    for (const m of listMigrations(dir)) {
      if (done.has(m.name)) {
        already++;
        continue;
      }
      const checksum = createHash("sha256").update(m.sql).digest("hex");
      // One transaction per migration: a half-applied migration never stays behind. IMMEDIATE,
      // and checked again inside: two entry points starting at once apply it exactly once.
      const appliedMeanwhile = db
        .transaction(() => {
          const row = db
            .prepare(
              `SELECT 1 FROM _prisma_migrations WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
            )
            .get(m.name);
          if (row) return true;
          db.exec(m.sql);
          db.prepare(
            `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES (?, ?, ?, ?, ?, 1)`,
          ).run(randomUUID(), checksum, Date.now(), m.name, Date.now());
          return false;
        })
        .immediate();
      if (appliedMeanwhile) {
        already++;
        continue;
      }
      applied.push(m.name);
    }
    return { applied, alreadyApplied: already };
  } finally {
    db.close();
  }
}

/** The committed migrations of the engine a URL names. */
export function migrationsFor(url: string): { name: string; sql: string }[] {
  return listMigrations(isPostgresUrl(url) ? POSTGRES_MIGRATIONS_DIR : MIGRATIONS_DIR);
}

/** Applies pending migrations on either engine (what every entry point does at start). */
export async function migrate(url: string): Promise<MigrationResult> {
  if (!isPostgresUrl(url)) return migrateDatabase(url);
  const { migratePostgres } = await import("./postgres-migrate.js");
  return migratePostgres(url);
}

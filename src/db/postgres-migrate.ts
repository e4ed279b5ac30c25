// Migrations on PostgreSQL: the committed SQL of prisma/migrations-postgres/ applied in order and
// recorded in `_prisma_migrations` exactly as `prisma migrate deploy` records them, so either may
// be used. Offline (no Prisma CLI), each migration in its own transaction (PostgreSQL's DDL is
// transactional: a failed migration leaves nothing behind), and under an advisory lock so that
// several instances starting at once apply each migration exactly once.
import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import { LOCK_CLASS, MIGRATION_LOCK } from "./locks.js";
import { listMigrations, POSTGRES_MIGRATIONS_DIR, type MigrationResult } from "./migrate.js";

const LOCK = `SELECT pg_advisory_lock(${LOCK_CLASS}, ${MIGRATION_LOCK})`;
const UNLOCK = `SELECT pg_advisory_unlock(${LOCK_CLASS}, ${MIGRATION_LOCK})`;

// The table `prisma migrate deploy` creates on PostgreSQL.
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

const APPLIED = `SELECT migration_name AS name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;

export async function migratePostgres(
  url: string,
  dir = POSTGRES_MIGRATIONS_DIR,
): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: url, options: "-c TimeZone=UTC" });
  await client.connect();
  try {
    await client.query("SET client_min_messages = warning");
    await client.query(LOCK);
    try {
      await client.query(MIGRATIONS_TABLE);
      const done = new Set((await client.query<{ name: string }>(APPLIED)).rows.map((r) => r.name));
      const applied: string[] = [];
      let already = 0;
      for (const m of listMigrations(dir)) {
        if (done.has(m.name)) {
          already++;
          continue;
        }
        const checksum = createHash("sha256").update(m.sql).digest("hex");
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
             VALUES ($1, $2, now(), $3, now(), 1)`,
            [randomUUID(), checksum, m.name],
          );
          await client.query("COMMIT");
        } catch (e) {
          await client.query("ROLLBACK");
          throw new Error(
            `migration ${m.name} failed: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        applied.push(m.name);
      }
      return { applied, alreadyApplied: already };
    } finally {
      await client.query(UNLOCK);
    }
  } finally {
    await client.end();
  }
}

/** The migrations a PostgreSQL database has applied (read only; null when it has none yet). */
export async function appliedPostgresMigrations(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const exists = await client.query(
      `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS ok`,
    );
    if (!(exists.rows[0] as { ok: boolean }).ok) return [];
    return (await client.query<{ name: string }>(APPLIED)).rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

/** The database's size on disk (pg_database_size), for `circle db status`. */
export async function postgresDatabaseSize(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>("SELECT pg_database_size(current_database()) AS n");
    return Number(r.rows[0]!.n);
  } finally {
    await client.end();
  }
}

// PostgreSQL for the test suites: with CIRCLE_TEST_POSTGRES_URL set (scripts/test-postgres.sh sets
// it to a throwaway cluster), every test database is a fresh PostgreSQL database instead of a
// SQLite file. Each is a copy of a migrated template, made once per set of migrations, so a test
// starts from the same empty, migrated database as on SQLite in a few milliseconds.
import { createHash, randomBytes } from "node:crypto";
import pg from "pg";
import { listMigrations, POSTGRES_MIGRATIONS_DIR } from "../../src/db/migrate.js";
import { migratePostgres } from "../../src/db/postgres-migrate.js";

/** The cluster's admin URL, or undefined: the suites then run on SQLite. */
export const TEST_POSTGRES_URL = process.env.CIRCLE_TEST_POSTGRES_URL || undefined;

function urlOf(admin: string, database: string): string {
  const u = new URL(admin);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withAdmin<T>(admin: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let template: Promise<string> | undefined;

/** The migrated template database (created by the first worker that needs it). */
function templateDatabase(admin: string): Promise<string> {
  template ??= (async () => {
    const digest = createHash("sha256");
    for (const m of listMigrations(POSTGRES_MIGRATIONS_DIR)) digest.update(m.name).update(m.sql);
    const name = `circle_tpl_${digest.digest("hex").slice(0, 12)}`;
    await withAdmin(admin, async (c) => {
      // One worker builds it; the others wait on the lock and then find it.
      await c.query("SELECT pg_advisory_lock(4409682, 100)");
      try {
        const exists = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (exists.rowCount === 0) {
          await c.query(`CREATE DATABASE "${name}_build"`);
          await migratePostgres(urlOf(admin, `${name}_build`));
          await c.query(`ALTER DATABASE "${name}_build" RENAME TO "${name}"`);
        }
      } finally {
        await c.query("SELECT pg_advisory_unlock(4409682, 100)");
      }
    });
    return name;
  })();
  return template;
}

/** A new, migrated, empty database; `drop` removes it (closing what is still connected). */
export async function newPostgresDatabase(
  admin: string,
  opts: { migrated?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `circle_t_${randomBytes(6).toString("hex")}`;
  await withAdmin(admin, async (c) => {
    if (opts.migrated === false) await c.query(`CREATE DATABASE "${name}"`);
    else await c.query(`CREATE DATABASE "${name}" TEMPLATE "${await templateDatabase(admin)}"`);
  });
  return {
    url: urlOf(admin, name),
    drop: () =>
      withAdmin(admin, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }),
  };
}

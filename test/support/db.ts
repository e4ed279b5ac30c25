// A real database per test, migrated through the same code as production: a SQLite file, or a
// PostgreSQL database when the suites run against PostgreSQL (CIRCLE_TEST_POSTGRES_URL; see
// test/support/postgres.ts and `npm run test:postgres`).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Db } from "../../src/db/client.js";
import { newPostgresDatabase, TEST_POSTGRES_URL } from "./postgres.js";

export interface TempDb {
  url: string;
  /** A temporary folder for the test's files (on SQLite it also holds the database). */
  dir: string;
  db: Db;
  engine: "sqlite" | "postgres";
  cleanup(): Promise<void>;
}

export async function tempDatabase(): Promise<TempDb> {
  const dir = mkdtempSync(join(tmpdir(), "circle-test-"));
  if (TEST_POSTGRES_URL) {
    const pgdb = await newPostgresDatabase(TEST_POSTGRES_URL);
    const db = await openDatabase(pgdb.url);
    return {
      url: pgdb.url,
      dir,
      db,
      engine: "postgres",
      async cleanup() {
        await db.$disconnect();
        await pgdb.drop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = `file:${join(dir, "circle.db")}`;
  const db = await openDatabase(url);
  return {
    url,
    dir,
    db,
    engine: "sqlite",
    async cleanup() {
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

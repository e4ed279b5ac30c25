// `npm run test:postgres` (scripts/test-postgres.sh): the suites that touch the database, again on
// PostgreSQL, plus the PostgreSQL-only suites in test/postgres. A suite touches the database when
// it, or a test helper it imports, opens one (tempDatabase / openDatabase); suites written for
// SQLite's own files (backup of the file, the read-only WAL connection) stay SQLite's.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { defineConfig } from "vitest/config";

const ROOT = import.meta.dirname;

/** Suites about SQLite's files and connections, not about what Circle stores. */
const SQLITE_ONLY = new Set([
  "test/db.test.ts", // the SQLite migration runner
  "test/cli/db-ops.test.ts", // backup/restore of the SQLite file (PostgreSQL: pg_dump, README)
  "test/reliability/export-does-not-block.test.ts", // the read-only WAL connection
  "test/e2e/demo.test.ts", // npm run demo: SQLite by design
]);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const OPENS = /\btempDatabase\(|\bopenDatabase\(/;
const LOCAL_IMPORT = /from\s+["'](\.[^"']+)["']/g;

/** Whether a test file, or a local helper it imports (transitively, within test/), opens a database. */
function touchesDatabase(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  const source = readFileSync(file, "utf8");
  if (OPENS.test(source)) return true;
  for (const m of source.matchAll(LOCAL_IMPORT)) {
    const target = resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts"));
    if (
      target.startsWith(join(ROOT, "test")) &&
      existsSync(target) &&
      touchesDatabase(target, seen)
    )
      return true;
  }
  return false;
}

const suites = files(join(ROOT, "test"))
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => relative(ROOT, f))
  .filter(
    (f) =>
      f.startsWith("test/postgres/") || (!SQLITE_ONLY.has(f) && touchesDatabase(join(ROOT, f))),
  )
  .sort();

export default defineConfig({
  test: {
    include: suites,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/support/global-setup.ts"],
  },
});

// Prisma 6.19 with the js engine: migrations run through wasm and the client talks to SQLite
// through the better-sqlite3 driver adapter, so nothing is downloaded at install or run time.
// This config serves the Prisma CLI (generate, migrate diff); Circle itself opens either engine
// through src/db/client.ts and applies migrations with src/db/migrate.ts.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

function sqliteUrl(): string {
  const url = process.env.DATABASE_URL;
  // The CLI's diffs need a SQLite connection even when Circle runs on PostgreSQL.
  return url && url.startsWith("file:") ? url : "file:./data/circle.db";
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  async adapter() {
    const url = sqliteUrl();
    // The adapter opens the file even for a diff that reads no database: its folder must exist.
    mkdirSync(dirname(resolve(url.slice("file:".length).split("?")[0]!)), { recursive: true });
    return new PrismaBetterSQLite3({ url });
  },
});

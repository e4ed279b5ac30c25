// Prisma 6.19 with the js engine: migrations run through wasm and the client talks to SQLite
// through the better-sqlite3 driver adapter, so nothing is downloaded at install or run time.
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

function databaseUrl(): string {
  return process.env.DATABASE_URL && process.env.DATABASE_URL !== ""
    ? process.env.DATABASE_URL
    : "file:./data/circle.db";
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  async adapter() {
    return new PrismaBetterSQLite3({ url: databaseUrl() });
  },
});

// The Prisma client factory. Every entry point (bot, CLI, demo, tests) opens the database
// here, which applies pending migrations first.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../generated/prisma/client.js";
import { migrateDatabase } from "./migrate.js";

export type Db = PrismaClient;
export type { Prisma } from "../generated/prisma/client.js";
/** The client handed to `$transaction(async (tx) => …)` callbacks. */
export type Tx = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;

export async function openDatabase(url: string, opts: { migrate?: boolean } = {}): Promise<Db> {
  if (opts.migrate !== false) migrateDatabase(url);
  const adapter = new PrismaBetterSQLite3({ url });
  const db = new PrismaClient({ adapter });
  // Same settings as the migration connection (WAL, FULL sync, foreign keys, busy timeout).
  await db.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await db.$queryRawUnsafe("PRAGMA synchronous = FULL");
  await db.$queryRawUnsafe("PRAGMA foreign_keys = ON");
  await db.$queryRawUnsafe("PRAGMA busy_timeout = 5000");
  return db;
}

// The floor to compare with: a plain grammY bot (same fake Bot API) whose only middleware writes
// one row per update and replies once. Two storage variants: better-sqlite3 with a prepared
// statement, and Circle's own Prisma client (openDatabase: same migrations and pragmas).
import Database from "better-sqlite3";
import { Bot } from "grammy";
import type { Update } from "grammy/types";
import { openDatabase, type Db, type SyncMode } from "../src/db/client.js";
import { applyPragmas } from "../src/db/migrate.js";
import { BENCH_BOT, BenchUser, LightTelegram } from "./fake-api.js";

export interface Deliverer {
  tg: LightTelegram;
  deliver(u: Update): Promise<void>;
  /** The update answering this user's k-th item. */
  answerUpdate(id: number, k: number): Update;
  /** Rows written so far (a check that every update reached storage). */
  rows(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Circle's connection settings (src/db/migrate.ts applyPragmas: WAL, foreign keys, busy timeout),
 * with the bot's synchronous mode (SQLITE_SYNCHRONOUS; default NORMAL, as openDatabase).
 */
export function openSqlite(file: string, synchronous: SyncMode = "NORMAL"): Database.Database {
  const sql = new Database(file);
  applyPragmas(sql);
  sql.pragma(`synchronous = ${synchronous}`);
  return sql;
}

function pressFor(users: Map<number, BenchUser>, id: number, k: number): Update {
  let u = users.get(id);
  if (!u) users.set(id, (u = new BenchUser(id)));
  const data = `1q:${k}:bench1:a:${k % 5}`;
  return u.press({ messageId: k, keyboard: [[{ text: "x", callback_data: data }]] }, data);
}

/** `fake: "fetch"` routes the fake Bot API through grammY's HTTP client path (JSON encoding), as for conversations. */
export function bareSqlite(
  file: string,
  fake: "transformer" | "fetch" = "transformer",
  synchronous: SyncMode = "NORMAL",
): Deliverer {
  const tg = new LightTelegram();
  const sql = openSqlite(file, synchronous);
  sql.exec(
    `CREATE TABLE IF NOT EXISTS answer_log (id INTEGER PRIMARY KEY, update_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL)`,
  );
  const insert = sql.prepare(
    `INSERT INTO answer_log (update_id, chat_id, data, at) VALUES (?, ?, ?, ?)`,
  );
  const bot = new Bot("1:bench", {
    botInfo: BENCH_BOT,
    ...(fake === "fetch" ? { client: { fetch: tg.fetch() } } : {}),
  });
  if (fake === "transformer") bot.api.config.use(tg.transformer());
  bot.on("callback_query:data", async (ctx) => {
    insert.run(
      ctx.update.update_id,
      ctx.chat!.id,
      ctx.callbackQuery.data,
      new Date().toISOString(),
    );
    await ctx.reply("Saved.");
  });
  const users = new Map<number, BenchUser>();
  return {
    tg,
    deliver: (u) => bot.handleUpdate(u),
    answerUpdate: (id, k) => pressFor(users, id, k),
    rows: async () =>
      (sql.prepare(`SELECT COUNT(*) AS n FROM answer_log`).get() as { n: number }).n,
    close: async () => void sql.close(),
  };
}

export async function barePrisma(url: string): Promise<Deliverer> {
  const tg = new LightTelegram();
  const db: Db = await openDatabase(url);
  const bot = new Bot("1:bench", { botInfo: BENCH_BOT });
  bot.api.config.use(tg.transformer());
  bot.on("callback_query:data", async (ctx) => {
    await db.processedUpdate.create({
      data: { updateId: BigInt(ctx.update.update_id), processedAt: new Date() },
    });
    await ctx.reply("Saved.");
  });
  const users = new Map<number, BenchUser>();
  return {
    tg,
    deliver: (u) => bot.handleUpdate(u),
    answerUpdate: (id, k) => pressFor(users, id, k),
    rows: () => db.processedUpdate.count(),
    close: () => db.$disconnect(),
  };
}

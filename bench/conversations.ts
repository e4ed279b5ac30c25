// The same 30-item questionnaire written with @grammyjs/conversations v2, as a grammY developer
// would: one function that sends an item, waits for the press, stores the answer (external),
// answers the query and edits the question — its state kept in SQLite (better-sqlite3, Circle's
// pragmas) through a small key-value storage adapter. The plugin replays the function
// from the start on every update, so its cost grows with the item number.
import { Bot, type Context } from "grammy";
import type { Update } from "grammy/types";
import {
  conversations,
  createConversation,
  type Conversation,
  type ConversationFlavor,
  type VersionedState,
  type ConversationData,
} from "@grammyjs/conversations";
import { t, type Instrument } from "../src/study/model.js";
import { escapeHtml } from "../src/telegram/html.js";
import { openSqlite, type Deliverer } from "./bare.js";
import { BENCH_BOT, BenchUser, LightTelegram, buttonData } from "./fake-api.js";

type Ctx = ConversationFlavor<Context>;

export function conversationsBot(
  file: string,
  instrument: Instrument,
): Deliverer & { start(id: number): Promise<void> } {
  const tg = new LightTelegram();
  const sql = openSqlite(file);
  sql.exec(`CREATE TABLE IF NOT EXISTS conversation (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  sql.exec(
    `CREATE TABLE IF NOT EXISTS answer (chat_id INTEGER NOT NULL, item_id TEXT NOT NULL, value REAL, at TEXT NOT NULL, PRIMARY KEY (chat_id, item_id))`,
  );
  const read = sql.prepare(`SELECT value FROM conversation WHERE key = ?`);
  const write = sql.prepare(
    `INSERT INTO conversation (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );
  const remove = sql.prepare(`DELETE FROM conversation WHERE key = ?`);
  const saveAnswer = sql.prepare(
    `INSERT INTO answer (chat_id, item_id, value, at) VALUES (?, ?, ?, ?) ON CONFLICT (chat_id, item_id) DO UPDATE SET value = excluded.value, at = excluded.at`,
  );
  const adapter = {
    read: (key: string) => {
      const row = read.get(key) as { value: string } | undefined;
      return row ? (JSON.parse(row.value) as VersionedState<ConversationData>) : undefined;
    },
    write: (key: string, state: VersionedState<ConversationData>) =>
      void write.run(key, JSON.stringify(state)),
    delete: (key: string) => void remove.run(key),
  };

  const title = t(instrument.title, "en");
  const items = instrument.items;
  async function questionnaire(conversation: Conversation<Ctx, Context>, ctx: Context) {
    const chatId = ctx.chat!.id;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const html = `<b>${escapeHtml(title)}</b> · ${i + 1}/${items.length}\n\n${escapeHtml(t(item.text, "en"))}`;
      const options = item.options.map((o, j) => ({
        text: t(o.label, "en"),
        callback_data: `a:${i}:${j}`,
      }));
      const keyboard = [
        options.slice(0, 2),
        options.slice(2, 4),
        options.slice(4),
        [{ text: "⏸ Pause", callback_data: `p:${i}` }],
      ];
      await ctx.reply(html, { parse_mode: "HTML", reply_markup: { inline_keyboard: keyboard } });
      const press = await conversation.waitForCallbackQuery(new RegExp(`^a:${i}:\\d$`), {
        otherwise: async (c) => {
          if (c.callbackQuery)
            await c.answerCallbackQuery({ text: "This button is no longer active." });
        },
      });
      const option = item.options[Number(press.callbackQuery.data.split(":")[2])]!;
      await conversation.external(
        () => void saveAnswer.run(chatId, item.id, option.value, new Date().toISOString()),
      );
      await press.answerCallbackQuery();
      await press.editMessageText(`${html}\n\n<b>✓ ${escapeHtml(t(option.label, "en"))}</b>`, {
        parse_mode: "HTML",
        reply_markup: { inline_keyboard: [] },
      });
    }
    await ctx.reply("Thank you, that was the last question.");
  }

  // The plugin builds its own Api objects from the bot's client options, so the fake goes in as fetch.
  const bot = new Bot<Ctx>("1:bench", { botInfo: BENCH_BOT, client: { fetch: tg.fetch() } });
  bot.use(conversations<Ctx, Context>({ storage: { type: "key", adapter } }));
  bot.use(createConversation<Ctx, Context>(questionnaire, "questionnaire"));
  bot.command("start", (ctx) => ctx.conversation.enter("questionnaire"));

  const users = new Map<number, BenchUser>();
  const user = (id: number) => {
    let u = users.get(id);
    if (!u) users.set(id, (u = new BenchUser(id)));
    return u;
  };
  const deliver = (u: Update) => bot.handleUpdate(u);
  return {
    tg,
    deliver,
    start: async (id) => {
      await deliver(user(id).text("/start"));
      if (!tg.buttons(id)) throw new Error("the conversation did not ask item 1");
    },
    answerUpdate: (id, k) => {
      const cur = tg.buttons(id);
      if (!cur) throw new Error(`conversation ${id}: nothing asked`);
      return user(id).press(cur, buttonData(cur, /^a:\d+:\d$/, k));
    },
    rows: async () => (sql.prepare(`SELECT COUNT(*) AS n FROM answer`).get() as { n: number }).n,
    close: async () => void sql.close(),
  };
}

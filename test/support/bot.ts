// Builds the real bot over a real SQLite file with the in-process fake Bot API.
import type { Bot, Context } from "grammy";
import { loadConfig } from "../../src/config/env.js";
import type { Db } from "../../src/db/client.js";
import { openDatabase } from "../../src/db/client.js";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { createBot, type CreateBotOptions } from "../../src/telegram/create-bot.js";
import type { Services } from "../../src/telegram/services.js";
import { silentLogger } from "../../src/log.js";
import { BOT_INFO, FakeTelegram, FakeUser } from "./fake-telegram.js";

let cachedFlows: LoadedFlows | undefined;
export function shippedFlows(): LoadedFlows {
  if (!cachedFlows) {
    const r = loadFlows({ flowsDir: "flows" });
    if (!r.ok) throw new Error(r.errors.join("\n"));
    cachedFlows = r.flows;
  }
  return cachedFlows;
}

export interface TestBot {
  bot: Bot<Context>;
  tg: FakeTelegram;
  services: Services;
  db: Db;
  user(id: number, languageCode?: string): FakeUser;
}

export function testConfig(url: string) {
  return loadConfig({
    DATABASE_URL: url,
    BOT_TOKEN: "1:test",
    LOG_LEVEL: "silent",
  } as NodeJS.ProcessEnv);
}

export function makeTestBot(
  db: Db,
  url: string,
  opts: {
    tg?: FakeTelegram;
    flows?: LoadedFlows;
    now?: () => Date;
    features?: CreateBotOptions["features"];
  } = {},
): TestBot {
  const tg = opts.tg ?? new FakeTelegram();
  const { bot, services } = createBot(
    {
      db,
      flows: opts.flows ?? shippedFlows(),
      config: testConfig(url),
      logger: silentLogger,
      ...(opts.now ? { now: opts.now } : {}),
    },
    { token: "1:test", botInfo: BOT_INFO, ...(opts.features ? { features: opts.features } : {}) },
  );
  tg.install(bot);
  const users = new Map<number, FakeUser>();
  return {
    bot: bot as unknown as Bot<Context>,
    tg,
    services,
    db,
    user(id, languageCode = "en") {
      let u = users.get(id);
      if (!u) {
        u = new FakeUser(id, tg, bot as unknown as Bot<Context>, languageCode);
        users.set(id, u);
      }
      return u;
    },
  };
}

/** A "process restart": a brand-new client and bot over the same database file and fake chats. */
export async function restart(old: TestBot, url: string): Promise<TestBot> {
  await old.db.$disconnect();
  const db = await openDatabase(url);
  return makeTestBot(db, url, { tg: old.tg });
}

// `npm start`: the bot process. Long polling through @grammyjs/runner with a durable inbox, or a
// webhook server when WEBHOOK_URL is set. Pending migrations are applied first; SIGINT/SIGTERM stop it gracefully.
import { createServer } from "node:http";
import { autoRetry } from "@grammyjs/auto-retry";
import { ConfigError, loadConfig } from "../config/env.js";
import { openDatabase } from "../db/client.js";
import { loadFlows } from "../study/load.js";
import { createLogger } from "../log.js";
import { createBot } from "./create-bot.js";
import { setSetting } from "../usecases/settings.js";
import { extraFeatures, startBackground } from "./wiring.js";
import { startPolling, type Polling } from "./polling.js";

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const logger = createLogger(config.LOG_LEVEL);
  if (!config.BOT_TOKEN) {
    process.stderr.write(
      "BOT_TOKEN is not set (see .env.example). To try Circle without a token: npm run demo\n",
    );
    return 1;
  }
  const flowsResult = loadFlows({ flowsDir: config.FLOWS_DIR, extraDir: config.EXTRA_FLOWS_DIR });
  if (!flowsResult.ok) {
    process.stderr.write(`flows have errors:\n${flowsResult.errors.join("\n")}\n`);
    return 1;
  }
  const db = await openDatabase(config.DATABASE_URL, {
    synchronous: config.SQLITE_SYNCHRONOUS,
    poolSize: config.PG_POOL_SIZE,
  });
  const { bot, services } = createBot(
    { db, flows: flowsResult.flows, config, logger },
    { token: config.BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT, features: extraFeatures() },
  );
  // 429 (retry_after) and 5xx/network failures are retried with backoff; order within a chat is
  // kept because each chat's updates are handled one at a time (sequentialize in createBot).
  bot.api.config.use(
    autoRetry({ maxRetryAttempts: 6, maxDelaySeconds: 120, rethrowInternalServerErrors: false }),
  );
  await bot.init();
  await setSetting(db, "bot.username", bot.botInfo.username);
  logger.info(
    { bot: bot.botInfo.username, mode: config.WEBHOOK_URL ? "webhook" : "polling" },
    "Circle bot starting",
  );

  const background = startBackground(services);
  let runner: Polling | undefined;
  let server: ReturnType<typeof createServer> | undefined;
  if (config.WEBHOOK_URL) {
    // webhook.ts: /healthz, 403 without the secret, 200 only once an update committed, and a
    // server.close() that drains (so the stop below is graceful).
    const { startWebhook } = await import("./webhook.js");
    server = await startWebhook({ bot, db, config, logger });
  } else {
    await bot.api.deleteWebhook();
    // Each received update is written to the inbox before Telegram is told it arrived (polling.ts).
    runner = startPolling({
      bot,
      db,
      logger,
      fetch: { allowed_updates: ["message", "callback_query", "edited_message", "my_chat_member"] },
    });
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "stopping");
      await background.stop();
      if (runner?.isRunning()) await runner.stop();
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      await db.$disconnect();
      resolve(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
    void runner?.task()?.then(() => stop("runner ended"));
  });
}

process.exitCode = await main();

// createBot(deps): the whole bot as grammY middleware. The same function serves `npm start`
// (long polling through @grammyjs/runner, or a webhook), the demo, and tests (handleUpdate with
// an API transformer).
import { Bot, BotError, type Composer } from "grammy";
import { sequentialize } from "@grammyjs/runner";
import type { UserFromGetMe } from "grammy/types";
import type { CircleContext } from "./context.js";
import { createI18n, translator } from "./i18n.js";
import { exactlyOnce } from "./middleware/exactly-once.js";
import { loadAccount } from "./middleware/account.js";
import { Messenger, errMessage, type BotDeps, type Services } from "./services.js";
import { commonFeature, fallbackFeature } from "./features/common.js";
import { parentFeature } from "./features/parent.js";

export interface CreateBotOptions {
  token: string;
  /** Bot API root, e.g. the local sandbox. Default: Telegram's. */
  apiRoot?: string;
  /** Known bot identity (tests, demo) so no getMe call is needed before handling updates. */
  botInfo?: UserFromGetMe;
  /** Role features beyond the parent journey (facilitator, researcher). */
  features?: ((services: Services) => Composer<CircleContext>)[];
}

export interface CircleBot {
  bot: Bot<CircleContext>;
  services: Services;
}

export function createBot(deps: BotDeps, opts: CreateBotOptions): CircleBot {
  const bot = new Bot<CircleContext>(opts.token, {
    ...(opts.botInfo ? { botInfo: opts.botInfo } : {}),
    client: { apiRoot: opts.apiRoot ?? deps.config.TELEGRAM_API_ROOT },
  });
  const i18n = createI18n<CircleContext>(
    deps.flows.study.defaultLocale,
    (ctx) => ctx.circle.locale,
  );
  const services: Services = {
    ...deps,
    api: bot.api,
    tr: translator(i18n as never),
    now: deps.now ?? (() => new Date()),
    messenger: new Messenger(bot.api, deps.logger),
  };

  // One update at a time per chat (and per user for chat-less updates): a parent's answers are
  // applied in the order they were given, whatever the polling or webhook concurrency.
  bot.use(sequentialize((ctx) => ctx.chat?.id.toString() ?? ctx.from?.id.toString()));
  bot.use(async (ctx, next) => {
    ctx.circle = {
      s: services,
      account: null,
      locale: deps.flows.study.defaultLocale,
      processed: false,
      markProcessed: async () => {},
    };
    await next();
  });
  // Error boundary (inside the middleware, so it holds for runner, webhook and handleUpdate
  // alike): log without personal data, tell the user, keep state — a failing transaction was
  // rolled back as a whole, so nothing half-written remains.
  const guarded = bot.errorBoundary(async (err: BotError<CircleContext>) => {
    const ctx = err.ctx;
    deps.logger.error(
      {
        updateId: ctx.update.update_id,
        err: errMessage(err.error),
        stack: err.error instanceof Error ? err.error.stack : undefined,
      },
      "update failed",
    );
    try {
      if (ctx.callbackQuery) await services.messenger.toast(ctx.callbackQuery.id);
      if (ctx.chat?.type === "private")
        await services.messenger.send(
          ctx.chat.id,
          services.tr(ctx.circle?.locale ?? "en", "error-generic"),
        );
    } catch (e) {
      deps.logger.warn({ err: errMessage(e) }, "could not report the error to the user");
    }
  });
  guarded.use(exactlyOnce());
  guarded.use(loadAccount());
  guarded.use(i18n);
  guarded.use(commonFeature());
  guarded.use(parentFeature());
  for (const f of opts.features ?? []) guarded.use(f(services));
  guarded.use(fallbackFeature());
  bot.catch((err) =>
    deps.logger.error(
      { updateId: err.ctx.update.update_id, err: errMessage(err.error) },
      "unhandled bot error",
    ),
  );
  return { bot, services };
}

import type { MiddlewareFn } from "grammy";
import { accountByTelegramId } from "../../store/accounts.js";
import type { CircleContext } from "../context.js";
import { negotiateLocale } from "../i18n.js";

/** Loads the sender's account and settles the locale: the account's choice, else Telegram's language. */
export function loadAccount(): MiddlewareFn<CircleContext> {
  return async (ctx, next) => {
    const { s } = ctx.circle;
    const from = ctx.from;
    const account = from ? await accountByTelegramId(s.db, String(from.id)) : null;
    ctx.circle.account = account?.active ? account : null;
    const study = s.flows.study;
    ctx.circle.locale =
      account?.locale ?? negotiateLocale(from?.language_code, study.locales, study.defaultLocale);
    // Keep the private chat we reach them in current. Only the sender's own private chat counts
    // (its id is the user's id): a press reported on a message in someone else's chat must not
    // redirect this account's messages there.
    if (
      account &&
      ctx.chat?.type === "private" &&
      ctx.chat.id === from?.id &&
      account.chatId !== String(ctx.chat.id)
    ) {
      ctx.circle.account = await s.db.account.update({
        where: { id: account.id },
        data: { chatId: String(ctx.chat.id) },
      });
    }
    await next();
  };
}

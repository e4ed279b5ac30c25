// Commands everyone has (/help, /language), and the catch-alls that keep every update answered:
// unknown commands, unsupported messages, stale callback queries, group and channel chats.
import { Composer } from "grammy";
import type { CircleContext } from "../context.js";
import { decodeCallback, encodeCallback } from "../callback-data.js";
import { setCommandsFor } from "../commands-menu.js";
import { pressedOn } from "../pressed-button.js";
import { setAccountLocale } from "../../usecases/account.js";

const LANGUAGE_NAMES: Record<string, string> = { en: "English", zh: "简体中文" };

export function commonFeature(): Composer<CircleContext> {
  const c = new Composer<CircleContext>();
  // In a private chat only its owner can press a button (the chat id is the user's id). A press
  // reported on a message in someone else's private chat is forged: refuse it before any feature
  // acts on it (or edits that other chat).
  c.on("callback_query", async (ctx, next) => {
    if (ctx.chat?.type === "private" && ctx.chat.id !== ctx.from.id) {
      await ctx.circle.s.messenger.toast(
        ctx.callbackQuery.id,
        ctx.circle.s.tr(ctx.circle.locale, "toast-stale"),
      );
      return;
    }
    await next();
  });
  const priv = c.chatType("private");

  priv.command("help", async (ctx) => {
    const { s, locale, account } = ctx.circle;
    await s.messenger.send(ctx.chat.id, s.tr(locale, `help-${account?.role ?? "none"}`));
  });

  priv.command("language", async (ctx) => {
    const { s, locale } = ctx.circle;
    const locales = s.flows.study.locales;
    await s.messenger.send(ctx.chat.id, s.tr(locale, "language-choose"), [
      locales.map((l) => ({
        text: LANGUAGE_NAMES[l] ?? l,
        callback_data: encodeCallback({ kind: "lang", locale: l }),
      })),
    ]);
  });

  priv.on("callback_query:data", async (ctx, next) => {
    const d = decodeCallback(ctx.callbackQuery.data);
    if (d?.kind !== "lang") return next();
    const { s } = ctx.circle;
    const on = pressedOn(ctx.callbackQuery);
    if (!s.flows.study.locales.includes(d.locale) || on === "not-shown") {
      await s.messenger.toast(ctx.callbackQuery.id, s.tr(ctx.circle.locale, "toast-stale"));
      return;
    }
    const account = ctx.circle.account;
    if (account) {
      await setAccountLocale(s.db, account.id, d.locale, ctx.circle.markProcessed);
      ctx.circle.account = { ...account, locale: d.locale };
      await setCommandsFor(s.api, s.tr, ctx.chat.id, account.role, d.locale);
    }
    ctx.circle.locale = d.locale;
    const msg = ctx.callbackQuery.message;
    if (msg) await s.messenger.stripButtons(ctx.chat.id, msg.message_id);
    await s.messenger.toast(ctx.callbackQuery.id);
    await s.messenger.send(ctx.chat.id, s.tr(d.locale, "language-set"));
  });
  return c;
}

/** Installed last: whatever nobody handled still gets a polite, accurate answer. */
export function fallbackFeature(): Composer<CircleContext> {
  const c = new Composer<CircleContext>();
  c.on("callback_query", async (ctx) => {
    const { s, locale } = ctx.circle;
    await s.messenger.toast(ctx.callbackQuery.id, s.tr(locale, "toast-stale"));
  });
  const priv = c.chatType("private");
  priv.on("message", async (ctx) => {
    const { s, locale, account } = ctx.circle;
    const text = ctx.message.text;
    if (text?.startsWith("/")) {
      const known =
        /^\/(start|help|language|resume|status|withdraw|session|note|interview|nickname|progress|report|export)(@\w+)?(\s|$)/.test(
          text,
        );
      await s.messenger.send(ctx.chat.id, s.tr(locale, known ? "not-allowed" : "unknown-command"));
      return;
    }
    await s.messenger.send(
      ctx.chat.id,
      s.tr(locale, account ? "unsupported-message" : "help-none"),
    );
  });
  // Groups: answer commands addressed to us once, ignore chatter. Channels: ignore.
  c.chatType(["group", "supergroup"]).on("message:text", async (ctx) => {
    if (!ctx.message.text.startsWith("/")) return;
    await ctx.circle.s.messenger.send(
      ctx.chat.id,
      ctx.circle.s.tr(ctx.circle.locale, "private-only"),
    );
  });
  return c;
}

export { decodeCallback };

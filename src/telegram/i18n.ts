// Fluent texts for the bot (src/telegram/locales/*.ftl). `tr` escapes every string variable, because
// variables carry flow or user text and all messages are sent with parse_mode HTML.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { I18n } from "@grammyjs/i18n";
import type { Context } from "grammy";
import type { Translate } from "../notify/ports.js";
import { escapeHtml } from "./html.js";

export const BOT_LOCALES = ["en", "zh"] as const;
export type BotLocale = (typeof BOT_LOCALES)[number];

const LOCALES_DIR = join(dirname(fileURLToPath(import.meta.url)), "locales");

// The outbox words its messages through the same function (its port, src/notify/ports.ts).
export type { Translate };

export function createI18n<C extends Context>(
  defaultLocale: string,
  negotiate: (ctx: C) => string | undefined,
) {
  return new I18n<C>({
    defaultLocale,
    directory: LOCALES_DIR,
    // Isolation marks (U+2068/U+2069) around placeables would end up inside HTML entities and links.
    fluentBundleOptions: { useIsolating: false },
    localeNegotiator: negotiate,
  });
}

export function translator(i18n: I18n<never> | I18n<Context>): Translate {
  return (locale, key, vars = {}) => {
    const safe: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(vars)) safe[k] = typeof v === "string" ? escapeHtml(v) : v;
    return (i18n as I18n<Context>).t(locale, key, safe);
  };
}

/** Maps a Telegram language_code (e.g. "zh-hans", "en-GB") to a locale the study offers. */
export function negotiateLocale(
  languageCode: string | undefined,
  offered: readonly string[],
  fallback: string,
): string {
  if (!languageCode) return fallback;
  const base = languageCode.toLowerCase().split(/[-_]/)[0] ?? "";
  return offered.includes(base) ? base : fallback;
}

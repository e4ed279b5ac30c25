// What the bot's features share: database, flows, configuration, the Bot API and translations.
// Features take this object instead of a grammY context, so the scheduler (no incoming update)
// can send the same questions and prompts as a handler can.
import type { Api } from "grammy";
import type { Config } from "../config/env.js";
import type { Db } from "../db/client.js";
import type { LoadedFlows } from "../study/model.js";
import type { Logger } from "../log.js";
import type { Translate } from "./i18n.js";
import { escapeHtml, splitHtml } from "./html.js";
import { errMessage } from "../errors.js";
import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";

export interface BotDeps {
  db: Db;
  flows: LoadedFlows;
  config: Config;
  logger: Logger;
  now?: () => Date;
}

export interface Services extends BotDeps {
  api: Api;
  tr: Translate;
  now(): Date;
  messenger: Messenger;
}

export type Keyboard = InlineKeyboardButton[][];

/** The language an account reads: its own choice, else the study's default. */
export function localeOf(s: { flows: LoadedFlows }, account: { locale: string | null }): string {
  return account.locale ?? s.flows.study.defaultLocale;
}

/** HTML messages with Telegram's limits respected; edits that change nothing are not errors. */
export class Messenger {
  constructor(
    private readonly api: Api,
    private readonly logger: Logger,
  ) {}

  /** Sends (splitting over 4096 characters; the keyboard goes on the last part); returns the last message id. */
  async send(chatId: number | string, html: string, keyboard?: Keyboard): Promise<number> {
    const parts = splitHtml(html);
    let id = 0;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const markup: InlineKeyboardMarkup | undefined =
        last && keyboard && keyboard.length ? { inline_keyboard: keyboard } : undefined;
      const m = await this.api.sendMessage(Number(chatId), parts[i]!, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        ...(markup ? { reply_markup: markup } : {}),
      });
      id = m.message_id;
    }
    return id;
  }

  /** Sends preformatted plain text (tables): split at line breaks, each part in its own <pre>. */
  async sendPre(chatId: number | string, text: string): Promise<number> {
    const parts: string[] = [];
    let current = "";
    for (const line of text.split("\n")) {
      const candidate = current === "" ? line : `${current}\n${line}`;
      if (candidate.length > 3800 && current !== "") {
        parts.push(current);
        current = line.slice(0, 3800);
      } else current = candidate.slice(0, 3800);
    }
    if (current !== "" || parts.length === 0) parts.push(current || " ");
    let id = 0;
    for (const part of parts) id = await this.send(chatId, `<pre>${escapeHtml(part)}</pre>`);
    return id;
  }

  async edit(
    chatId: number | string,
    messageId: number,
    html: string,
    keyboard?: Keyboard,
  ): Promise<void> {
    try {
      await this.api.editMessageText(Number(chatId), messageId, splitHtml(html)[0]!, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        reply_markup: { inline_keyboard: keyboard ?? [] },
      });
    } catch (e) {
      if (isHarmlessEditError(e)) return;
      throw e;
    }
  }

  /** Removes the buttons of an older message (best effort: it may be gone or already plain). */
  async stripButtons(chatId: number | string, messageId: number): Promise<void> {
    try {
      await this.api.editMessageReplyMarkup(Number(chatId), messageId, {
        reply_markup: { inline_keyboard: [] },
      });
    } catch (e) {
      if (!isHarmlessEditError(e))
        this.logger.warn({ err: errMessage(e) }, "could not remove buttons");
    }
  }

  async toast(callbackQueryId: string, text?: string): Promise<void> {
    try {
      await this.api.answerCallbackQuery(callbackQueryId, text ? { text } : {});
    } catch (e) {
      // A redelivered query was already answered (or is too old): nothing to do.
      this.logger.debug({ err: errMessage(e) }, "callback query not answered");
    }
  }
}

export function isHarmlessEditError(e: unknown): boolean {
  const d = errMessage(e);
  return /message is not modified|message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i.test(
    d,
  );
}

export { errMessage, escapeHtml };

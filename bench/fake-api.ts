// A light in-process Bot API for the bench: canned results, no validation, and per chat the
// message currently carrying buttons (so a scripted parent knows what to press). The same
// handler serves as a grammY API transformer (the Circle bot and the bare handler) and as a
// `fetch` replacement (the conversations plugin builds its own Api objects from the bot's client
// options, so a transformer on bot.api would not reach them).
import type { RawApi, Transformer } from "grammy";
import type { InlineKeyboardButton, Update, UserFromGetMe } from "grammy/types";

export const BENCH_BOT: UserFromGetMe = {
  id: 4242,
  is_bot: true,
  first_name: "Circle",
  username: "circle_bench_bot",
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
} as UserFromGetMe;

export interface Current {
  messageId: number;
  keyboard: InlineKeyboardButton[][];
}

type Payload = Record<string, unknown>;

function inlineKeyboard(p: Payload): InlineKeyboardButton[][] {
  return (
    (p.reply_markup as { inline_keyboard?: InlineKeyboardButton[][] } | undefined)
      ?.inline_keyboard ?? []
  );
}

export class LightTelegram {
  calls = 0;
  private nextMessageId = 1;
  private readonly current = new Map<number, Current>();

  /** The message with buttons in this chat (the question being asked), if any. */
  buttons(chatId: number): Current | undefined {
    return this.current.get(chatId);
  }

  handle(method: string, p: Payload): unknown {
    this.calls++;
    switch (method) {
      case "sendMessage": {
        const chatId = Number(p.chat_id);
        const messageId = this.nextMessageId++;
        const keyboard = inlineKeyboard(p);
        if (keyboard.some((row) => row.length > 0))
          this.current.set(chatId, { messageId, keyboard });
        return {
          message_id: messageId,
          date: 1_700_000_000,
          chat: { id: chatId, type: "private", first_name: "P" },
          text: String(p.text ?? ""),
        };
      }
      case "editMessageText":
      case "editMessageReplyMarkup": {
        const chatId = Number(p.chat_id);
        const cur = this.current.get(chatId);
        if (cur && cur.messageId === Number(p.message_id)) {
          const keyboard = inlineKeyboard(p);
          if (keyboard.some((row) => row.length > 0)) cur.keyboard = keyboard;
          else this.current.delete(chatId);
        }
        return true;
      }
      case "getMe":
        return BENCH_BOT;
      default:
        // answerCallbackQuery, setMyCommands, sendChatAction, …
        return true;
    }
  }

  transformer(): Transformer<RawApi> {
    return async (_prev, method, payload) =>
      ({ ok: true, result: this.handle(method, (payload ?? {}) as Payload) }) as never;
  }

  /** A `fetch` for grammY's client option: parses the JSON body grammY built, answers in-process. */
  fetch(): typeof fetch {
    return (async (url: string | URL, init?: { body?: unknown }) => {
      const u = String(url);
      const method = u.slice(u.lastIndexOf("/") + 1);
      const payload = typeof init?.body === "string" ? (JSON.parse(init.body) as Payload) : {};
      const body = { ok: true, result: this.handle(method, payload) };
      return { ok: true, status: 200, json: async () => body } as unknown as Response;
    }) as unknown as typeof fetch;
  }
}

/** Builds updates from one private-chat user, as Telegram would send them. */
export class BenchUser {
  private inbound = 1;
  private static updateId = 1;
  private static queryId = 1;
  constructor(readonly id: number) {}

  private from() {
    return { id: this.id, is_bot: false, first_name: "Parent", language_code: "en" };
  }

  private chat() {
    return { id: this.id, type: "private" as const, first_name: "Parent" };
  }

  text(text: string): Update {
    const m = /^\/\w+/.exec(text);
    return {
      update_id: BenchUser.updateId++,
      message: {
        message_id: this.inbound++,
        date: 1_700_000_000,
        chat: this.chat(),
        from: this.from(),
        text,
        ...(m ? { entities: [{ type: "bot_command", offset: 0, length: m[0].length }] } : {}),
      },
    } as Update;
  }

  /** A press on a bot message; like Telegram, the update carries the message with its current keyboard. */
  press(on: Current, data: string): Update {
    return {
      update_id: BenchUser.updateId++,
      callback_query: {
        id: `q${BenchUser.queryId++}`,
        from: this.from(),
        chat_instance: `ci${this.id}`,
        data,
        message: {
          message_id: on.messageId,
          date: 1_700_000_000,
          chat: this.chat(),
          text: "…",
          from: BENCH_BOT,
          reply_markup: { inline_keyboard: on.keyboard },
        },
      },
    } as Update;
  }
}

/** The callback data of the first button whose data matches. */
export function buttonData(cur: Current, match: RegExp, nth = 0): string {
  const all = cur.keyboard
    .flat()
    .map((b) => (b as { callback_data?: string }).callback_data)
    .filter((d): d is string => d !== undefined && match.test(d));
  const d = all[nth % Math.max(1, all.length)];
  if (d === undefined) throw new Error(`no button matching ${String(match)}`);
  return d;
}

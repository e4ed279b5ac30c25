// In-process fake of the Bot API for fast tests: a grammY API transformer records every call,
// validates it like Telegram would (HTML, 4096 characters, 64-byte callback data, "message is
// not modified", double callback answers), keeps each chat's messages, and can fail on demand.
// Tests drive the real bot through bot.handleUpdate with updates built by FakeUser.
import type { Bot, Context, RawApi, Transformer } from "grammy";
import type { InlineKeyboardButton, Message, Update, UserFromGetMe } from "grammy/types";
import { parseHtml, HtmlParseError } from "../../src/sandbox/html.js";

export const BOT_INFO: UserFromGetMe = {
  id: 4242,
  is_bot: true,
  first_name: "Circle",
  username: "circle_test_bot",
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
} as UserFromGetMe;

export interface Call {
  method: string;
  payload: Record<string, unknown>;
}

export interface FakeMessage {
  chatId: number;
  messageId: number;
  text: string;
  html: string;
  keyboard: InlineKeyboardButton[][];
  edits: number;
  kind: "text" | "document" | "photo";
  caption?: string;
}

type Failure = { code: number; description: string; retryAfter?: number };

class ApiFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.description);
  }
}

export class FakeTelegram {
  readonly calls: Call[] = [];
  readonly rejections: (Call & { description: string })[] = [];
  readonly chats = new Map<number, FakeMessage[]>();
  private nextMessageId = 1000;
  private answered = new Set<string>();
  private failures: { method: string; failure: Failure; count: number }[] = [];
  blocked = new Set<number>();

  failNext(method: string, failure: Failure, count = 1) {
    this.failures.push({ method, failure, count });
  }

  install<C extends Context>(bot: Bot<C>) {
    bot.api.config.use(this.transformer());
  }

  messages(chatId: number): FakeMessage[] {
    return this.chats.get(chatId) ?? [];
  }

  lastMessage(chatId: number): FakeMessage | undefined {
    const m = this.messages(chatId);
    return m[m.length - 1];
  }

  /** Messages still carrying buttons (normally at most one: the current question). */
  withButtons(chatId: number): FakeMessage[] {
    return this.messages(chatId).filter((m) => m.keyboard.some((row) => row.length > 0));
  }

  callsOf(method: string): Call[] {
    return this.calls.filter((c) => c.method === method);
  }

  private transformer(): Transformer<RawApi> {
    return async (_prev, method, payload) => {
      const p = (payload ?? {}) as Record<string, unknown>;
      const call = { method, payload: p };
      this.calls.push(call);
      try {
        const injected = this.failures.find((f) => f.method === method && f.count > 0);
        if (injected) {
          injected.count--;
          throw new ApiFailure(injected.failure);
        }
        return { ok: true, result: this.handle(method, p) } as never;
      } catch (e) {
        if (!(e instanceof ApiFailure)) throw e;
        this.rejections.push({ ...call, description: e.failure.description });
        return {
          ok: false,
          error_code: e.failure.code,
          description: e.failure.description,
          ...(e.failure.retryAfter ? { parameters: { retry_after: e.failure.retryAfter } } : {}),
        } as never;
      }
    };
  }

  private checkText(html: string, parseMode: unknown, limit = 4096): string {
    let text = html;
    if (parseMode === "HTML") {
      try {
        text = parseHtml(html).text;
      } catch (e) {
        if (e instanceof HtmlParseError)
          throw new ApiFailure({
            code: 400,
            description: `Bad Request: can't parse entities: ${e.message}`,
          });
        throw e;
      }
    }
    if (text.trim().length === 0)
      throw new ApiFailure({ code: 400, description: "Bad Request: message text is empty" });
    if (text.length > limit)
      throw new ApiFailure({
        code: 400,
        description:
          limit === 4096
            ? "Bad Request: message is too long"
            : "Bad Request: message caption is too long",
      });
    return text;
  }

  private checkKeyboard(markup: unknown): InlineKeyboardButton[][] {
    const kb =
      (markup as { inline_keyboard?: InlineKeyboardButton[][] } | undefined)?.inline_keyboard ?? [];
    for (const row of kb)
      for (const b of row) {
        const data = (b as { callback_data?: string }).callback_data;
        if (data !== undefined && (Buffer.byteLength(data, "utf8") > 64 || data.length === 0))
          throw new ApiFailure({ code: 400, description: "Bad Request: BUTTON_DATA_INVALID" });
        if (!b.text)
          throw new ApiFailure({
            code: 400,
            description: "Bad Request: text buttons are unallowed in the inline keyboard",
          });
      }
    return kb;
  }

  private chatOf(p: Record<string, unknown>): number {
    const chatId = Number(p.chat_id);
    if (this.blocked.has(chatId))
      throw new ApiFailure({ code: 403, description: "Forbidden: bot was blocked by the user" });
    return chatId;
  }

  private store(m: FakeMessage): Message {
    const list = this.chats.get(m.chatId) ?? [];
    list.push(m);
    this.chats.set(m.chatId, list);
    return {
      message_id: m.messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: m.chatId, type: "private", first_name: "X" },
      text: m.text,
    } as Message;
  }

  private find(p: Record<string, unknown>): FakeMessage {
    const m = this.messages(Number(p.chat_id)).find((x) => x.messageId === Number(p.message_id));
    if (!m)
      throw new ApiFailure({ code: 400, description: "Bad Request: message to edit not found" });
    return m;
  }

  private handle(method: string, p: Record<string, unknown>): unknown {
    switch (method) {
      case "getMe":
        return BOT_INFO;
      case "sendMessage": {
        const chatId = this.chatOf(p);
        const html = String(p.text ?? "");
        const text = this.checkText(html, p.parse_mode);
        const keyboard = this.checkKeyboard(p.reply_markup);
        return this.store({
          chatId,
          messageId: this.nextMessageId++,
          text,
          html,
          keyboard,
          edits: 0,
          kind: "text",
        });
      }
      case "editMessageText": {
        const m = this.find(p);
        const html = String(p.text ?? "");
        const text = this.checkText(html, p.parse_mode);
        const keyboard = this.checkKeyboard(p.reply_markup);
        if (text === m.text && JSON.stringify(keyboard) === JSON.stringify(m.keyboard))
          throw new ApiFailure({
            code: 400,
            description:
              "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
          });
        Object.assign(m, { text, html, keyboard, edits: m.edits + 1 });
        return true;
      }
      case "editMessageReplyMarkup": {
        const m = this.find(p);
        const keyboard = this.checkKeyboard(p.reply_markup);
        if (JSON.stringify(keyboard) === JSON.stringify(m.keyboard))
          throw new ApiFailure({
            code: 400,
            description:
              "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
          });
        Object.assign(m, { keyboard, edits: m.edits + 1 });
        return true;
      }
      case "answerCallbackQuery": {
        const id = String(p.callback_query_id);
        if (this.answered.has(id))
          throw new ApiFailure({
            code: 400,
            description:
              "Bad Request: query is too old and response timeout expired or query ID is invalid",
          });
        this.answered.add(id);
        if (p.text !== undefined && String(p.text).length > 200)
          throw new ApiFailure({ code: 400, description: "Bad Request: MESSAGE_TOO_LONG" });
        return true;
      }
      case "sendDocument":
      case "sendPhoto": {
        const chatId = this.chatOf(p);
        const caption =
          p.caption === undefined
            ? undefined
            : this.checkText(String(p.caption), p.parse_mode, 1024);
        return {
          ...this.store({
            chatId,
            messageId: this.nextMessageId++,
            text: caption ?? "",
            html: String(p.caption ?? ""),
            keyboard: [],
            edits: 0,
            kind: method === "sendPhoto" ? "photo" : "document",
            caption,
          }),
          ...(method === "sendPhoto"
            ? { photo: [{ file_id: "p", file_unique_id: "p", width: 1, height: 1 }] }
            : { document: { file_id: "d", file_unique_id: "d" } }),
        };
      }
      case "setMyCommands":
      case "deleteMyCommands":
      case "sendChatAction":
      case "deleteWebhook":
      case "setWebhook":
        return true;
      case "deleteMessage": {
        const list = this.messages(Number(p.chat_id));
        const i = list.findIndex((x) => x.messageId === Number(p.message_id));
        if (i < 0)
          throw new ApiFailure({
            code: 400,
            description: "Bad Request: message to delete not found",
          });
        list.splice(i, 1);
        return true;
      }
      default:
        throw new ApiFailure({
          code: 404,
          description: `Not Found: method ${method} is not faked`,
        });
    }
  }
}

let nextUpdateId = 1;
let nextQueryId = 1;

/** A Telegram user in a private chat with the bot, producing updates for handleUpdate. */
export class FakeUser {
  private nextInbound = 1;
  constructor(
    readonly id: number,
    readonly tg: FakeTelegram,
    readonly bot: Bot<never> | Bot<Context>,
    readonly languageCode = "en",
  ) {}

  private from() {
    return {
      id: this.id,
      is_bot: false,
      first_name: `User${this.id}`,
      username: `user${this.id}`,
      language_code: this.languageCode,
    };
  }

  private chat() {
    return { id: this.id, type: "private" as const, first_name: `User${this.id}` };
  }

  message(extra: Record<string, unknown>): Update {
    return {
      update_id: nextUpdateId++,
      message: {
        message_id: this.nextInbound++,
        date: Math.floor(Date.now() / 1000),
        chat: this.chat(),
        from: this.from(),
        ...extra,
      },
    } as Update;
  }

  textUpdate(text: string): Update {
    const m = /^\/\w+/.exec(text);
    return this.message({
      text,
      ...(m ? { entities: [{ type: "bot_command", offset: 0, length: m[0].length }] } : {}),
    });
  }

  pressUpdate(message: FakeMessage, data: string): Update {
    return {
      update_id: nextUpdateId++,
      callback_query: {
        id: `q${nextQueryId++}`,
        from: this.from(),
        chat_instance: `ci${this.id}`,
        data,
        message: {
          message_id: message.messageId,
          date: 0,
          chat: this.chat(),
          text: message.text,
          from: BOT_INFO,
        },
      },
    } as Update;
  }

  async deliver(update: Update): Promise<void> {
    await (this.bot as Bot<Context>).handleUpdate(update);
  }

  async send(text: string): Promise<void> {
    await this.deliver(this.textUpdate(text));
  }

  async sticker(): Promise<void> {
    await this.deliver(
      this.message({
        sticker: {
          file_id: "s1",
          file_unique_id: "s1",
          type: "regular",
          width: 512,
          height: 512,
          is_animated: false,
          is_video: false,
        },
      }),
    );
  }

  messages(): FakeMessage[] {
    return this.tg.messages(this.id);
  }

  last(): FakeMessage {
    const m = this.tg.lastMessage(this.id);
    if (!m) throw new Error("no message from the bot yet");
    return m;
  }

  /** The message currently carrying buttons (the question being asked). */
  current(): FakeMessage {
    const list = this.tg.withButtons(this.id);
    const m = list[list.length - 1];
    if (!m) throw new Error(`no message with buttons; last: ${this.tg.lastMessage(this.id)?.text}`);
    return m;
  }

  button(message: FakeMessage, label: string | RegExp | ((text: string) => boolean)): string {
    const match = (t: string) =>
      typeof label === "string" ? t === label : label instanceof RegExp ? label.test(t) : label(t);
    for (const row of message.keyboard)
      for (const b of row) if (match(b.text)) return (b as { callback_data: string }).callback_data;
    throw new Error(
      `no button ${String(label)} in: ${message.keyboard
        .flat()
        .map((b) => b.text)
        .join(" | ")}`,
    );
  }

  /** Presses a button on a message (default: the current question). Returns the update used. */
  async press(
    label: string | RegExp | ((text: string) => boolean),
    message?: FakeMessage,
  ): Promise<Update> {
    const m = message ?? this.current();
    const u = this.pressUpdate(m, this.button(m, label));
    await this.deliver(u);
    return u;
  }

  /** The toast (answerCallbackQuery text) given to a query. */
  toastFor(update: Update): string | undefined {
    const id = update.callback_query?.id;
    const c = this.tg.calls.find(
      (x) => x.method === "answerCallbackQuery" && x.payload.callback_query_id === id,
    );
    return c ? ((c.payload.text as string | undefined) ?? "") : undefined;
  }
}

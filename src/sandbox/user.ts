// A scripted Telegram user in a private chat with the bot: sends text (commands get bot_command
// entities like Telegram's), stickers, photos and voice notes, edits its last text, presses inline
// buttons, and reads the chat the way it looks on the user's screen now.
import type {
  Chat,
  InlineKeyboardButton,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  ReplyKeyboardMarkup,
  Update,
  User,
} from "grammy/types";
import type {
  CallbackAnswer,
  ChatRecord,
  SandboxEvent,
  SandboxState,
  StoredMessage,
} from "./state.js";

const DEFAULT_TIMEOUT_MS = 5_000;

/** One message as the user sees it now. */
export interface ChatEntry {
  messageId: number;
  from: "bot" | "user";
  date: number;
  kind: "text" | "document" | "photo" | "sticker" | "voice" | "other";
  text?: string;
  caption?: string;
  /** Entities of the text or caption. */
  entities: MessageEntity[];
  replyMarkup?: InlineKeyboardMarkup;
  /** Inline button labels by row ([] without a keyboard). */
  buttons: string[][];
  document?: { fileId: string; fileName?: string; mimeType?: string; size: number; data?: Buffer };
  photo?: { fileId: string; width: number; height: number; size: number; data?: Buffer };
  /** How many times the message was re-rendered (text, caption or keyboard edits). */
  editCount: number;
  /** The raw Bot API message. */
  message: Message;
}

export interface PressedButton {
  queryId: string;
  data: string;
  buttonText: string;
  messageId: number;
  /** The bot's answerCallbackQuery, once it came. */
  answer(): CallbackAnswer | undefined;
  waitForAnswer(timeoutMs?: number): Promise<CallbackAnswer>;
}

export type ButtonMatcher = string | RegExp | ((button: InlineKeyboardButton) => boolean);

export class ScriptedUser {
  /** Bot messages up to this sequence number have been "seen" by waitForBotMessage. */
  private cursor: number;
  private readonly record: ChatRecord;

  constructor(
    private readonly state: SandboxState,
    readonly user: User,
  ) {
    const record = state.chats.get(user.id);
    if (!record) throw new Error(`no private chat for user ${user.id}`);
    this.record = record;
    this.cursor = state.nextSeq();
  }

  get id(): number {
    return this.user.id;
  }

  get chatId(): number {
    return this.record.chat.id;
  }

  get chat(): Chat {
    return this.record.chat;
  }

  // --- acting ---------------------------------------------------------------------------------

  sendText(text: string, options: { replyTo?: number } = {}): Message {
    const entities = commandEntities(text);
    return this.sendMessage(
      { text, ...(entities.length > 0 ? { entities } : {}) },
      options.replyTo,
    );
  }

  sendSticker(options: { emoji?: string } = {}): Message {
    const file = this.state.addFile({ kind: "sticker", size: 4096, width: 512, height: 512 });
    return this.sendMessage({
      sticker: {
        file_id: file.fileId,
        file_unique_id: file.fileUniqueId,
        type: "regular",
        width: 512,
        height: 512,
        is_animated: false,
        is_video: false,
        emoji: options.emoji ?? "👍",
        file_size: file.size,
      },
    });
  }

  sendPhoto(options: { caption?: string; width?: number; height?: number } = {}): Message {
    const width = options.width ?? 1280;
    const height = options.height ?? 960;
    const file = this.state.addFile({ kind: "photo", size: 120_000, width, height });
    return this.sendMessage({
      photo: [
        {
          file_id: file.fileId,
          file_unique_id: file.fileUniqueId,
          width,
          height,
          file_size: file.size,
        },
      ],
      ...(options.caption ? { caption: options.caption } : {}),
    });
  }

  sendVoice(options: { duration?: number } = {}): Message {
    const duration = options.duration ?? 3;
    const file = this.state.addFile({
      kind: "voice",
      size: duration * 4000,
      mimeType: "audio/ogg",
    });
    return this.sendMessage({
      voice: {
        file_id: file.fileId,
        file_unique_id: file.fileUniqueId,
        duration,
        mime_type: "audio/ogg",
        file_size: file.size,
      },
    });
  }

  /** Edits the user's last text message; the bot gets an edited_message update. */
  editLastText(text: string): Message {
    const last = [...this.record.messages.values()]
      .filter((m) => !m.fromBot && !m.deleted && m.message.text !== undefined)
      .at(-1);
    if (!last) throw new Error("the user has sent no text message to edit");
    const entities = commandEntities(text);
    const next: Message = { ...last.message, text, edit_date: this.state.now() };
    delete next.entities;
    if (entities.length > 0) next.entities = entities;
    this.state.editMessage(last, next);
    this.touch();
    this.state.updates.push({ edited_message: next as Update["edited_message"] });
    this.state.emit({ kind: "userMessage", chatId: this.chatId, messageId: next.message_id });
    return next;
  }

  /**
   * Presses an inline button of a bot message (by message, entry or id; the button by label,
   * pattern or predicate). The bot gets a callback_query carrying the message as it currently is.
   */
  press(target: Message | ChatEntry | number, button: ButtonMatcher): PressedButton {
    this.assertNotBlocked();
    const messageId =
      typeof target === "number"
        ? target
        : "messageId" in target
          ? target.messageId
          : target.message_id;
    const stored = this.record.messages.get(messageId);
    if (!stored || stored.deleted) throw new Error(`message ${messageId} is not in the chat`);
    if (!stored.fromBot) throw new Error(`message ${messageId} was not sent by the bot`);
    const buttons = stored.message.reply_markup?.inline_keyboard.flat() ?? [];
    const found = buttons.find((b) => matches(b, button));
    if (!found) {
      const labels = buttons.map((b) => JSON.stringify(b.text)).join(", ") || "none";
      throw new Error(
        `no button ${describeMatcher(button)} on message ${messageId} (buttons: ${labels})`,
      );
    }
    if (!("callback_data" in found) || typeof found.callback_data !== "string") {
      throw new Error(`button ${JSON.stringify(found.text)} does not send a callback query`);
    }
    const data = found.callback_data;
    const id = this.state.newCallbackQueryId(this.id);
    this.state.callbackQueries.set(id, {
      id,
      chatId: this.chatId,
      messageId,
      userId: this.id,
      data,
      buttonText: found.text,
      seq: this.state.nextSeq(),
    });
    this.record.started = true;
    this.touch();
    this.state.updates.push({
      callback_query: {
        id,
        from: this.user,
        message: stored.message,
        chat_instance: this.record.chatInstance,
        data,
      },
    });
    this.state.emit({ kind: "callbackQuery", chatId: this.chatId, queryId: id });
    return {
      queryId: id,
      data,
      buttonText: found.text,
      messageId,
      answer: () => this.state.callbackQueries.get(id)?.answer,
      waitForAnswer: async (timeoutMs = DEFAULT_TIMEOUT_MS) => {
        await this.waitUntil(
          () => this.state.callbackQueries.get(id)?.answer !== undefined,
          timeoutMs,
        );
        return this.state.callbackQueries.get(id)?.answer as CallbackAnswer;
      },
    };
  }

  /** Blocks the bot (sends fail with 403; the bot gets my_chat_member "kicked"). */
  block(): void {
    blockUser(this.state, this.id);
  }

  unblock(): void {
    unblockUser(this.state, this.id);
  }

  // --- reading --------------------------------------------------------------------------------

  /** The chat as the user sees it now: deleted messages gone, edits applied. */
  messages(): ChatEntry[] {
    return [...this.record.messages.values()]
      .filter((m) => !m.deleted)
      .sort((a, b) => a.seq - b.seq)
      .map((m) => this.entry(m));
  }

  botMessages(): ChatEntry[] {
    return this.messages().filter((m) => m.from === "bot");
  }

  lastBotMessage(): ChatEntry | undefined {
    return this.botMessages().at(-1);
  }

  /** The custom reply keyboard under the input field, if the bot set one. */
  replyKeyboard(): ReplyKeyboardMarkup | undefined {
    return this.record.replyKeyboard;
  }

  /**
   * The next bot message sent after the user's last action (or after the message this method
   * returned last time) that matches. Resolves on sandbox events, never by polling.
   */
  async waitForBotMessage(
    predicate: (entry: ChatEntry) => boolean = () => true,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<ChatEntry> {
    let found: StoredMessage | undefined;
    const check = (): boolean => {
      found = [...this.record.messages.values()]
        .filter((m) => m.fromBot && !m.deleted && m.seq > this.cursor)
        .sort((a, b) => a.seq - b.seq)
        .find((m) => predicate(this.entry(m)));
      return found !== undefined;
    };
    await this.waitUntil(check, timeoutMs, "waitForBotMessage");
    const stored = found as StoredMessage;
    this.cursor = stored.seq;
    return this.entry(stored);
  }

  /** Resolves once the predicate holds, re-checking whenever the sandbox changes. */
  waitUntil(
    predicate: (user: ScriptedUser) => boolean,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    what = "waitUntil",
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const events = this.state.events;
      const test = (): boolean | Error => {
        try {
          return predicate(this);
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      };
      const first = test();
      if (first instanceof Error) return reject(first);
      if (first) return resolve();
      const listener = (_event: SandboxEvent): void => {
        const result = test();
        if (result === false) return;
        cleanup();
        if (result instanceof Error) reject(result);
        else resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        const tail = this.transcript().slice(-12).join("\n  ");
        reject(
          new Error(
            `${what} timed out after ${timeoutMs} ms; chat so far:\n  ${tail || "(empty)"}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        events.off("change", listener);
        clearTimeout(timer);
      };
      events.on("change", listener);
    });
  }

  /** The chat in readable lines, in order, including presses, toasts and deleted messages. */
  transcript(): string[] {
    const items: { seq: number; line: string }[] = [];
    for (const stored of this.record.messages.values()) {
      items.push({ seq: stored.seq, line: describeMessage(this.entry(stored), stored.deleted) });
    }
    for (const query of this.state.callbackQueries.values()) {
      if (query.chatId !== this.chatId) continue;
      const answer = query.answer;
      const reply = !answer
        ? " (not answered yet)"
        : answer.text
          ? ` → ${answer.showAlert ? "alert" : "toast"} ${JSON.stringify(answer.text)}`
          : "";
      items.push({
        seq: query.seq,
        line: `user pressed ${JSON.stringify(query.buttonText)}${reply}`,
      });
    }
    return items.sort((a, b) => a.seq - b.seq).map((item) => item.line);
  }

  // --- internals ------------------------------------------------------------------------------

  private sendMessage(content: Partial<Message>, replyTo?: number): Message {
    this.assertNotBlocked();
    const replied = replyTo === undefined ? undefined : this.record.messages.get(replyTo)?.message;
    const stored = this.state.storeMessage(
      this.record,
      {
        from: this.user,
        chat: this.record.chat,
        ...(replied ? { reply_to_message: replied } : {}),
        ...content,
      } as Message,
      false,
    );
    this.record.started = true;
    this.touch();
    this.state.updates.push({ message: stored.message as Update["message"] });
    this.state.emit({
      kind: "userMessage",
      chatId: this.chatId,
      messageId: stored.message.message_id,
    });
    return stored.message;
  }

  /** A user action: later bot messages are the answers to wait for. */
  private touch(): void {
    this.cursor = this.state.nextSeq();
  }

  private assertNotBlocked(): void {
    if (this.state.blocked.has(this.id)) {
      throw new Error(`user ${this.id} has blocked the bot; unblock() first`);
    }
  }

  private entry(stored: StoredMessage): ChatEntry {
    const m = stored.message;
    const file = (id: string) => this.state.files.get(id);
    const keyboard = m.reply_markup?.inline_keyboard ?? [];
    const entry: ChatEntry = {
      messageId: m.message_id,
      from: stored.fromBot ? "bot" : "user",
      date: m.date,
      kind:
        m.text !== undefined
          ? "text"
          : m.document
            ? "document"
            : m.photo
              ? "photo"
              : m.sticker
                ? "sticker"
                : m.voice
                  ? "voice"
                  : "other",
      entities: m.entities ?? m.caption_entities ?? [],
      buttons: keyboard.map((row) => row.map((b) => b.text)),
      editCount: stored.editCount,
      message: m,
    };
    if (m.text !== undefined) entry.text = m.text;
    if (m.caption !== undefined) entry.caption = m.caption;
    if (m.reply_markup) entry.replyMarkup = m.reply_markup;
    if (m.document) {
      const stored = file(m.document.file_id);
      entry.document = {
        fileId: m.document.file_id,
        ...(m.document.file_name ? { fileName: m.document.file_name } : {}),
        ...(m.document.mime_type ? { mimeType: m.document.mime_type } : {}),
        size: m.document.file_size ?? 0,
        ...(stored?.data ? { data: stored.data } : {}),
      };
    }
    const largest = m.photo?.at(-1);
    if (largest) {
      const stored = file(largest.file_id);
      entry.photo = {
        fileId: largest.file_id,
        width: largest.width,
        height: largest.height,
        size: largest.file_size ?? 0,
        ...(stored?.data ? { data: stored.data } : {}),
      };
    }
    return entry;
  }
}

/** bot_command entities as Telegram marks them: "/name" or "/name@bot" starting a word. */
export function commandEntities(text: string): MessageEntity[] {
  const entities: MessageEntity[] = [];
  for (const match of text.matchAll(/\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?/g)) {
    const start = match.index;
    const before = text[start - 1];
    const after = text[start + match[0].length];
    if (before !== undefined && !/\s/.test(before)) continue;
    if (after !== undefined && /[A-Za-z0-9_@/]/.test(after)) continue;
    entities.push({ type: "bot_command", offset: start, length: match[0].length });
  }
  return entities;
}

export function blockUser(state: SandboxState, userId: number, notify = true): void {
  if (state.blocked.has(userId)) return;
  state.blocked.add(userId);
  if (notify) pushMemberStatus(state, userId, "member", "kicked");
}

export function unblockUser(state: SandboxState, userId: number, notify = true): void {
  if (!state.blocked.delete(userId)) return;
  if (notify) pushMemberStatus(state, userId, "kicked", "member");
}

/** Telegram tells the bot about a block or unblock with a my_chat_member update. */
function pushMemberStatus(
  state: SandboxState,
  userId: number,
  from: "member" | "kicked",
  to: "member" | "kicked",
): void {
  const record = state.chats.get(userId);
  const user = state.users.get(userId);
  if (!record || !user || !record.started) return;
  const member = (status: "member" | "kicked") =>
    status === "kicked"
      ? { status, user: state.botUser, until_date: 0 }
      : { status, user: state.botUser };
  state.updates.push({
    my_chat_member: {
      chat: record.chat,
      from: user,
      date: state.now(),
      old_chat_member: member(from),
      new_chat_member: member(to),
    } as Update["my_chat_member"],
  });
}

function matches(button: InlineKeyboardButton, matcher: ButtonMatcher): boolean {
  if (typeof matcher === "string") return button.text === matcher;
  if (matcher instanceof RegExp) return matcher.test(button.text);
  return matcher(button);
}

function describeMatcher(matcher: ButtonMatcher): string {
  if (typeof matcher === "string") return JSON.stringify(matcher);
  if (matcher instanceof RegExp) return String(matcher);
  return "matching the predicate";
}

function describeMessage(entry: ChatEntry, deleted: boolean): string {
  const who = entry.from;
  let body: string;
  switch (entry.kind) {
    case "text":
      body = entry.text ?? "";
      break;
    case "document":
      body = `[document ${entry.document?.fileName ?? "file"}, ${entry.document?.size ?? 0} B]`;
      break;
    case "photo":
      body = `[photo ${entry.photo?.width ?? 0}×${entry.photo?.height ?? 0}]`;
      break;
    case "sticker":
      body = `[sticker ${entry.message.sticker?.emoji ?? ""}]`.replace(" ]", "]");
      break;
    case "voice":
      body = `[voice ${entry.message.voice?.duration ?? 0} s]`;
      break;
    default:
      body = "[message]";
  }
  if (entry.caption) body += ` ${entry.caption}`;
  const buttons = entry.buttons.map((row) => `[${row.join(" | ")}]`).join(" ");
  const flags = [
    deleted ? "deleted" : "",
    entry.editCount > 0 ? `edited ×${entry.editCount}` : "",
  ].filter(Boolean);
  return `${who}: ${body}${buttons ? ` ${buttons}` : ""}${flags.length ? ` (${flags.join(", ")})` : ""}`;
}

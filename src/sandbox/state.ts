// Everything the sandbox remembers: the bot, users and chats, every message as the bot last
// rendered it, uploaded files, callback queries, commands, and the logs the demo asserts on
// (calls, rejections). Changes are announced on `events` so waiting helpers never poll.
import { EventEmitter } from "node:events";
import { createHash } from "node:crypto";
import type {
  BotCommand,
  Chat,
  MenuButton,
  Message,
  ReplyKeyboardMarkup,
  User,
  UserFromGetMe,
} from "grammy/types";
import { errors } from "./errors.js";
import { UpdateQueue, type UpdateQueueOptions } from "./updates.js";

export interface StoredMessage {
  chatId: number;
  /** The message as the bot last rendered it (Bot API shape, edits applied). */
  message: Message;
  fromBot: boolean;
  /** Position in the sandbox's global order of events. */
  seq: number;
  editCount: number;
  /** Earlier renderings, oldest first. */
  versions: Message[];
  deleted: boolean;
}

export interface ChatRecord {
  chat: Chat;
  /** Stable per chat, sent with callback queries like Telegram's chat_instance. */
  chatInstance: string;
  nextMessageId: number;
  messages: Map<number, StoredMessage>;
  /** Private chats: the user has written to the bot, so the bot may write to them. */
  started: boolean;
  /** The custom reply keyboard the user currently sees under the input field. */
  replyKeyboard?: ReplyKeyboardMarkup;
  lastChatAction?: string;
}

export type FileKind = "document" | "photo" | "sticker" | "voice";

export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  kind: FileKind;
  /** Absent for files "sent" by URL (the sandbox never fetches them) or invented for users. */
  data?: Buffer;
  url?: string;
  filename?: string;
  mimeType?: string;
  size: number;
  width?: number;
  height?: number;
  path: string;
}

export interface CallbackAnswer {
  text?: string;
  showAlert: boolean;
  url?: string;
  cacheTime?: number;
  seq: number;
}

export interface CallbackQueryRecord {
  id: string;
  chatId: number;
  messageId: number;
  userId: number;
  data?: string;
  buttonText: string;
  seq: number;
  answer?: CallbackAnswer;
}

export interface CallRecord {
  method: string;
  params: Record<string, unknown>;
  at: Date;
  outcome?: { ok: true } | { ok: false; code: number; description: string };
}

export interface Rejection {
  method: string;
  code: number;
  description: string;
  params: Record<string, unknown>;
  /** True when the failure came from failNext() rather than from the bot's own request. */
  injected: boolean;
  at: Date;
}

/** A failure to inject into the next call(s) of a method. */
export type Fault =
  | { code: 429; retryAfter: number }
  | { code: 500 | 502; description?: string }
  | { code: number; description: string }
  /** Destroy the socket without answering; with `after`, only once the method has run. */
  | { drop: true; after?: boolean };

export type SandboxEvent =
  | {
      kind: "botMessage" | "botEdit" | "botDelete" | "userMessage";
      chatId: number;
      messageId: number;
    }
  | { kind: "callbackQuery" | "callbackAnswer"; chatId: number; queryId: string }
  | { kind: "chatAction"; chatId: number; action: string }
  | { kind: "update"; updateId: number }
  | { kind: "webhookDelivered"; updateId: number }
  | { kind: "webhookError"; message: string }
  | { kind: "call"; method: string }
  | { kind: "rejection"; rejection: Rejection };

export interface StateOptions {
  token: string;
  botUsername: string;
  botName: string;
  strictHtml: boolean;
  queue: Omit<UpdateQueueOptions, "onChange" | "onWebhookReply">;
  onWebhookReply: UpdateQueueOptions["onWebhookReply"];
}

export class SandboxState {
  readonly events = new EventEmitter();
  readonly me: UserFromGetMe;
  /** The bot as it appears in `from` of its messages. */
  readonly botUser: User;
  readonly users = new Map<number, User>();
  readonly chats = new Map<number, ChatRecord>();
  readonly blocked = new Set<number>();
  readonly files = new Map<string, StoredFile>();
  readonly callbackQueries = new Map<string, CallbackQueryRecord>();
  readonly commands = new Map<string, BotCommand[]>();
  readonly menuButtons = new Map<string, MenuButton>();
  readonly calls: CallRecord[] = [];
  readonly rejections: Rejection[] = [];
  readonly updates: UpdateQueue;
  readonly strictHtml: boolean;
  readonly token: string;

  private readonly faults = new Map<string, Fault[]>();
  private seqCounter = 0;
  private nextUserId = 7_100_000_001;
  private nextGroupId = 4_100_000_001;
  private nextSupergroupId = 2_100_000_001;
  private nextQueryNumber = 1;
  private nextFileNumber = 1;

  constructor(options: StateOptions) {
    this.events.setMaxListeners(0);
    this.token = options.token;
    this.strictHtml = options.strictHtml;
    const id = Number(/^(\d+):/.exec(options.token)?.[1] ?? 1);
    this.botUser = { id, is_bot: true, first_name: options.botName, username: options.botUsername };
    this.me = {
      ...this.botUser,
      is_bot: true,
      username: options.botUsername,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false,
    };
    this.updates = new UpdateQueue({
      ...options.queue,
      onChange: (event) => this.emit(event),
      onWebhookReply: options.onWebhookReply,
    });
  }

  nextSeq(): number {
    return ++this.seqCounter;
  }

  emit(event: SandboxEvent): void {
    this.events.emit("change", event);
  }

  /** Unix time in seconds, like every date in the Bot API. */
  now(): number {
    return Math.floor(Date.now() / 1000);
  }

  addUser(fields: Omit<User, "id" | "is_bot"> & { id?: number }): { user: User; chat: ChatRecord } {
    const id = fields.id ?? this.nextUserId++;
    const user: User = { id, is_bot: false, first_name: fields.first_name };
    if (fields.last_name) user.last_name = fields.last_name;
    if (fields.username) user.username = fields.username;
    if (fields.language_code) user.language_code = fields.language_code;
    this.users.set(id, user);
    const chat: Chat.PrivateChat = { id, type: "private", first_name: user.first_name };
    if (user.last_name) chat.last_name = user.last_name;
    if (user.username) chat.username = user.username;
    return { user, chat: this.ensureChat(chat) };
  }

  /** A new group, supergroup or channel the bot is a member of. */
  addChat(kind: "group" | "supergroup" | "channel", title: string, username?: string): ChatRecord {
    const id =
      kind === "group" ? -this.nextGroupId++ : -(1_000_000_000_000 + this.nextSupergroupId++);
    const chat = { id, type: kind, title, ...(username ? { username } : {}) } as Chat;
    return this.ensureChat(chat);
  }

  ensureChat(chat: Chat): ChatRecord {
    const existing = this.chats.get(chat.id);
    if (existing) return existing;
    const record: ChatRecord = {
      chat,
      chatInstance: chatInstanceOf(chat.id),
      nextMessageId: 1,
      messages: new Map(),
      started: false,
    };
    this.chats.set(chat.id, record);
    return record;
  }

  /** Resolves a chat_id parameter (number, numeric string or @username) like the Bot API. */
  resolveChat(value: string | undefined): ChatRecord {
    if (value === undefined || value.trim() === "") throw errors.chatIdEmpty();
    const text = value.trim();
    if (text.startsWith("@")) {
      const name = text.slice(1).toLowerCase();
      for (const record of this.chats.values()) {
        const username = "username" in record.chat ? record.chat.username : undefined;
        if (record.chat.type !== "private" && username?.toLowerCase() === name) return record;
      }
      throw errors.chatNotFound();
    }
    if (!/^-?\d+$/.test(text)) throw errors.chatNotFound();
    const record = this.chats.get(Number(text));
    if (!record) throw errors.chatNotFound();
    return record;
  }

  /** Stores a message in its chat, assigning message_id and date when missing. */
  storeMessage(
    record: ChatRecord,
    message: Omit<Message, "message_id" | "date"> & Partial<Message>,
    fromBot: boolean,
  ): StoredMessage {
    const messageId = message.message_id ?? record.nextMessageId;
    record.nextMessageId = Math.max(record.nextMessageId, messageId + 1);
    const full = { ...message, message_id: messageId, date: message.date ?? this.now() } as Message;
    const stored: StoredMessage = {
      chatId: record.chat.id,
      message: full,
      fromBot,
      seq: this.nextSeq(),
      editCount: 0,
      versions: [],
      deleted: false,
    };
    record.messages.set(messageId, stored);
    return stored;
  }

  /** Replaces a stored message's rendering, keeping the old one in its history. */
  editMessage(stored: StoredMessage, next: Message): void {
    stored.versions.push(stored.message);
    stored.message = next;
    stored.editCount++;
  }

  newCallbackQueryId(userId: number): string {
    // Telegram's ids are large decimal strings; uniqueness is all that matters here.
    return `${BigInt(userId) * 1_000_000n + BigInt(this.nextQueryNumber++)}`;
  }

  addFile(file: Omit<StoredFile, "fileId" | "fileUniqueId" | "path">): StoredFile {
    const n = this.nextFileNumber++;
    const prefix = { document: "BQAC", photo: "AgAC", sticker: "CAAC", voice: "AwAC" }[file.kind];
    const extension = file.filename?.includes(".") ? file.filename.split(".").pop() : undefined;
    const stored: StoredFile = {
      ...file,
      fileId: `${prefix}sandbox${String(n).padStart(6, "0")}`,
      fileUniqueId: `AQAD${String(n).padStart(6, "0")}`,
      path: `${file.kind}s/file_${n}${extension ? `.${extension}` : ""}`,
    };
    this.files.set(stored.fileId, stored);
    return stored;
  }

  addFault(method: string, fault: Fault, count: number): void {
    const key = method.toLowerCase();
    const list = this.faults.get(key) ?? [];
    for (let i = 0; i < count; i++) list.push(fault);
    this.faults.set(key, list);
  }

  /** The next injected fault for this method ("*" matches every method), consumed. */
  takeFault(method: string): Fault | undefined {
    for (const key of [method.toLowerCase(), "*"]) {
      const list = this.faults.get(key);
      if (list && list.length > 0) return list.shift();
    }
    return undefined;
  }

  recordRejection(rejection: Omit<Rejection, "at">): void {
    const full: Rejection = { ...rejection, at: new Date() };
    this.rejections.push(full);
    this.emit({ kind: "rejection", rejection: full });
  }
}

function chatInstanceOf(chatId: number): string {
  const digest = createHash("sha256").update(`chat_instance:${chatId}`).digest();
  return digest.readBigInt64BE(0).toString();
}

// The Bot API methods Circle uses. Each handler validates in the order the Bot API server does
// (message text and markup first, then the chat, then the target message), so the first error a
// bad request meets is the one Telegram would report.
import type {
  BotCommand,
  Document,
  InlineKeyboardMarkup,
  LinkPreviewOptions,
  Message,
  MessageEntity,
  PhotoSize,
  Update,
} from "grammy/types";
import { badRequest, errors } from "./errors.js";
import { imageInfo, mimeTypeOf, photoDimensionsValid } from "./files.js";
import { HtmlParseError, parseHtml, trimFormatted, type FormattedText } from "./html.js";
import { readReplyMarkup, sameJson, type ReplyMarkup } from "./markup.js";
import type { UploadedFile } from "./multipart.js";
import type { Params } from "./params.js";
import type { ChatRecord, FileKind, SandboxState, StoredFile, StoredMessage } from "./state.js";

export interface MethodContext {
  state: SandboxState;
  params: Params;
  /** Aborted when the client goes away (matters for long polls). */
  signal: AbortSignal;
}

/** A result that carries a description too, like setWebhook's "Webhook was set". */
export class Described {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

export type MethodHandler = (context: MethodContext) => unknown;

const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const MAX_CALLBACK_ANSWER = 200;

const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

const SCOPE_TYPES = new Set([
  "default",
  "all_private_chats",
  "all_group_chats",
  "all_chat_administrators",
  "chat",
  "chat_administrators",
  "chat_member",
]);

// --- text, captions, entities ---------------------------------------------------------------

function format(
  state: SandboxState,
  raw: string,
  params: Params,
  entitiesField: string,
): FormattedText {
  const parseMode = params.string("parse_mode") ?? "";
  if (parseMode !== "") {
    const mode = parseMode.toLowerCase();
    if (mode === "html") {
      try {
        return parseHtml(raw, { strict: state.strictHtml });
      } catch (error) {
        if (error instanceof HtmlParseError) throw errors.cantParseEntities(error.message);
        throw error;
      }
    }
    if (mode === "markdown" || mode === "markdownv2") {
      throw errors.cantParseEntities(`parse_mode ${parseMode} is not implemented by the sandbox`);
    }
    throw errors.unsupportedParseMode();
  }
  const entities = params.json(entitiesField, "message entities");
  if (Array.isArray(entities)) {
    const valid = entities.filter(
      (e): e is MessageEntity =>
        typeof e === "object" &&
        e !== null &&
        typeof (e as MessageEntity).type === "string" &&
        Number.isInteger((e as MessageEntity).offset) &&
        Number.isInteger((e as MessageEntity).length),
    );
    return { text: raw, entities: valid };
  }
  return { text: raw, entities: [] };
}

function readText(state: SandboxState, params: Params): FormattedText {
  const raw = params.string("text") ?? "";
  if (raw === "") throw errors.textEmpty();
  const formatted = trimFormatted(format(state, raw, params, "entities"));
  if (formatted.text === "") throw errors.textBlank();
  if (formatted.text.length > MAX_TEXT) throw errors.textTooLong();
  return formatted;
}

function readCaption(state: SandboxState, params: Params): FormattedText | undefined {
  const raw = params.string("caption") ?? "";
  if (raw === "") return undefined;
  const formatted = trimFormatted(format(state, raw, params, "caption_entities"));
  if (formatted.text === "") return undefined;
  if (formatted.text.length > MAX_CAPTION) throw errors.captionTooLong();
  return formatted;
}

function textFields(formatted: FormattedText): Pick<Message, "text" | "entities"> {
  return formatted.entities.length > 0
    ? { text: formatted.text, entities: formatted.entities }
    : { text: formatted.text };
}

function captionFields(
  formatted: FormattedText | undefined,
): Pick<Message, "caption" | "caption_entities"> {
  if (!formatted) return {};
  return formatted.entities.length > 0
    ? { caption: formatted.text, caption_entities: formatted.entities }
    : { caption: formatted.text };
}

function linkPreviewFields(params: Params): Pick<Message, "link_preview_options"> {
  const options = params.json("link_preview_options", "link preview options");
  if (typeof options === "object" && options !== null && !Array.isArray(options)) {
    return { link_preview_options: options as LinkPreviewOptions };
  }
  if (params.bool("disable_web_page_preview"))
    return { link_preview_options: { is_disabled: true } };
  return {};
}

// --- chats and messages ---------------------------------------------------------------------

/** The chat a send goes to; a private chat must have been started and not blocked. */
function writableChat(state: SandboxState, params: Params): ChatRecord {
  const record = state.resolveChat(params.string("chat_id"));
  if (record.chat.type === "private") {
    if (state.blocked.has(record.chat.id)) throw errors.botBlocked();
    if (!record.started) throw errors.cantInitiate();
  }
  return record;
}

function findMessage(record: ChatRecord, messageId: number | undefined): StoredMessage | undefined {
  if (messageId === undefined) return undefined;
  const stored = record.messages.get(messageId);
  return stored && !stored.deleted ? stored : undefined;
}

function readReplyTo(params: Params, record: ChatRecord): Message | undefined {
  let messageId = params.int("reply_to_message_id");
  let allowWithout = params.bool("allow_sending_without_reply");
  const replyParameters = params.json("reply_parameters", "reply parameters");
  if (typeof replyParameters === "object" && replyParameters !== null) {
    const rp = replyParameters as { message_id?: unknown; allow_sending_without_reply?: unknown };
    messageId = typeof rp.message_id === "number" ? rp.message_id : undefined;
    allowWithout = rp.allow_sending_without_reply === true;
  }
  if (messageId === undefined || messageId === 0) return undefined;
  const stored = findMessage(record, messageId);
  if (!stored) {
    if (allowWithout) return undefined;
    throw errors.replyNotFound();
  }
  // Telegram does not nest replies inside reply_to_message.
  const { reply_to_message: _nested, ...replied } = stored.message;
  return replied as Message;
}

function inlineMarkupFields(markup: ReplyMarkup | undefined): Pick<Message, "reply_markup"> {
  return markup?.kind === "inline" ? { reply_markup: markup.markup } : {};
}

function readInlineMarkup(params: Params): InlineKeyboardMarkup | undefined {
  const markup = readReplyMarkup(params);
  if (markup && markup.kind !== "inline") throw badRequest("inline keyboard expected");
  return markup?.markup as InlineKeyboardMarkup | undefined;
}

function newBotMessage(
  state: SandboxState,
  record: ChatRecord,
  params: Params,
  body: Partial<Message>,
): Message {
  const replyTo = readReplyTo(params, record);
  return {
    message_id: 0,
    date: 0,
    from: state.botUser,
    chat: record.chat,
    ...(replyTo ? { reply_to_message: replyTo } : {}),
    ...body,
  } as Message;
}

function storeBotMessage(
  state: SandboxState,
  record: ChatRecord,
  message: Message,
  markup: ReplyMarkup | undefined,
): Message {
  const { message_id: _id, date: _date, ...rest } = message;
  const stored = state.storeMessage(record, rest, true);
  if (markup?.kind === "keyboard") record.replyKeyboard = markup.markup;
  if (markup?.kind === "remove") record.replyKeyboard = undefined;
  state.emit({ kind: "botMessage", chatId: record.chat.id, messageId: stored.message.message_id });
  return stored.message;
}

/** Applies an edit unless nothing changes ("message is not modified"). */
function applyEdit(
  state: SandboxState,
  record: ChatRecord,
  stored: StoredMessage,
  changes: Partial<Message>,
  markup: InlineKeyboardMarkup | undefined,
  options: {
    setEditDate: boolean;
    compare: ("text" | "entities" | "caption" | "caption_entities")[];
  },
): Message {
  const old = stored.message;
  const next: Message = { ...old };
  for (const key of options.compare) delete next[key];
  delete next.reply_markup;
  Object.assign(next, changes);
  if (markup) next.reply_markup = markup;
  const unchanged =
    options.compare.every((key) => sameJson(old[key] ?? null, next[key] ?? null)) &&
    sameJson(old.reply_markup ?? null, next.reply_markup ?? null);
  if (unchanged) throw errors.messageNotModified();
  if (options.setEditDate) next.edit_date = state.now();
  state.editMessage(stored, next);
  state.emit({ kind: "botEdit", chatId: record.chat.id, messageId: old.message_id });
  return next;
}

// --- files ----------------------------------------------------------------------------------

type PreparedFile =
  { existing: StoredFile } | { create: Omit<StoredFile, "fileId" | "fileUniqueId" | "path"> };

function readInputFile(
  state: SandboxState,
  params: Params,
  kind: "document" | "photo",
): PreparedFile {
  const input = params.file(kind);
  if (input === undefined) throw errors.noFileInRequest(kind);
  if (typeof input !== "string") return { create: fromUpload(input, kind) };
  const existing = state.files.get(input);
  if (existing) return { existing };
  if (/^https?:\/\//i.test(input)) {
    // Telegram would download it; the sandbox only records the URL.
    const name = decodeURIComponent(new URL(input).pathname.split("/").pop() ?? "") || kind;
    return { create: { kind, url: input, filename: name, mimeType: mimeTypeOf(name), size: 0 } };
  }
  throw errors.wrongFileId();
}

function fromUpload(
  upload: UploadedFile,
  kind: "document" | "photo",
): Omit<StoredFile, "fileId" | "fileUniqueId" | "path"> {
  if (upload.size === 0) throw errors.fileEmpty();
  const base = {
    kind,
    data: upload.data,
    filename: upload.filename,
    mimeType: mimeTypeOf(upload.filename),
    size: upload.size,
  };
  if (kind === "document") return base;
  const image = imageInfo(upload.data);
  if (!image) throw errors.imageProcessFailed();
  if (!photoDimensionsValid(image.width, image.height)) throw errors.photoInvalidDimensions();
  return { ...base, width: image.width, height: image.height };
}

function commitFile(state: SandboxState, prepared: PreparedFile, kind: FileKind): StoredFile {
  if ("existing" in prepared) {
    if (prepared.existing.kind !== kind) throw badRequest("type of file to send mismatch");
    return prepared.existing;
  }
  return state.addFile(prepared.create);
}

function documentOf(file: StoredFile): Document {
  return {
    file_id: file.fileId,
    file_unique_id: file.fileUniqueId,
    ...(file.filename ? { file_name: file.filename } : {}),
    ...(file.mimeType ? { mime_type: file.mimeType } : {}),
    ...(file.size ? { file_size: file.size } : {}),
  };
}

function photoOf(file: StoredFile): PhotoSize[] {
  return [
    {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      width: file.width ?? 0,
      height: file.height ?? 0,
      ...(file.size ? { file_size: file.size } : {}),
    },
  ];
}

function sendMedia(kind: "document" | "photo"): MethodHandler {
  return ({ state, params }) => {
    const caption = readCaption(state, params);
    const markup = readReplyMarkup(params);
    const prepared = readInputFile(state, params, kind);
    const record = writableChat(state, params);
    const draft = newBotMessage(state, record, params, {});
    const file = commitFile(state, prepared, kind);
    const media = kind === "document" ? { document: documentOf(file) } : { photo: photoOf(file) };
    const message = {
      ...draft,
      ...media,
      ...captionFields(caption),
      ...inlineMarkupFields(markup),
    } as Message;
    return storeBotMessage(state, record, message, markup);
  };
}

// --- commands -------------------------------------------------------------------------------

export function commandScopeKey(scope: Record<string, unknown>, languageCode: string): string {
  return JSON.stringify([scope.type, scope.chat_id ?? null, scope.user_id ?? null, languageCode]);
}

function readScopeKey(state: SandboxState, params: Params): string {
  const raw = params.json("scope", "BotCommandScope") ?? { type: "default" };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw badRequest("can't parse BotCommandScope JSON object");
  }
  const scope = raw as Record<string, unknown>;
  if (typeof scope.type !== "string" || !SCOPE_TYPES.has(scope.type)) {
    throw badRequest("unsupported bot command scope type");
  }
  const normalized: Record<string, unknown> = { type: scope.type };
  if (
    scope.type === "chat" ||
    scope.type === "chat_administrators" ||
    scope.type === "chat_member"
  ) {
    const chatId = scope.chat_id;
    normalized.chat_id = state.resolveChat(
      chatId === undefined ? undefined : String(chatId),
    ).chat.id;
  }
  if (scope.type === "chat_member") {
    if (typeof scope.user_id !== "number") throw badRequest("invalid user_id specified");
    normalized.user_id = scope.user_id;
  }
  const languageCode = params.string("language_code") ?? "";
  if (languageCode !== "" && !/^[a-z]{2}$/.test(languageCode)) throw errors.langCodeInvalid();
  return commandScopeKey(normalized, languageCode);
}

function readCommands(params: Params): BotCommand[] {
  const raw = params.json("commands", "BotCommand array");
  if (!Array.isArray(raw)) throw badRequest('field "commands" must be an Array');
  if (raw.length > 100) throw badRequest("too many commands");
  return raw.map((item: unknown) => {
    const command = (item as { command?: unknown } | null)?.command;
    const description = (item as { description?: unknown } | null)?.description;
    if (typeof command !== "string" || !/^[a-z0-9_]{1,32}$/.test(command))
      throw errors.botCommandInvalid();
    if (
      typeof description !== "string" ||
      description.trim().length === 0 ||
      description.length > 256
    ) {
      throw errors.botCommandDescriptionInvalid();
    }
    return { command, description };
  });
}

// --- the methods ----------------------------------------------------------------------------

const handlers: Record<string, MethodHandler> = {
  getMe: ({ state }) => state.me,

  getUpdates: ({ state, params, signal }): Promise<Update[]> => {
    let allowedUpdates: unknown;
    try {
      allowedUpdates = params.json("allowed_updates", "allowed updates");
    } catch {
      allowedUpdates = undefined; // the Bot API ignores an unreadable allowed_updates
    }
    return state.updates.getUpdates(
      {
        offset: params.int("offset") ?? 0,
        limit: params.int("limit") ?? 100,
        timeout: params.int("timeout") ?? 0,
        allowedUpdates,
      },
      signal,
    );
  },

  setWebhook: ({ state, params }) => {
    const url = params.string("url") ?? "";
    const dropPendingUpdates = params.bool("drop_pending_updates");
    if (url === "") return new Described(true, state.updates.deleteWebhook({ dropPendingUpdates }));
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw errors.invalidWebhookUrl();
    }
    // Telegram requires HTTPS on ports 443/80/88/8443; a local sandbox accepts plain HTTP.
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
      throw errors.invalidWebhookUrl();
    const secretToken = params.string("secret_token");
    if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
      throw badRequest("secret token contains unallowed characters");
    }
    try {
      state.updates.setAllowedUpdates(params.json("allowed_updates", "allowed updates"));
    } catch {
      // ignored like in getUpdates
    }
    const maxConnections = Math.min(Math.max(params.int("max_connections") ?? 40, 1), 100);
    const description = state.updates.setWebhook(
      { url, secretToken: secretToken || undefined, maxConnections },
      { dropPendingUpdates },
    );
    return new Described(true, description);
  },

  deleteWebhook: ({ state, params }) =>
    new Described(
      true,
      state.updates.deleteWebhook({ dropPendingUpdates: params.bool("drop_pending_updates") }),
    ),

  getWebhookInfo: ({ state }) => state.updates.webhookInfo(),

  sendMessage: ({ state, params }) => {
    const formatted = readText(state, params);
    const markup = readReplyMarkup(params);
    const record = writableChat(state, params);
    const message = newBotMessage(state, record, params, {
      ...textFields(formatted),
      ...linkPreviewFields(params),
      ...inlineMarkupFields(markup),
    });
    return storeBotMessage(state, record, message, markup);
  },

  editMessageText: ({ state, params }) => {
    if (params.has("inline_message_id")) throw errors.messageToEditNotFound(); // inline mode is not emulated
    const formatted = readText(state, params);
    const markup = readInlineMarkup(params);
    const record = state.resolveChat(params.string("chat_id"));
    const stored = findMessage(record, params.int("message_id"));
    if (!stored) throw errors.messageToEditNotFound();
    if (!stored.fromBot) throw errors.messageCantBeEdited();
    if (stored.message.text === undefined) throw errors.noTextToEdit();
    return applyEdit(
      state,
      record,
      stored,
      { ...textFields(formatted), ...linkPreviewFields(params) },
      markup,
      {
        setEditDate: true,
        compare: ["text", "entities"],
      },
    );
  },

  editMessageCaption: ({ state, params }) => {
    if (params.has("inline_message_id")) throw errors.messageToEditNotFound();
    const caption = readCaption(state, params);
    const markup = readInlineMarkup(params);
    const record = state.resolveChat(params.string("chat_id"));
    const stored = findMessage(record, params.int("message_id"));
    if (!stored) throw errors.messageToEditNotFound();
    if (!stored.fromBot) throw errors.messageCantBeEdited();
    const m = stored.message;
    if (!m.document && !m.photo && !m.voice && !m.audio && !m.video && !m.animation) {
      throw errors.noCaptionToEdit();
    }
    return applyEdit(state, record, stored, captionFields(caption), markup, {
      setEditDate: true,
      compare: ["caption", "caption_entities"],
    });
  },

  editMessageReplyMarkup: ({ state, params }) => {
    if (params.has("inline_message_id")) throw errors.messageToEditNotFound();
    const markup = readInlineMarkup(params);
    const record = state.resolveChat(params.string("chat_id"));
    const stored = findMessage(record, params.int("message_id"));
    if (!stored) throw errors.messageToEditNotFound();
    if (!stored.fromBot) throw errors.messageCantBeEdited();
    // Changing only the keyboard does not mark a message as edited in Telegram.
    return applyEdit(state, record, stored, {}, markup, { setEditDate: false, compare: [] });
  },

  deleteMessage: ({ state, params }) => {
    const record = state.resolveChat(params.string("chat_id"));
    const stored = findMessage(record, params.int("message_id"));
    if (!stored) throw errors.messageToDeleteNotFound();
    stored.deleted = true;
    state.emit({ kind: "botDelete", chatId: record.chat.id, messageId: stored.message.message_id });
    return true;
  },

  answerCallbackQuery: ({ state, params }) => {
    const query = state.callbackQueries.get(params.string("callback_query_id") ?? "");
    if (!query || query.answer) throw errors.queryTooOld();
    const text = params.string("text");
    if (text !== undefined && text.length > MAX_CALLBACK_ANSWER) throw errors.answerTooLong();
    query.answer = {
      ...(text ? { text } : {}),
      showAlert: params.bool("show_alert"),
      ...(params.has("url") ? { url: params.string("url") } : {}),
      ...(params.has("cache_time") ? { cacheTime: params.int("cache_time") } : {}),
      seq: state.nextSeq(),
    };
    state.emit({ kind: "callbackAnswer", chatId: query.chatId, queryId: query.id });
    return true;
  },

  sendDocument: sendMedia("document"),
  sendPhoto: sendMedia("photo"),

  sendChatAction: ({ state, params }) => {
    const action = params.string("action") ?? "";
    const record = writableChat(state, params);
    if (!CHAT_ACTIONS.has(action)) throw errors.wrongChatAction();
    record.lastChatAction = action;
    state.emit({ kind: "chatAction", chatId: record.chat.id, action });
    return true;
  },

  setMyCommands: ({ state, params }) => {
    const commands = readCommands(params);
    const key = readScopeKey(state, params);
    if (commands.length === 0) state.commands.delete(key);
    else state.commands.set(key, commands);
    return true;
  },

  getMyCommands: ({ state, params }) => state.commands.get(readScopeKey(state, params)) ?? [],

  deleteMyCommands: ({ state, params }) => {
    state.commands.delete(readScopeKey(state, params));
    return true;
  },

  setChatMenuButton: ({ state, params }) => {
    const key = params.has("chat_id")
      ? String(state.resolveChat(params.string("chat_id")).chat.id)
      : "default";
    const button = params.json("menu_button", "menu button");
    if (button === undefined) state.menuButtons.delete(key);
    else state.menuButtons.set(key, button as never);
    return true;
  },

  getChatMenuButton: ({ state, params }) => {
    const key = params.has("chat_id")
      ? String(state.resolveChat(params.string("chat_id")).chat.id)
      : "default";
    return state.menuButtons.get(key) ?? state.menuButtons.get("default") ?? { type: "commands" };
  },

  getChat: ({ state, params }) => {
    const record = state.resolveChat(params.string("chat_id"));
    return { ...record.chat, accent_color_id: 0, max_reaction_count: 11 };
  },

  getFile: ({ state, params }) => {
    const file = state.files.get(params.string("file_id") ?? "");
    if (!file) throw errors.invalidFileId();
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      ...(file.size ? { file_size: file.size } : {}),
      ...(file.data ? { file_path: file.path } : {}),
    };
  },

  close: () => true,
  logOut: () => true,
};

/** Method handlers by lower-case name: the Bot API matches method names case-insensitively. */
export const METHODS: ReadonlyMap<string, MethodHandler> = new Map(
  Object.entries(handlers).map(([name, handler]) => [name.toLowerCase(), handler]),
);

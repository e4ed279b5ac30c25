// reply_markup: inline keyboards (validated like Telegram: a button needs exactly one action,
// callback_data is 1-64 bytes), reply keyboards, remove_keyboard and force_reply.
import type {
  ForceReply,
  InlineKeyboardButton,
  InlineKeyboardMarkup,
  KeyboardButton,
  ReplyKeyboardMarkup,
  ReplyKeyboardRemove,
} from "grammy/types";
import { badRequest, errors } from "./errors.js";
import type { Params } from "./params.js";

export type ReplyMarkup =
  | { kind: "inline"; markup: InlineKeyboardMarkup }
  | { kind: "keyboard"; markup: ReplyKeyboardMarkup }
  | { kind: "remove"; markup: ReplyKeyboardRemove }
  | { kind: "forceReply"; markup: ForceReply };

const ACTION_FIELDS = [
  "url",
  "callback_data",
  "web_app",
  "login_url",
  "switch_inline_query",
  "switch_inline_query_current_chat",
  "switch_inline_query_chosen_chat",
  "copy_text",
  "callback_game",
  "pay",
] as const;

const MAX_INLINE_BUTTONS = 100;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const buttonError = (detail: string) => badRequest(`can't parse inline keyboard button: ${detail}`);

export function readReplyMarkup(params: Params): ReplyMarkup | undefined {
  const value = params.json("reply_markup", "reply keyboard markup");
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw badRequest("object expected as reply markup");
  if ("inline_keyboard" in value) return { kind: "inline", markup: readInlineKeyboard(value) };
  if ("keyboard" in value) return { kind: "keyboard", markup: readReplyKeyboard(value) };
  if (value.remove_keyboard === true) {
    return { kind: "remove", markup: { remove_keyboard: true, ...selective(value) } };
  }
  if (value.force_reply === true) {
    const placeholder = value.input_field_placeholder;
    return {
      kind: "forceReply",
      markup: {
        force_reply: true,
        ...(typeof placeholder === "string" ? { input_field_placeholder: placeholder } : {}),
        ...selective(value),
      },
    };
  }
  throw badRequest("unsupported reply markup");
}

function selective(value: Record<string, unknown>): { selective?: boolean } {
  return value.selective === true ? { selective: true } : {};
}

function readInlineKeyboard(value: Record<string, unknown>): InlineKeyboardMarkup {
  const rows = value.inline_keyboard;
  if (!Array.isArray(rows) || !rows.every((row) => Array.isArray(row))) {
    throw badRequest(
      'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays',
    );
  }
  let count = 0;
  const keyboard = (rows as unknown[][]).map((row) =>
    row.map((button) => {
      count++;
      return readInlineButton(button);
    }),
  );
  if (count > MAX_INLINE_BUTTONS) throw badRequest("reply markup is too long");
  return { inline_keyboard: keyboard.filter((row) => row.length > 0) };
}

function readInlineButton(button: unknown): InlineKeyboardButton {
  if (!isRecord(button)) throw buttonError("InlineKeyboardButton should be an Object");
  if (!("text" in button)) throw buttonError('Can\'t find field "text"');
  if (typeof button.text !== "string") throw buttonError('Field "text" must be of type String');
  if (button.text.trim() === "") throw badRequest("BUTTON_TEXT_INVALID");

  // Telegram treats an empty url or callback_data as absent.
  const present = ACTION_FIELDS.filter((field) => {
    const v = button[field];
    if (v === undefined || v === null) return false;
    return !((field === "url" || field === "callback_data") && v === "");
  });
  if (present.length === 0) throw buttonError("Text buttons are unallowed in the inline keyboard");
  if (present.length > 1) {
    // Telegram silently uses the first field it knows; the sandbox refuses the ambiguity.
    throw buttonError(`more than one action field is specified (${present.join(", ")})`);
  }
  const field = present[0] as (typeof ACTION_FIELDS)[number];
  const action = button[field];
  if (field === "callback_data") {
    if (typeof action !== "string")
      throw buttonError('Field "callback_data" must be of type String');
    if (Buffer.byteLength(action, "utf8") > 64) throw errors.buttonDataInvalid();
  }
  if (field === "url") {
    if (typeof action !== "string") throw buttonError('Field "url" must be of type String');
    checkButtonUrl(action);
  }
  return { text: button.text, [field]: action } as unknown as InlineKeyboardButton;
}

function checkButtonUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest(`inline keyboard button URL '${url}' is invalid: Wrong HTTP URL`);
  }
  if (!["http:", "https:", "tg:"].includes(parsed.protocol)) {
    throw badRequest(`inline keyboard button URL '${url}' is invalid: Unsupported URL protocol`);
  }
}

function readReplyKeyboard(value: Record<string, unknown>): ReplyKeyboardMarkup {
  const rows = value.keyboard;
  if (!Array.isArray(rows) || !rows.every((row) => Array.isArray(row))) {
    throw badRequest('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays');
  }
  const keyboard = (rows as unknown[][]).map((row) =>
    row.map((button): KeyboardButton => {
      if (typeof button === "string") return { text: button };
      if (isRecord(button) && typeof button.text === "string")
        return button as unknown as KeyboardButton;
      throw badRequest(
        "can't parse keyboard button: KeyboardButton should be a String or an Object",
      );
    }),
  );
  const out: ReplyKeyboardMarkup = { keyboard };
  for (const flag of [
    "is_persistent",
    "resize_keyboard",
    "one_time_keyboard",
    "selective",
  ] as const) {
    if (value[flag] === true) out[flag] = true;
  }
  if (typeof value.input_field_placeholder === "string") {
    out.input_field_placeholder = value.input_field_placeholder;
  }
  return out;
}

/** Key-order-independent equality, for "message is not modified". */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .filter((k) => v[k] !== undefined)
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

// Seeded generator of Telegram updates for the security tests: text of every length up to and
// over 4096 characters (emoji, RTL, control and zero-width characters, HTML look-alikes), media,
// edited messages, group and channel traffic, commands with junk arguments, and callback queries
// that are valid, forged, truncated, replayed, pressed from another chat or without a message.
//
// `UpdateFuzzer.next("invalid")` only produces input the bot must not act on (the research data
// must stay exactly as it was); `next("any")` mixes in valid presses, answers and commands so the
// study moves on between invalid batches. Which inputs count as valid depends on what the bot
// currently shows, so the fuzzer reads the fake Bot API's chats (buttons on screen now and every
// button ever shown, for replays).
import type { Bot, Context } from "grammy";
import type { Chat, MessageEntity, Update, User } from "grammy/types";
import type { Db } from "../../src/db/client.js";
import { decodeCallback } from "../../src/telegram/callback-data.js";
import { BOT_INFO, type FakeMessage, type FakeTelegram } from "./fake-telegram.js";

// ---------------------------------------------------------------------------------------------
// Randomness

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Inclusive on both ends. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from an empty list");
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((a, [, w]) => a + w, 0);
    let x = this.next() * total;
    for (const [v, w] of entries) {
      x -= w;
      if (x < 0) return v;
    }
    return entries[entries.length - 1]![0];
  }
}

// ---------------------------------------------------------------------------------------------
// Text

const ASCII =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789      .,;:!?'\"-_/\\()[]{}*#%+=|~^$`";
const TOKENS: Record<string, readonly string[]> = {
  html: [
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    '<a href="tg://user?id=1">',
    "</a>",
    "&amp;",
    "&",
    "<",
    ">",
    "&lt;",
    "<script>",
    "</pre>",
    "<tg-spoiler>",
    "&#0;",
    "&#x110000;",
    "<br/>",
    "<code>",
    '"',
    "'",
  ],
  emoji: ["😀", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇨🇳", "❤️", "🧑🏿‍🦯", "1️⃣", "🤷‍♀️", "🫠", "©", "™"],
  rtl: [
    "مرحبا بالعالم",
    "שלום",
    "\u202E",
    "\u202B",
    "\u200F",
    "\u061C",
    "ﷺ",
    "\u202Dltr\u202C",
    "اختبار",
  ],
  control: [
    "\u0000",
    "\u0001",
    "\u0007",
    "\b",
    "\t",
    "\n",
    "\r",
    "\u000B",
    "\u000C",
    "\u001B",
    "\u007F",
    "\u0085",
    "\u2028",
    "\u2029",
    "\r\n",
  ],
  invisible: ["\u200B", "\u200C", "\u200D", "\uFEFF", "\u2060", "\u00AD", "\u3000"],
  combining: ["e\u0301", "\u0336", "Z\u0351\u0352\u0357\u0358", "a\u0308\u0308\u0308"],
  cjk: ["同行圈", "白血病患儿", "社会工作小组", "你好", "问卷", "。", "，", "ｆｕｌｌｗｉｄｔｈ"],
  commandish: [
    "/",
    "/start",
    "@circle_test_bot",
    "/help@circle_test_bot",
    "/withdraw",
    "@",
    "#tag",
    "$cash",
    "https://t.me/x",
  ],
};
const TOKEN_KINDS = Object.keys(TOKENS);

/** Lengths in UTF-16 units (as Telegram counts): [min, max, weight]. */
const LENGTH_BUCKETS: readonly (readonly [number, number, number])[] = [
  [0, 0, 1],
  [1, 1, 3],
  [2, 20, 30],
  [21, 200, 25],
  [201, 1000, 10],
  [1001, 4095, 6],
  [4096, 4096, 3],
  [4097, 6000, 4],
];

/** Cuts at a code point boundary so the result stays well-formed UTF-16 (like real client text). */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let out = "";
  for (const cp of s) {
    if (out.length + cp.length > max) break;
    out += cp;
  }
  return out;
}

export function fuzzText(r: Rng, opts: { min?: number; max?: number } = {}): string {
  const buckets = LENGTH_BUCKETS.filter(
    ([lo, hi]) => hi >= (opts.min ?? 0) && lo <= (opts.max ?? Infinity),
  );
  const [lo, hi] = r.weighted(buckets.map((b) => [b, b[2]] as const));
  const target = r.int(Math.max(lo, opts.min ?? 0), Math.min(hi, opts.max ?? hi));
  // A text leans on one or two flavours, like real messages do.
  const flavours = [r.pick(TOKEN_KINDS), r.pick(TOKEN_KINDS)];
  const parts: string[] = [];
  let len = 0;
  while (len < target) {
    const piece = r.chance(0.45)
      ? ASCII[r.int(0, ASCII.length - 1)]!.repeat(r.int(1, 12))
      : r.pick(TOKENS[r.pick(flavours)]!);
    parts.push(piece);
    len += piece.length;
  }
  return cut(parts.join(""), target);
}

export const COMMANDS = [
  "start",
  "help",
  "language",
  "resume",
  "status",
  "withdraw",
  "session",
  "note",
  "interview",
  "nickname",
  "progress",
  "report",
  "export",
] as const;

// ---------------------------------------------------------------------------------------------
// Updates

export interface Persona {
  id: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  isBot?: boolean;
}

// Far above FakeUser's counters, so both can share one database (ProcessedUpdate) without clashes.
let nextUpdate = 700_000_000;
let nextQuery = 1;
let nextForeignMessage = 5_000_000;

export function newUpdateId(): number {
  return nextUpdate++;
}

export function newQueryId(): string {
  return `fz${nextQuery++}`;
}

export function userOf(p: Persona): User {
  return {
    id: p.id,
    is_bot: p.isBot ?? false,
    first_name: p.firstName,
    ...(p.lastName !== undefined ? { last_name: p.lastName } : {}),
    ...(p.username !== undefined ? { username: p.username } : {}),
    ...(p.languageCode !== undefined ? { language_code: p.languageCode } : {}),
  } as User;
}

export function privateChatOf(p: Persona): Chat {
  return {
    id: p.id,
    type: "private",
    first_name: p.firstName,
    ...(p.lastName !== undefined ? { last_name: p.lastName } : {}),
    ...(p.username !== undefined ? { username: p.username } : {}),
  } as Chat;
}

/** bot_command entities as Telegram sets them for a leading command. */
export function commandEntities(text: string): MessageEntity[] {
  const m = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
  return m ? [{ type: "bot_command", offset: 0, length: m[0].length }] : [];
}

export function messageUpdate(
  kind: "message" | "edited_message" | "channel_post" | "edited_channel_post",
  chat: Chat,
  from: User | undefined,
  content: Record<string, unknown>,
  messageId = nextForeignMessage++,
): Update {
  return {
    update_id: newUpdateId(),
    [kind]: {
      message_id: messageId,
      date: 1_760_000_000,
      chat,
      ...(from ? { from } : {}),
      ...(kind.startsWith("edited") ? { edit_date: 1_760_000_100 } : {}),
      ...content,
    },
  } as unknown as Update;
}

/**
 * A button press. Like Telegram, the message carries its current inline keyboard (pass the fake
 * message's keyboard); a message without buttons has no reply_markup.
 */
export function callbackUpdate(
  from: User,
  data: string | undefined,
  message: {
    chat: Chat;
    messageId: number;
    text?: string;
    keyboard?: FakeMessage["keyboard"];
  } | null,
  extra: Record<string, unknown> = {},
): Update {
  return {
    update_id: newUpdateId(),
    callback_query: {
      id: newQueryId(),
      from,
      chat_instance: `ci${from.id}`,
      ...(data !== undefined ? { data } : {}),
      ...(message
        ? {
            message: {
              message_id: message.messageId,
              date: 1_760_000_000,
              chat: message.chat,
              text: message.text ?? "…",
              from: BOT_INFO,
              ...(message.keyboard?.some((row) => row.length > 0)
                ? { reply_markup: { inline_keyboard: message.keyboard } }
                : {}),
            },
          }
        : {}),
      ...extra,
    },
  } as unknown as Update;
}

export function callbackDataOf(m: FakeMessage): string[] {
  return m.keyboard
    .flat()
    .flatMap((b) =>
      "callback_data" in b && typeof b.callback_data === "string" ? [b.callback_data] : [],
    );
}

/** A person in a private chat with the bot (any name, username and language), driving the real bot. */
export class Person {
  private inbound = 1;
  constructor(
    readonly bot: Bot<Context>,
    readonly tg: FakeTelegram,
    readonly profile: Persona,
  ) {}

  get id(): number {
    return this.profile.id;
  }
  user(): User {
    return userOf(this.profile);
  }
  chat(): Chat {
    return privateChatOf(this.profile);
  }

  message(
    content: Record<string, unknown>,
    kind: "message" | "edited_message" = "message",
  ): Update {
    return messageUpdate(
      kind,
      this.chat(),
      this.user(),
      content,
      kind === "message" ? this.inbound++ : Math.max(1, this.inbound - 1),
    );
  }
  textUpdate(text: string): Update {
    const entities = commandEntities(text);
    return this.message({ text, ...(entities.length ? { entities } : {}) });
  }
  pressUpdate(message: FakeMessage, data: string): Update {
    return callbackUpdate(this.user(), data, {
      chat: this.chat(),
      messageId: message.messageId,
      text: message.text,
      keyboard: message.keyboard,
    });
  }

  async deliver(update: Update): Promise<void> {
    await this.bot.handleUpdate(update);
  }
  async send(text: string): Promise<Update> {
    const u = this.textUpdate(text);
    await this.deliver(u);
    return u;
  }

  messages(): FakeMessage[] {
    return this.tg.messages(this.id);
  }
  last(): FakeMessage {
    const m = this.tg.lastMessage(this.id);
    if (!m) throw new Error(`no message to ${this.profile.firstName} yet`);
    return m;
  }
  current(): FakeMessage {
    const list = this.tg.withButtons(this.id);
    const m = list[list.length - 1];
    if (!m)
      throw new Error(
        `no message with buttons for ${this.profile.firstName}; last: ${this.tg.lastMessage(this.id)?.text}`,
      );
    return m;
  }
  button(message: FakeMessage, label: string | RegExp | ((text: string) => boolean)): string {
    const match = (t: string) =>
      typeof label === "string" ? t === label : label instanceof RegExp ? label.test(t) : label(t);
    for (const row of message.keyboard)
      for (const b of row) if (match(b.text) && "callback_data" in b) return b.callback_data!;
    throw new Error(
      `no button ${String(label)} in: ${message.keyboard
        .flat()
        .map((b) => b.text)
        .join(" | ")}`,
    );
  }
  async press(
    label: string | RegExp | ((text: string) => boolean),
    message?: FakeMessage,
  ): Promise<Update> {
    const m = message ?? this.current();
    const u = this.pressUpdate(m, this.button(m, label));
    await this.deliver(u);
    return u;
  }
  toastFor(update: Update): string | undefined {
    const id = update.callback_query?.id;
    const c = this.tg.calls.find(
      (x) => x.method === "answerCallbackQuery" && x.payload.callback_query_id === id,
    );
    return c ? ((c.payload.text as string | undefined) ?? "") : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The fuzzer

export type FuzzRole = "parent" | "facilitator" | "researcher" | "admin" | "stranger";

export interface FuzzActor {
  person: Person;
  role: FuzzRole;
}

export type FuzzMode = "any" | "invalid";

export interface FuzzCase {
  update: Update;
  /** What was generated (for statistics and failure messages). */
  kind: string;
  actor: FuzzActor | null;
}

interface SeenButton {
  chatId: number;
  messageId: number;
  data: string;
}

export interface FuzzerOptions {
  seed: number;
  tg: FakeTelegram;
  actors: FuzzActor[];
  /** Group, supergroup and channel chats the bot is in. */
  chats: Chat[];
  /** Participant codes and instrument ids: junk arguments never name one in invalid mode. */
  knownWords: string[];
  /** Chance that a valid press confirms a withdrawal (any mode); default 0.01. */
  withdrawChance?: number;
}

const MEDIA: readonly (readonly [string, () => Record<string, unknown>])[] = [
  [
    "sticker",
    () => ({
      sticker: {
        file_id: "s1",
        file_unique_id: "s1",
        type: "regular",
        width: 512,
        height: 512,
        is_animated: false,
        is_video: false,
        emoji: "🙂",
      },
    }),
  ],
  [
    "photo",
    () => ({
      photo: [
        { file_id: "p1", file_unique_id: "p1", width: 90, height: 90 },
        { file_id: "p2", file_unique_id: "p2", width: 800, height: 800 },
      ],
    }),
  ],
  [
    "voice",
    () => ({ voice: { file_id: "v1", file_unique_id: "v1", duration: 3, mime_type: "audio/ogg" } }),
  ],
  [
    "video",
    () => ({ video: { file_id: "vd", file_unique_id: "vd", width: 1, height: 1, duration: 1 } }),
  ],
  [
    "video_note",
    () => ({ video_note: { file_id: "vn", file_unique_id: "vn", length: 1, duration: 1 } }),
  ],
  [
    "document",
    () => ({
      document: {
        file_id: "d1",
        file_unique_id: "d1",
        file_name: "../../etc/passwd",
        mime_type: "text/plain",
      },
    }),
  ],
  ["audio", () => ({ audio: { file_id: "a1", file_unique_id: "a1", duration: 1 } })],
  [
    "animation",
    () => ({
      animation: { file_id: "an", file_unique_id: "an", width: 1, height: 1, duration: 1 },
    }),
  ],
  ["location", () => ({ location: { latitude: 31.2, longitude: 121.5 } })],
  [
    "contact",
    () => ({ contact: { phone_number: "+10000000000", first_name: "Contact", user_id: 123456 } }),
  ],
  [
    "poll",
    () => ({
      poll: {
        id: "pl",
        question: "?",
        options: [{ text: "a", voter_count: 0 }],
        total_voter_count: 0,
        is_closed: false,
        is_anonymous: true,
        type: "regular",
        allows_multiple_answers: false,
      },
    }),
  ],
  ["dice", () => ({ dice: { emoji: "🎲", value: 6 } })],
  [
    "venue",
    () => ({ venue: { location: { latitude: 0, longitude: 0 }, title: "Ward", address: "-" } }),
  ],
  ["empty", () => ({})],
];

export class UpdateFuzzer {
  readonly r: Rng;
  readonly counts = new Map<string, number>();
  /** Callback query ids delivered more than once (a redelivered update): answering again is refused by Telegram. */
  readonly redeliveredQueries = new Set<string>();
  private readonly seen: SeenButton[] = [];
  private readonly seenKeys = new Set<string>();
  private scannedCalls = 0;
  private readonly history: Update[] = [];

  constructor(private readonly o: FuzzerOptions) {
    this.r = new Rng(o.seed);
  }

  /** Records the buttons the bot has shown since the last call (replays and other-chat presses use them). */
  observe(): void {
    const touched = new Set<number>();
    const calls = this.o.tg.calls;
    for (; this.scannedCalls < calls.length; this.scannedCalls++) {
      const c = calls[this.scannedCalls]!;
      if (c.payload.reply_markup !== undefined && c.payload.chat_id !== undefined)
        touched.add(Number(c.payload.chat_id));
    }
    for (const chatId of touched) {
      for (const m of this.o.tg.withButtons(chatId)) {
        for (const data of callbackDataOf(m)) {
          const key = `${chatId}|${m.messageId}|${data}`;
          if (this.seenKeys.has(key)) continue;
          this.seenKeys.add(key);
          this.seen.push({ chatId, messageId: m.messageId, data });
        }
      }
    }
  }

  next(mode: FuzzMode): FuzzCase {
    for (let attempt = 0; attempt < 50; attempt++) {
      const c = this.generate(mode);
      if (c) {
        this.counts.set(c.kind, (this.counts.get(c.kind) ?? 0) + 1);
        if (this.history.length > 200) this.history.shift();
        this.history.push(c.update);
        return c;
      }
    }
    throw new Error("fuzzer found nothing to generate");
  }

  // -- helpers ------------------------------------------------------------------------------

  private current(actor: FuzzActor): FakeMessage[] {
    return this.o.tg.withButtons(actor.person.id);
  }

  /** A message as Telegram would describe it in a callback query: its text and current buttons. */
  private on(chat: Chat, messageId: number) {
    const m = this.o.tg.messages(chat.id).find((x) => x.messageId === messageId);
    return { chat, messageId, ...(m ? { text: m.text, keyboard: m.keyboard } : {}) };
  }

  private currentData(chatId: number): Set<string> {
    return new Set(this.o.tg.withButtons(chatId).flatMap(callbackDataOf));
  }

  private junk(mode: FuzzMode, max = 300): string {
    for (;;) {
      const s = fuzzText(this.r, { max: this.r.chance(0.1) ? 5000 : max });
      if (mode === "any") return s;
      const lower = s.toLowerCase();
      if (!this.o.knownWords.some((w) => lower.includes(w.toLowerCase()))) return s;
    }
  }

  /** Whether typed text is something the bot must refuse for this actor right now (no state change). */
  private textIsInvalid(actor: FuzzActor): boolean {
    if (actor.role === "stranger" || actor.role === "researcher" || actor.role === "admin")
      return true;
    const shown = this.current(actor);
    if (actor.role === "facilitator") return shown.length === 0;
    // A parent: only while the newest question is a button question (choice, consent, hand-off).
    const last = shown[shown.length - 1];
    if (!last) return false;
    return callbackDataOf(last).some((d) => {
      const x = decodeCallback(d);
      return (x?.kind === "q" && (x.action === "a" || x.action === "r")) || x?.kind === "consent";
    });
  }

  private commandFor(actor: FuzzActor, mode: FuzzMode): string | null {
    const name = this.r.chance(0.08)
      ? this.junk("invalid", 12).replace(/\s/g, "") || "x"
      : this.r.pick(COMMANDS);
    const suffix = this.r.weighted([
      ["", 8],
      ["@circle_test_bot", 1],
      ["@other_bot", 1],
    ] as const);
    const args = this.r.chance(0.6) ? ` ${this.junk(mode)}` : "";
    const text = `/${name}${suffix}${args}`;
    if (mode === "any") return text;
    // Invalid mode may send any command: junk arguments never name a child, an instrument or an
    // invite, so none of them acts on the research data (/start junk only moves the failed-attempt
    // counter, /session and /note only open conversations). /export is slow: sent rarely.
    const exporter = actor.role === "researcher" || actor.role === "admin";
    if (name === "export" && suffix !== "@other_bot" && exporter && !this.r.chance(0.05))
      return null;
    return text;
  }

  private otherActor(actor: FuzzActor): FuzzActor {
    const others = this.o.actors.filter((a) => a !== actor);
    return this.r.pick(others);
  }

  // -- generation ---------------------------------------------------------------------------

  private generate(mode: FuzzMode): FuzzCase | null {
    const actor = this.r.weighted(
      this.o.actors.map(
        (a) => [a, a.role === "parent" ? 3 : a.role === "facilitator" ? 2 : 1] as const,
      ),
    );
    const kinds: (readonly [string, number])[] = [
      ["text", 12],
      ["command", 12],
      ["media", 8],
      ["edited", 3],
      ["group", 4],
      ["channel", 2],
      ["press-forged", 9],
      ["press-truncated", 4],
      ["press-replayed", 7],
      ["press-other-chat", 5],
      ["press-no-message", 2],
      ["redelivery", 3],
      ["other-update", 2],
    ];
    if (mode === "any") kinds.push(["press-valid", 35], ["answer-text", 4]);
    const kind = this.r.weighted(kinds);
    const p = actor.person;
    const user = p.user();
    switch (kind) {
      case "text": {
        if (mode === "invalid" && !this.textIsInvalid(actor)) return null;
        let text = this.junk(mode, 600);
        if (text.startsWith("/")) text = ` ${text}`;
        return { update: p.message({ text }), kind, actor };
      }
      case "answer-text": {
        // A number or a short sentence: valid where a text or number item is asked.
        const text = this.r.chance(0.5)
          ? String(this.r.int(-5, 200))
          : this.junk("any", 120).replace(/^\//, "");
        return { update: p.message({ text: text || "ok" }), kind, actor };
      }
      case "command": {
        const text = this.commandFor(actor, mode);
        if (text === null) return null;
        const entities = commandEntities(text);
        // Now and then entities that do not fit the text (offsets past the end, zero length).
        const forged = this.r.chance(0.05)
          ? [
              {
                type: "bot_command",
                offset: this.r.int(0, text.length + 5),
                length: this.r.int(0, 40),
              },
            ]
          : entities;
        return {
          update: p.message({ text, ...(forged.length ? { entities: forged } : {}) }),
          kind,
          actor,
        };
      }
      case "media": {
        const [name, content] = this.r.pick(MEDIA);
        const caption = this.r.chance(0.3) ? { caption: this.junk(mode, 1100) } : {};
        return { update: p.message({ ...content(), ...caption }), kind: `media:${name}`, actor };
      }
      case "edited": {
        const text = this.r.chance(0.3)
          ? `/${this.r.pick(COMMANDS)} ${this.junk(mode)}`
          : this.junk(mode, 600);
        return {
          update: p.message({ text, entities: commandEntities(text) }, "edited_message"),
          kind,
          actor,
        };
      }
      case "group": {
        const chat = this.r.pick(this.o.chats.filter((c) => c.type !== "channel"));
        const content = this.r.weighted<Record<string, unknown>>([
          [
            {
              text: `/${this.r.pick(COMMANDS)}${this.r.pick(["", "@circle_test_bot", "@other_bot"])} ${this.junk(mode, 80)}`,
            },
            4,
          ],
          [{ text: this.junk(mode, 600) }, 3],
          [this.r.pick(MEDIA)[1](), 1],
          [{ new_chat_members: [user, BOT_INFO] }, 1],
          [{ left_chat_member: user }, 1],
          [{ new_chat_title: this.junk(mode, 50) || "t" }, 1],
        ]);
        if (typeof content.text === "string") content.entities = commandEntities(content.text);
        return {
          update: messageUpdate(
            this.r.chance(0.85) ? "message" : "edited_message",
            chat,
            user,
            content,
          ),
          kind: `group:${chat.type}`,
          actor,
        };
      }
      case "channel": {
        const chat = this.r.pick(this.o.chats.filter((c) => c.type === "channel"));
        const text = this.r.chance(0.5)
          ? `/${this.r.pick(COMMANDS)} ${this.junk(mode, 80)}`
          : this.junk(mode, 600);
        return {
          update: messageUpdate(
            this.r.chance(0.8) ? "channel_post" : "edited_channel_post",
            chat,
            undefined,
            { text, entities: commandEntities(text) },
          ),
          kind,
          actor: null,
        };
      }
      case "press-valid": {
        const shown = this.current(actor);
        const m = shown.length ? this.r.pick(shown) : undefined;
        if (!m) return null;
        let options = callbackDataOf(m);
        if (!this.r.chance(this.o.withdrawChance ?? 0.01))
          options = options.filter((d) => d !== "1w:y");
        if (options.length === 0) return null;
        return { update: p.pressUpdate(m, this.r.pick(options)), kind, actor };
      }
      case "press-forged":
        return this.forged(actor, mode);
      case "press-truncated": {
        const own = this.seen.filter((b) => b.chatId === p.id && b.data.length > 1);
        if (own.length === 0) return null;
        const b = this.r.pick(own);
        const data = b.data.slice(0, this.r.int(0, b.data.length - 1));
        if (mode === "invalid" && decodeCallback(data) !== null) return null;
        return { update: callbackUpdate(user, data, this.on(p.chat(), b.messageId)), kind, actor };
      }
      case "press-replayed": {
        const live = this.currentData(p.id);
        const own = this.seen.filter((b) => b.chatId === p.id && !live.has(b.data));
        if (own.length === 0) return null;
        const b = this.r.pick(own);
        const d = decodeCallback(b.data);
        // The language and withdrawal buttons act whenever they are pressed (see the report).
        if (mode === "invalid" && (d?.kind === "lang" || (d?.kind === "withdraw" && d.confirm)))
          return null;
        // On the message it was sent with, or on the question showing now.
        const on =
          this.r.chance(0.7) || live.size === 0
            ? b.messageId
            : this.r.pick(this.current(actor)).messageId;
        return { update: callbackUpdate(user, b.data, this.on(p.chat(), on)), kind, actor };
      }
      case "press-other-chat": {
        // Data that is live in someone else's chat (or a group), pressed by this actor.
        const other = this.otherActor(actor);
        const theirs = this.current(other);
        const group = this.r.chance(0.2) ? this.r.pick(this.o.chats) : null;
        if (group) {
          const any = this.seen.length ? this.r.pick(this.seen) : null;
          if (!any) return null;
          return {
            update: callbackUpdate(user, any.data, this.on(group, any.messageId)),
            kind: "press-group-chat",
            actor,
          };
        }
        if (theirs.length === 0) return null;
        const m = this.r.pick(theirs);
        const data = callbackDataOf(m);
        if (data.length === 0) return null;
        return {
          update: callbackUpdate(
            user,
            this.r.pick(data),
            this.on(other.person.chat(), m.messageId),
          ),
          kind,
          actor,
        };
      }
      case "press-no-message": {
        const any = this.seen.length ? this.r.pick(this.seen).data : "1w:y";
        const extra = this.r.chance(0.5)
          ? { inline_message_id: "inl" }
          : { game_short_name: "game" };
        return {
          update: callbackUpdate(user, "game_short_name" in extra ? undefined : any, null, extra),
          kind,
          actor,
        };
      }
      case "redelivery": {
        if (this.history.length === 0) return null;
        const u = this.r.pick(this.history);
        if (u.callback_query) this.redeliveredQueries.add(u.callback_query.id);
        return { update: u, kind, actor: null };
      }
      case "other-update":
        return this.otherUpdate(actor, mode);
      default:
        return null;
    }
  }

  private forged(actor: FuzzActor, mode: FuzzMode): FuzzCase | null {
    const p = actor.person;
    const shown = this.current(actor);
    const m = shown.length ? shown[shown.length - 1]! : null;
    const liveQ = m
      ? callbackDataOf(m)
          .map(decodeCallback)
          .find((d) => d?.kind === "q")
      : undefined;
    const big = () => this.r.int(1_000_000, 999_999_999);
    const tag = () =>
      Array.from(
        { length: 6 },
        () => "abcdefghijklmnopqrstuvwxyz0123456789"[this.r.int(0, 35)],
      ).join("");
    const variants: (() => string | null)[] = [
      () => this.junk("invalid", 80),
      () => "",
      () => ":",
      () => "x".repeat(this.r.int(60, 70)),
      () => `2q:1:${tag()}:a:0`,
      () => `1q:${big()}:${tag()}:a:${this.r.int(0, 99)}`,
      () => `1q:${big()}:${tag()}:${this.r.pick(["b", "s", "p", "r"])}`,
      () => `1q:-1:${tag()}:a:0`,
      () => `1q:1:${tag()}:a:0:extra`,
      // The live question's nonce with a wrong machine tag, or an option that does not exist.
      () => (liveQ?.kind === "q" ? `1q:${liveQ.nonce}:${tag()}:a:0` : null),
      () => (liveQ?.kind === "q" ? `1q:${liveQ.nonce}:${liveQ.tag}:a:${this.r.int(20, 99)}` : null),
      () =>
        `1c:${this.r.pick(["c", "a"])}:${this.r.pick(["y", "n"])}:${this.r.pick(["0.9", "9.9", "1.0.1", "x"])}`,
      () => `1c:c:y:`,
      () => `1l:${this.r.pick(["de", "ar", "xx", "EN", "e", "eng"])}`,
      () => "1w:n",
      () => "1w:maybe",
      () =>
        `1x:${this.r.pick(["ses", "note", "zzz", "adm"])}:${big()}:${this.r.pick(["g", "n", "t", "all", "ok", "cl", "rd", "es", "ei", "v", "p", "c", "s", "x", "b"])}:${this.r.int(0, 99999)}`,
      () => `1x:ses:abc:cl`,
      () => `1x:ses`,
      () => `1x:note:${big()}`,
      () => `1x:${"a".repeat(13)}:1:2`,
    ];
    if (mode === "any")
      variants.push(() => (this.seen.length ? this.r.pick(this.seen).data : null));
    const data = this.r.pick(variants)();
    if (data === null) return null;
    const target = this.on(
      p.chat(),
      m && this.r.chance(0.8) ? m.messageId : this.r.int(1, 10_000_000),
    );
    return { update: callbackUpdate(p.user(), data, target), kind: "press-forged", actor };
  }

  private otherUpdate(actor: FuzzActor, mode: FuzzMode): FuzzCase {
    const user = actor.person.user();
    const chat = actor.person.chat();
    const id = newUpdateId();
    const pick = this.r.int(0, 6);
    const body: Record<string, unknown> =
      pick === 0
        ? {
            my_chat_member: {
              chat,
              from: user,
              date: 1,
              old_chat_member: { status: "member", user: BOT_INFO },
              new_chat_member: { status: "kicked", user: BOT_INFO, until_date: 0 },
            },
          }
        : pick === 1
          ? { inline_query: { id: `iq${id}`, from: user, query: this.junk(mode, 256), offset: "" } }
          : pick === 2
            ? { chosen_inline_result: { result_id: "r", from: user, query: "q" } }
            : pick === 3
              ? { poll_answer: { poll_id: "pl", user, option_ids: [0] } }
              : pick === 4
                ? {
                    message_reaction: {
                      chat,
                      message_id: 1,
                      user,
                      date: 1,
                      old_reaction: [],
                      new_reaction: [{ type: "emoji", emoji: "👍" }],
                    },
                  }
                : pick === 5
                  ? {
                      chat_join_request: {
                        chat: this.r.pick(this.o.chats),
                        from: user,
                        user_chat_id: user.id,
                        date: 1,
                      },
                    }
                  : {
                      my_chat_member: {
                        chat,
                        from: user,
                        date: 1,
                        old_chat_member: { status: "kicked", user: BOT_INFO, until_date: 0 },
                        new_chat_member: { status: "member", user: BOT_INFO },
                      },
                    };
    return {
      update: { update_id: id, ...body } as unknown as Update,
      kind: `other:${Object.keys(body)[0]}`,
      actor,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// State snapshots

/**
 * The research data, everything that grants access, the audit trail and the scheduler's jobs, as
 * one comparable string: invalid input must leave it exactly as it was. Not in it: conversation
 * positions, processed update ids, the failed-invite-attempt counter (wrong codes move it on
 * purpose) and the audit events of exports (a read that is audited).
 */
export async function researchSnapshot(db: Db): Promise<string> {
  const [
    participants,
    accounts,
    invites,
    consents,
    responseSets,
    answers,
    groups,
    facilitators,
    sessions,
    attendance,
    observations,
    reflections,
    notes,
    nicknames,
    audit,
    jobs,
  ] = await Promise.all([
    db.participant.findMany({ orderBy: { id: "asc" } }),
    db.account.findMany({ orderBy: { id: "asc" } }),
    db.invite.findMany({ orderBy: { id: "asc" } }),
    db.consent.findMany({ orderBy: { id: "asc" } }),
    db.responseSet.findMany({ orderBy: { id: "asc" } }),
    db.answer.findMany({ orderBy: { id: "asc" } }),
    db.group.findMany({ orderBy: { id: "asc" } }),
    db.groupFacilitator.findMany({ orderBy: [{ groupId: "asc" }, { accountId: "asc" }] }),
    db.groupSession.findMany({ orderBy: { id: "asc" } }),
    db.attendance.findMany({ orderBy: { id: "asc" } }),
    db.observation.findMany({ orderBy: { id: "asc" } }),
    db.reflection.findMany({ orderBy: { id: "asc" } }),
    db.note.findMany({ orderBy: { id: "asc" } }),
    db.nickname.findMany({ orderBy: { id: "asc" } }),
    db.auditEvent.findMany({ where: { action: { not: "export" } }, orderBy: { seq: "asc" } }),
    db.job.findMany({ orderBy: { id: "asc" } }),
  ]);
  return JSON.stringify(
    {
      participants,
      accounts,
      invites,
      consents,
      responseSets,
      answers,
      groups,
      facilitators,
      sessions,
      attendance,
      observations,
      reflections,
      notes,
      nicknames,
      audit,
      jobs,
    },
    (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
    1,
  );
}

// The sandbox: a local Telegram Bot API for the demo, `npm run chat` and end-to-end tests.
//
//   const sandbox = await startSandbox({ token: "123456:TEST" });
//   const bot = new Bot(sandbox.token, { client: { apiRoot: sandbox.apiRoot } });
//   const ada = sandbox.createUser({ firstName: "Ada" });
//   ada.sendText("/start");
//   const reply = await ada.waitForBotMessage();
//   ada.press(reply, "Yes");
//   ...
//   expect(sandbox.rejections).toEqual([]);
//   await sandbox.stop();
import type { BotCommand, BotCommandScope, Chat, Update } from "grammy/types";
import { commandScopeKey, METHODS } from "./methods.js";
import { Params } from "./params.js";
import { listen } from "./server.js";
import {
  SandboxState,
  type CallRecord,
  type Fault,
  type Rejection,
  type StoredMessage,
} from "./state.js";
import type { UpdatePartial } from "./updates.js";
import { blockUser, ScriptedUser, unblockUser } from "./user.js";

export { ScriptedUser, commandEntities } from "./user.js";
export type { ChatEntry, PressedButton, ButtonMatcher } from "./user.js";
export type {
  CallRecord,
  Fault,
  Rejection,
  SandboxEvent,
  CallbackAnswer,
  SandboxState,
} from "./state.js";
export type { UpdatePartial } from "./updates.js";
export { parseHtml, escapeHtml } from "./html.js";

export interface SandboxOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Any "<digits>:<secret>" token; the digits become the bot's user id. */
  token?: string;
  botUsername?: string;
  botName?: string;
  /** Reject a bare "&" in HTML (Telegram tolerates it; the docs do not). Default true. */
  strictHtml?: boolean;
  /** update_id of the first update. */
  firstUpdateId?: number;
  /** First webhook retry delay; doubles per failure up to webhookMaxRetryMs. */
  webhookRetryMs?: number;
  webhookMaxRetryMs?: number;
  webhookTimeoutMs?: number;
  /**
   * Webhook deliveries in flight at once (never more than the webhook's max_connections); one
   * chat's updates still go one at a time, in order. Default 1: strictly one after the other.
   */
  webhookConnections?: number;
}

export interface CreateUserOptions {
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  id?: number;
}

export interface Sandbox {
  /** Pass as `client.apiRoot` to grammY. */
  apiRoot: string;
  port: number;
  token: string;
  /** Internal state, for assertions the helpers below do not cover. */
  state: SandboxState;
  /** Every call the bot made: method, parameters (files as name and size), outcome. */
  calls: CallRecord[];
  /** Every call answered with an error; injected ones are marked. */
  rejections: Rejection[];
  createUser(options: CreateUserOptions): ScriptedUser;
  /** A group, supergroup or channel the bot is in; drive it with pushUpdate. */
  createChat(options: {
    type: "group" | "supergroup" | "channel";
    title: string;
    username?: string;
  }): Chat;
  /** Queues a raw update (update_id assigned; message ids and dates filled in, chats registered). */
  pushUpdate(update: UpdatePartial): Update | undefined;
  /** The next `count` calls of `method` ("*" for any) fail with this fault. */
  failNext(method: string, fault: Fault, count?: number): void;
  block(userId: number, options?: { notify?: boolean }): void;
  unblock(userId: number, options?: { notify?: boolean }): void;
  /** Commands set for a scope and language (exact match, like getMyCommands). */
  botCommands(scope?: BotCommandScope, languageCode?: string): BotCommand[];
  /** Runs a Bot API method in-process as if the bot had called it (e.g. for a webhook reply). */
  invoke(method: string, params: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const token = options.token ?? "123456789:SANDBOX-TOKEN";
  const host = options.host ?? "127.0.0.1";

  const invoke = async (method: string, params: Record<string, unknown>): Promise<unknown> => {
    const handler = METHODS.get(method.toLowerCase());
    if (!handler) throw new Error(`unknown method ${method}`);
    const input = new Params(params);
    state.calls.push({ method, params: input.forLog(), at: new Date() });
    try {
      return await handler({ state, params: input, signal: new AbortController().signal });
    } catch (error) {
      const e = error as { code?: number; description?: string };
      if (e.code !== undefined && e.description !== undefined) {
        state.recordRejection({
          method,
          code: e.code,
          description: e.description,
          params: input.forLog(),
          injected: false,
        });
      }
      throw error;
    }
  };

  const state: SandboxState = new SandboxState({
    token,
    botUsername: options.botUsername ?? "circle_sandbox_bot",
    botName: options.botName ?? "Circle (sandbox)",
    strictHtml: options.strictHtml ?? true,
    queue: {
      firstUpdateId: options.firstUpdateId ?? 100_000_001,
      webhookRetryMs: options.webhookRetryMs ?? 200,
      webhookMaxRetryMs: options.webhookMaxRetryMs ?? 5_000,
      webhookTimeoutMs: options.webhookTimeoutMs ?? 10_000,
      webhookConnections: options.webhookConnections ?? 1,
    },
    onWebhookReply: async (method, params) => {
      await invoke(method, params);
    },
  });

  const handle = await listen(state, options.port ?? 0, host);

  return {
    apiRoot: `http://${host}:${handle.port}`,
    port: handle.port,
    token,
    state,
    calls: state.calls,
    rejections: state.rejections,
    createUser: (o) => {
      const { user } = state.addUser({
        ...(o.id !== undefined ? { id: o.id } : {}),
        first_name: o.firstName,
        ...(o.lastName ? { last_name: o.lastName } : {}),
        ...(o.username ? { username: o.username } : {}),
        ...(o.languageCode ? { language_code: o.languageCode } : {}),
      });
      return new ScriptedUser(state, user);
    },
    createChat: (o) => state.addChat(o.type, o.title, o.username).chat,
    pushUpdate: (update) => pushUpdate(state, update),
    failNext: (method, fault, count = 1) => state.addFault(method, fault, count),
    block: (userId, o) => blockUser(state, userId, o?.notify ?? true),
    unblock: (userId, o) => unblockUser(state, userId, o?.notify ?? true),
    botCommands: (scope = { type: "default" }, languageCode = "") =>
      state.commands.get(
        commandScopeKey(scope as unknown as Record<string, unknown>, languageCode),
      ) ?? [],
    invoke,
    stop: () => handle.close(),
  };
}

const MESSAGE_KINDS = ["message", "edited_message", "channel_post", "edited_channel_post"] as const;

/**
 * Queues a raw update. Messages are completed (message_id, date) and stored in their chat, and
 * chats and users are registered, so the bot can answer, edit or delete as with real traffic.
 */
function pushUpdate(state: SandboxState, update: UpdatePartial): Update | undefined {
  const copy = { ...update } as Record<string, unknown>;
  for (const kind of MESSAGE_KINDS) {
    const message = copy[kind] as (Record<string, unknown> & { chat?: Chat }) | undefined;
    if (!message) continue;
    if (!message.chat) throw new Error(`${kind} needs a chat`);
    const record = state.ensureChat(message.chat);
    const from = message.from as { id: number; is_bot: boolean; first_name: string } | undefined;
    if (from && !from.is_bot && !state.users.has(from.id)) state.users.set(from.id, from);
    if (record.chat.type === "private") record.started = true;
    const edited = kind.startsWith("edited_");
    const existing: StoredMessage | undefined =
      typeof message.message_id === "number" ? record.messages.get(message.message_id) : undefined;
    if (edited && existing) {
      const next = {
        ...existing.message,
        ...message,
        edit_date: (message.edit_date as number) ?? state.now(),
      };
      state.editMessage(existing, next as never);
      copy[kind] = next;
    } else {
      const stored = state.storeMessage(record, message as never, false);
      copy[kind] = edited ? { ...stored.message, edit_date: state.now() } : stored.message;
    }
    const messageId = (copy[kind] as { message_id: number }).message_id;
    state.emit({ kind: "userMessage", chatId: record.chat.id, messageId });
  }
  const query = update.callback_query;
  if (query && query.message && !state.callbackQueries.has(query.id)) {
    // Registered so the bot can answer it, like a press by a scripted user.
    state.callbackQueries.set(query.id, {
      id: query.id,
      chatId: query.message.chat.id,
      messageId: query.message.message_id,
      userId: query.from.id,
      ...(query.data !== undefined ? { data: query.data } : {}),
      buttonText: query.data ?? "",
      seq: state.nextSeq(),
    });
  }
  return state.updates.push(copy as UpdatePartial);
}

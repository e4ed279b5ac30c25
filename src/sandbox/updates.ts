// The update queue, with the two ways a bot receives it.
//
// getUpdates follows the Bot API server (tdlib/telegram-bot-api, Client::do_get_updates):
// an offset confirms, i.e. forgets, every update with a smaller id; a negative offset keeps only
// the last -offset updates; limit is clamped to 1..100 and timeout to 0..50 s. With nothing to
// return and a timeout, the request waits and is answered as soon as an update arrives. A second
// long poll ends the waiting one with 409 "terminated by other getUpdates request".
//
// A webhook gets one update per POST, in order, with the X-Telegram-Bot-Api-Secret-Token header;
// an update stays queued until the endpoint answers 2xx, and failed deliveries are retried with
// a growing delay. Telegram delivers on up to max_connections connections; the sandbox uses one
// unless started with `webhookConnections` (then up to that many, never two of one chat at once:
// a chat's updates keep their order).
import type { Update } from "grammy/types";
import { errors } from "./errors.js";
import type { SandboxEvent } from "./state.js";

export type UpdatePartial = Omit<Update, "update_id">;

const ALL_UPDATE_TYPES = [
  "message",
  "edited_message",
  "channel_post",
  "edited_channel_post",
  "business_connection",
  "business_message",
  "edited_business_message",
  "deleted_business_messages",
  "message_reaction",
  "message_reaction_count",
  "inline_query",
  "chosen_inline_result",
  "callback_query",
  "shipping_query",
  "pre_checkout_query",
  "purchased_paid_media",
  "poll",
  "poll_answer",
  "my_chat_member",
  "chat_member",
  "chat_join_request",
  "chat_boost",
  "removed_chat_boost",
];
const NOT_BY_DEFAULT = new Set(["chat_member", "message_reaction", "message_reaction_count"]);
const DEFAULT_ALLOWED = new Set(ALL_UPDATE_TYPES.filter((type) => !NOT_BY_DEFAULT.has(type)));

const MAX_LIMIT = 100;
const MAX_TIMEOUT_SECONDS = 50;

export interface UpdateQueueOptions {
  firstUpdateId: number;
  webhookRetryMs: number;
  webhookMaxRetryMs: number;
  webhookTimeoutMs: number;
  /** Deliveries in flight at once (capped by the webhook's max_connections). */
  webhookConnections: number;
  onChange(event: SandboxEvent): void;
  /** A webhook answered with a method call in its body (a "webhook reply"). */
  onWebhookReply(method: string, params: Record<string, unknown>): Promise<void>;
}

export interface WebhookSettings {
  url: string;
  secretToken?: string;
  maxConnections: number;
}

interface Webhook extends WebhookSettings {
  generation: number;
  /** Updates being delivered now, with the chat each belongs to. */
  inFlight: Map<number, string>;
  retryTimer?: NodeJS.Timeout;
  failures: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

interface Poll {
  limit: number;
  settle(result: Update[] | Error): void;
  timer: NodeJS.Timeout;
  wakeScheduled: boolean;
}

export class UpdateQueue {
  private pending: Update[] = [];
  private nextId: number;
  private allowed: Set<string> = DEFAULT_ALLOWED;
  private allowedExplicit?: string[];
  private poll?: Poll;
  private webhook?: Webhook;
  private generation = 0;
  private stopped = false;

  constructor(private readonly options: UpdateQueueOptions) {
    this.nextId = options.firstUpdateId;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Queues an update unless its type is filtered out by allowed_updates (then: undefined). */
  push(partial: UpdatePartial): Update | undefined {
    const type = Object.keys(partial).find((key) => key !== "update_id");
    if (type === undefined) throw new Error("an update needs a payload, e.g. { message: {...} }");
    if (ALL_UPDATE_TYPES.includes(type) && !this.allowed.has(type)) return undefined;
    const update = { ...partial, update_id: this.nextId++ } as Update;
    this.pending.push(update);
    this.options.onChange({ kind: "update", updateId: update.update_id });
    if (this.webhook) this.kickWebhook();
    else this.wakePoll();
    return update;
  }

  /** allowed_updates: absent keeps the previous setting; [] or nothing valid means the default. */
  setAllowedUpdates(value: unknown): void {
    if (value === undefined) return;
    const names = Array.isArray(value)
      ? value.filter((v): v is string => typeof v === "string").map((v) => v.toLowerCase())
      : [];
    const valid = names.filter((name) => ALL_UPDATE_TYPES.includes(name));
    this.allowed = valid.length > 0 ? new Set(valid) : DEFAULT_ALLOWED;
    this.allowedExplicit = valid.length > 0 ? valid : undefined;
  }

  async getUpdates(
    args: { offset: number; limit: number; timeout: number; allowedUpdates?: unknown },
    signal: AbortSignal,
  ): Promise<Update[]> {
    if (this.webhook) throw errors.webhookActive();
    this.setAllowedUpdates(args.allowedUpdates);
    const limit = Math.min(Math.max(args.limit, 1), MAX_LIMIT);
    const timeout = Math.min(Math.max(args.timeout, 0), MAX_TIMEOUT_SECONDS);
    this.confirm(args.offset);
    const ready = this.pending.slice(0, limit);
    if (ready.length > 0 || timeout === 0 || this.stopped) return ready;

    this.endPoll(errors.otherGetUpdates());
    return new Promise<Update[]>((resolve, reject) => {
      const poll: Poll = {
        limit,
        wakeScheduled: false,
        timer: setTimeout(() => poll.settle([]), timeout * 1000),
        settle: (result) => {
          if (this.poll !== poll) return;
          this.poll = undefined;
          clearTimeout(poll.timer);
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      };
      this.poll = poll;
      // The client gave up (aborted fetch, closed socket): forget the poll without a conflict.
      signal.addEventListener("abort", () => poll.settle([]), { once: true });
    });
  }

  /** Forgets confirmed updates: ids below a positive offset; all but the last -offset. */
  private confirm(offset: number): void {
    if (offset > 0) {
      this.pending = this.pending.filter((update) => update.update_id >= offset);
    } else if (offset < 0) {
      const from = this.nextId + offset;
      this.pending = this.pending.filter((update) => update.update_id >= from);
    }
  }

  private wakePoll(): void {
    const poll = this.poll;
    if (!poll || poll.wakeScheduled) return;
    poll.wakeScheduled = true;
    // Like the Bot API, answer a moment later so updates pushed together arrive together.
    setImmediate(() => poll.settle(this.pending.slice(0, poll.limit)));
  }

  private endPoll(error: Error): void {
    this.poll?.settle(error);
  }

  setWebhook(
    settings: WebhookSettings,
    options: { dropPendingUpdates: boolean },
  ): "Webhook was set" | "Webhook is already set" {
    const current = this.webhook;
    if (
      current &&
      current.url === settings.url &&
      current.secretToken === settings.secretToken &&
      current.maxConnections === settings.maxConnections &&
      !options.dropPendingUpdates
    ) {
      return "Webhook is already set";
    }
    this.endPoll(errors.terminatedBySetWebhook());
    this.closeWebhook();
    if (options.dropPendingUpdates) this.pending = [];
    this.webhook = {
      ...settings,
      generation: ++this.generation,
      inFlight: new Map(),
      failures: 0,
    };
    this.kickWebhook();
    return "Webhook was set";
  }

  deleteWebhook(options: {
    dropPendingUpdates: boolean;
  }): "Webhook was deleted" | "Webhook is already deleted" {
    const had = this.webhook !== undefined;
    this.closeWebhook();
    if (options.dropPendingUpdates) this.pending = [];
    return had ? "Webhook was deleted" : "Webhook is already deleted";
  }

  webhookInfo(): Record<string, unknown> {
    const hook = this.webhook;
    if (!hook) {
      return { url: "", has_custom_certificate: false, pending_update_count: this.pending.length };
    }
    return {
      url: hook.url,
      has_custom_certificate: false,
      pending_update_count: this.pending.length,
      ip_address: "127.0.0.1",
      max_connections: hook.maxConnections,
      ...(hook.lastErrorDate !== undefined
        ? { last_error_date: hook.lastErrorDate, last_error_message: hook.lastErrorMessage }
        : {}),
      ...(this.allowedExplicit ? { allowed_updates: this.allowedExplicit } : {}),
    };
  }

  stop(): void {
    this.stopped = true;
    this.poll?.settle([]);
    this.closeWebhook();
  }

  private closeWebhook(): void {
    if (this.webhook?.retryTimer) clearTimeout(this.webhook.retryTimer);
    this.webhook = undefined;
  }

  private kickWebhook(): void {
    const hook = this.webhook;
    if (!hook || this.stopped || hook.retryTimer) return;
    const connections = Math.min(this.options.webhookConnections, hook.maxConnections);
    const busy = new Set(hook.inFlight.values());
    for (const update of this.pending) {
      if (hook.inFlight.size >= connections) return;
      if (hook.inFlight.has(update.update_id)) continue;
      const chat = chatOf(update);
      // A chat's later update waits for its earlier one (whether that is in flight or waiting).
      if (busy.has(chat)) continue;
      busy.add(chat);
      hook.inFlight.set(update.update_id, chat);
      void this.deliver(hook, update);
    }
  }

  private async deliver(hook: Webhook, update: Update): Promise<void> {
    let failure: string | undefined;
    let reply: unknown;
    try {
      const response = await fetch(hook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(hook.secretToken ? { "X-Telegram-Bot-Api-Secret-Token": hook.secretToken } : {}),
        },
        body: JSON.stringify(update),
        signal: AbortSignal.timeout(this.options.webhookTimeoutMs),
      });
      const body = await response.text();
      if (response.ok) {
        if ((response.headers.get("content-type") ?? "").includes("json")) reply = parseJson(body);
      } else {
        failure = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
      }
    } catch (error) {
      failure = describeFetchError(error);
    }
    hook.inFlight.delete(update.update_id);
    if (failure && (this.webhook !== hook || this.stopped)) {
      // Replaced or deleted meanwhile: the update stays queued for whoever reads next.
      this.kickWebhook();
      return;
    }
    if (failure) {
      hook.failures++;
      hook.lastErrorDate = Math.floor(Date.now() / 1000);
      hook.lastErrorMessage = failure;
      this.options.onChange({ kind: "webhookError", message: failure });
      const delay = Math.min(
        this.options.webhookRetryMs * 2 ** (hook.failures - 1),
        this.options.webhookMaxRetryMs,
      );
      if (!hook.retryTimer)
        hook.retryTimer = setTimeout(() => {
          hook.retryTimer = undefined;
          this.kickWebhook();
        }, delay);
      return;
    }
    hook.failures = 0;
    this.pending = this.pending.filter((queued) => queued.update_id !== update.update_id);
    this.options.onChange({ kind: "webhookDelivered", updateId: update.update_id });
    if (isMethodCall(reply)) {
      const { method, ...params } = reply;
      await this.options.onWebhookReply(method, params).catch(() => undefined);
    }
    this.kickWebhook();
  }
}

/** The chat an update belongs to (its sender's id for chat-less updates). */
function chatOf(update: Update): string {
  const u = update as unknown as Record<
    string,
    | { chat?: { id: number }; from?: { id: number }; message?: { chat?: { id: number } } }
    | undefined
  >;
  for (const payload of Object.values(u)) {
    if (!payload || typeof payload !== "object") continue;
    const id = payload.chat?.id ?? payload.message?.chat?.id ?? payload.from?.id;
    if (id !== undefined) return String(id);
  }
  return `update:${update.update_id}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isMethodCall(value: unknown): value is { method: string } & Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { method?: unknown }).method === "string"
  );
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code === "ECONNREFUSED") return "Connection refused";
  if ((error as { name?: string }).name === "TimeoutError") return "Read timeout expired";
  return `Failed to deliver: ${error instanceof Error ? error.message : String(error)}`;
}

// Webhook mode (WEBHOOK_URL set): an HTTP server that Telegram posts updates to, and /healthz.
//
// Telegram keeps an update and redelivers it until the endpoint answers 2xx, so the answer is the
// acknowledgement: a request is answered 200 only once the update's effects have committed. That
// is why grammY's `webhookCallback` is not used here: it answers 401 (not 403) to a wrong secret;
// on its timeout (10 s by default) it either fails the request while the handler keeps running
// ("throw") or answers 200 before the handler has finished ("return"); and it answers 200 to an
// update whose handler failed, because Circle's error boundary (createBot) catches the error to
// tell the user. Instead, after `bot.handleUpdate` the update id is looked up in the processed-
// update table: every handler records it in the same transaction as its effects (or right after,
// see middleware/exactly-once.ts), so "recorded" means "committed". Not recorded means the update
// failed and was rolled back: the answer is 500 and Telegram redelivers it; a redelivered update
// that had committed after all is recognised by that same table and not applied twice. Webhook
// replies (a method call in the response body) stay off (grammY's default), since they would be
// sent before the effects commit.
//
// GET /healthz (no secret): {ok, database, migrations, pendingMigrations, queue}, 200 when the
// database is reachable and its migrations current, 503 otherwise and while stopping.
//
// Stopping (server.close(), as main.ts does on SIGTERM) is graceful: new deliveries get 503
// (Telegram retries them later), updates in flight finish and are answered, then it closes.
import { timingSafeEqual, createHash } from "node:crypto";
import { Server, type IncomingMessage, type ServerResponse } from "node:http";
import type { Bot } from "grammy";
import type { Update } from "grammy/types";
import type { Config } from "../config/env.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../log.js";
import { checkHealth } from "../store/health.js";
import { wasProcessed } from "../store/updates.js";
import { withChatLock } from "../store/chat-lock.js";
import { errMessage } from "./services.js";
import type { CircleContext } from "./context.js";

export const WEBHOOK_UPDATES: Exclude<keyof Update, "update_id">[] = [
  "message",
  "callback_query",
  "edited_message",
  "my_chat_member",
];
export const HEALTH_PATH = "/healthz";
const SECRET_HEADER = "x-telegram-bot-api-secret-token";
/** Telegram's updates are a few kB; anything much larger is not from Telegram. */
const MAX_BODY_BYTES = 1 << 20;
/**
 * Failed attempts at one update (in this process) before it is acknowledged anyway: a handler
 * that fails every time (a bug, not a busy database) would otherwise be redelivered for ever and
 * hold up that chat. The user was told each time (error boundary) and the failure is logged.
 */
export const MAX_ATTEMPTS = 5;
/** How long a graceful stop waits for updates in flight before it closes their connections. */
const DRAIN_MS = 30_000;

export interface WebhookOptions {
  bot: Bot<CircleContext>;
  db: Db;
  config: Pick<Config, "WEBHOOK_URL" | "WEBHOOK_SECRET" | "WEBHOOK_PORT">;
  logger: Logger;
  now?: () => Date;
  /** Register the webhook with Telegram after listening (default true). */
  register?: boolean;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Constant-time comparison (of digests, so the lengths always match). */
function secretMatches(header: string | string[] | undefined, secret: string): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return false;
  return timingSafeEqual(digest(value), digest(secret));
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}

function isUpdate(v: unknown): v is Update {
  return (
    typeof v === "object" &&
    v !== null &&
    Number.isSafeInteger((v as { update_id?: unknown }).update_id)
  );
}

/** The chat an update belongs to (the user's for updates without a chat), as sequentialize keys it. */
export function chatKeyOf(update: Update): string | null {
  const chat =
    update.message?.chat ??
    update.edited_message?.chat ??
    update.callback_query?.message?.chat ??
    update.my_chat_member?.chat;
  const id = chat?.id ?? update.callback_query?.from.id ?? update.message?.from?.id;
  return id === undefined ? null : String(id);
}

function send(res: ServerResponse, status: number, body?: unknown, headers = {}): void {
  if (res.headersSent) return;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res
    .writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    })
    .end(JSON.stringify(body));
}

/** An http.Server whose close() drains: see the header comment. */
export class WebhookServer extends Server {
  stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private drained: Promise<void> | undefined;

  track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Resolves once every update in flight has been answered. */
  drain(): Promise<void> {
    this.drained ??= (async () => {
      const deadline = Date.now() + DRAIN_MS;
      while (this.inFlight.size > 0 && Date.now() < deadline) {
        await Promise.race([
          Promise.allSettled([...this.inFlight]),
          new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()))),
        ]);
      }
    })();
    return this.drained;
  }

  override close(callback?: (err?: Error) => void): this {
    this.stopping = true;
    // Stop accepting connections now; keep-alive connections still get an answer (503).
    super.close(callback);
    void this.drain().then(() => this.closeAllConnections());
    return this;
  }
}

/** Listens on WEBHOOK_PORT and registers WEBHOOK_URL with Telegram. */
export async function startWebhook(opts: WebhookOptions): Promise<WebhookServer> {
  const { bot, db, config, logger } = opts;
  const secret = config.WEBHOOK_SECRET;
  if (!config.WEBHOOK_URL || !secret)
    throw new Error("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET");
  const now = opts.now ?? (() => new Date());
  const attempts = new Map<number, number>();

  const health = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, { ok: false, error: "method not allowed" }, { allow: "GET, HEAD" });
      return;
    }
    const h = await checkHealth(db, now());
    if (h.error) logger.warn({ err: h.error }, "healthz: database unreachable");
    const { error: _error, ...report } = h;
    const body = { ...report, ok: h.ok && !server.stopping, stopping: server.stopping };
    send(res, body.ok ? 200 : 503, body);
  };

  const deliver = async (req: IncomingMessage, res: ServerResponse) => {
    // The secret first: without it nothing, not even whether the method is right, is revealed.
    if (!secretMatches(req.headers[SECRET_HEADER], secret)) {
      send(res, 403, { ok: false, error: "forbidden" });
      return;
    }
    if (req.method !== "POST") {
      send(res, 405, { ok: false, error: "method not allowed" }, { allow: "POST" });
      return;
    }
    if (server.stopping) {
      // Telegram keeps the update and delivers it again (to the restarted bot).
      send(res, 503, { ok: false, error: "stopping" }, { connection: "close" });
      return;
    }
    let update: unknown;
    try {
      update = JSON.parse(await readBody(req));
    } catch (e) {
      if (e instanceof BodyTooLarge) send(res, 413, { ok: false, error: "too large" });
      else send(res, 400, { ok: false, error: "not a JSON update" });
      return;
    }
    if (!isUpdate(update)) {
      send(res, 400, { ok: false, error: "not a Telegram update" });
      return;
    }
    const id = update.update_id;
    try {
      // Another instance may be handling an update of the same chat: one at a time (chat-lock.ts).
      await withChatLock(db, chatKeyOf(update), () => bot.handleUpdate(update as Update));
    } catch (e) {
      // Circle's error boundary catches handler errors; this is what escapes it.
      logger.error({ updateId: id, err: errMessage(e) }, "webhook update failed");
    }
    let committed: boolean;
    try {
      committed = await wasProcessed(db, id);
    } catch (e) {
      logger.error(
        { updateId: id, err: errMessage(e) },
        "webhook: cannot read the processed-update table",
      );
      send(res, 500);
      return;
    }
    if (committed) {
      attempts.delete(id);
      send(res, 200);
      return;
    }
    const n = (attempts.get(id) ?? 0) + 1;
    if (n >= MAX_ATTEMPTS) {
      attempts.delete(id);
      logger.error(
        { updateId: id, attempts: n },
        "webhook update failed every time; acknowledged without effect",
      );
      send(res, 200);
      return;
    }
    // Another instance may have taken the redelivery: forget old failures rather than grow.
    if (attempts.size > 10_000) attempts.clear();
    attempts.set(id, n);
    logger.warn(
      { updateId: id, attempt: n },
      "webhook update not committed; Telegram will redeliver it",
    );
    send(res, 500);
  };

  const server = new WebhookServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const work = (path === HEALTH_PATH ? health(req, res) : deliver(req, res)).catch(
      (e: unknown) => {
        logger.error({ err: errMessage(e) }, "webhook request failed");
        send(res, 500);
      },
    );
    // Drained once the answer is flushed (or the client gave up), not merely written.
    server.track(
      work.then(
        () =>
          new Promise<void>((done) => {
            if (res.writableFinished || res.destroyed) done();
            else res.once("close", () => done());
          }),
      ),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.WEBHOOK_PORT, () => {
      server.off("error", reject);
      resolve();
    });
  });
  if (opts.register !== false) {
    await bot.api.setWebhook(config.WEBHOOK_URL, {
      secret_token: secret,
      allowed_updates: WEBHOOK_UPDATES,
    });
  }
  logger.info({ port: config.WEBHOOK_PORT, health: HEALTH_PATH }, "webhook server listening");
  return server;
}

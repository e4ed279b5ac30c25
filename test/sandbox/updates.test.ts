// getUpdates (offset, limit, long-poll timeout, 409 conflicts) and webhook delivery.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { Update } from "grammy/types";
import { afterEach, describe, expect, it } from "vitest";
import { call, nextCall, sandbox } from "./helpers.js";

const ids = (result: unknown) => (result as Update[]).map((u) => u.update_id);

describe("getUpdates", () => {
  it("honours offset (confirming earlier updates) and limit", async () => {
    const box = await sandbox({ firstUpdateId: 500 });
    const ada = box.createUser({ firstName: "Ada" });
    for (const text of ["one", "two", "three", "four"]) ada.sendText(text);

    const all = await call(box, "getUpdates", {});
    expect(ids(all.body.result)).toEqual([500, 501, 502, 503]);
    expect((all.body.result as Update[])[0]?.message?.text).toBe("one");

    const limited = await call(box, "getUpdates", { limit: 2 });
    expect(ids(limited.body.result)).toEqual([500, 501]);

    // offset 502 confirms 500 and 501: they are gone for good.
    const later = await call(box, "getUpdates", { offset: 502 });
    expect(ids(later.body.result)).toEqual([502, 503]);
    const again = await call(box, "getUpdates", { offset: 0 });
    expect(ids(again.body.result)).toEqual([502, 503]);

    // A limit outside 1..100 is clamped, like the Bot API does.
    expect(ids((await call(box, "getUpdates", { limit: 0 })).body.result)).toEqual([502]);

    // A negative offset keeps only the last -offset updates.
    expect(ids((await call(box, "getUpdates", { offset: -1 })).body.result)).toEqual([503]);
    expect(ids((await call(box, "getUpdates", {})).body.result)).toEqual([503]);
  });

  it("a long poll returns as soon as an update arrives", async () => {
    const box = await sandbox();
    const ada = box.createUser({ firstName: "Ada" });
    const polled = nextCall(box, "getUpdates");
    const poll = call(box, "getUpdates", { timeout: 30 });
    await polled;
    ada.sendText("hello");
    const reply = await poll;
    expect(reply.body.ok).toBe(true);
    expect((reply.body.result as Update[]).map((u) => u.message?.text)).toEqual(["hello"]);
  });

  it("a long poll returns [] after its timeout", async () => {
    const box = await sandbox();
    let settled = false;
    const polled = nextCall(box, "getUpdates");
    const poll = call(box, "getUpdates", { timeout: 1 }).finally(() => (settled = true));
    await polled;
    // A timeout-0 call answers at once and leaves the waiting poll alone.
    expect((await call(box, "getUpdates", { timeout: 0 })).body).toEqual({ ok: true, result: [] });
    expect(settled).toBe(false);
    expect((await poll).body).toEqual({ ok: true, result: [] });
    expect(box.rejections).toEqual([]);
  });

  it("a second long poll terminates the first with 409 Conflict", async () => {
    const box = await sandbox();
    const ada = box.createUser({ firstName: "Ada" });
    const polled = nextCall(box, "getUpdates");
    const first = call(box, "getUpdates", { timeout: 30 });
    await polled;
    const second = call(box, "getUpdates", { timeout: 30 });
    const conflict = await first;
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({
      ok: false,
      error_code: 409,
      description:
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    });
    ada.sendText("for the survivor");
    const survivor = await second;
    expect((survivor.body.result as Update[])[0]?.message?.text).toBe("for the survivor");
    expect(box.rejections.map((r) => [r.method, r.code])).toEqual([["getUpdates", 409]]);
  });

  it("a client that gives up on a long poll causes no conflict", async () => {
    const box = await sandbox();
    const abort = new AbortController();
    const polled = nextCall(box, "getUpdates");
    const gone = fetch(`${box.apiRoot}/bot${box.token}/getUpdates?timeout=30`, {
      signal: abort.signal,
    }).catch(() => "aborted");
    await polled;
    abort.abort();
    expect(await gone).toBe("aborted");
    const polledAgain = nextCall(box, "getUpdates");
    const next = call(box, "getUpdates", { timeout: 30 });
    await polledAgain;
    box.createUser({ firstName: "Ada" }).sendText("hi");
    expect((await next).status).toBe(200);
    expect(box.rejections).toEqual([]);
  });

  it("filters update types by allowed_updates", async () => {
    const box = await sandbox();
    const ada = box.createUser({ firstName: "Ada" });
    await call(box, "getUpdates", { allowed_updates: ["callback_query"] });
    expect(ada.sendText("ignored")).toBeDefined();
    expect((await call(box, "getUpdates", {})).body.result).toEqual([]);
    await call(box, "getUpdates", { allowed_updates: [] }); // back to the default set
    ada.sendText("seen");
    expect(((await call(box, "getUpdates", {})).body.result as Update[])[0]?.message?.text).toBe(
      "seen",
    );
  });
});

describe("webhook", () => {
  const servers: { close(): void }[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  /** A webhook endpoint answering with the given statuses in turn (then 200). */
  async function endpoint(statuses: number[]) {
    const received: { headers: IncomingHttpHeaders; update: Update }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        received.push({ headers: req.headers, update: JSON.parse(body) as Update });
        res.writeHead(statuses.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push({ close: () => server.close() });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
  }

  it("delivers updates with the secret header and retries failures", async () => {
    const box = await sandbox({ webhookRetryMs: 20 });
    const hook = await endpoint([500, 502]);
    const set = await call(box, "setWebhook", { url: hook.url, secret_token: "s3cret_TOKEN-1" });
    expect(set.body).toEqual({ ok: true, result: true, description: "Webhook was set" });

    const ada = box.createUser({ firstName: "Ada" });
    ada.sendText("first");
    ada.sendText("second");
    await ada.waitUntil(() => hook.received.length >= 4);

    // The first update failed twice, was retried, then both arrived in order.
    expect(hook.received.map((r) => r.update.message?.text)).toEqual([
      "first",
      "first",
      "first",
      "second",
    ]);
    expect(
      hook.received.every((r) => r.headers["x-telegram-bot-api-secret-token"] === "s3cret_TOKEN-1"),
    ).toBe(true);
    await ada.waitUntil(() => box.state.updates.pendingCount === 0);

    const info = await call(box, "getWebhookInfo");
    expect(info.body.result).toMatchObject({
      url: hook.url,
      pending_update_count: 0,
      last_error_message: "Wrong response from the webhook: 502 Bad Gateway",
    });
  });

  it("refuses getUpdates while a webhook is set, and ends a waiting poll", async () => {
    const box = await sandbox();
    const hook = await endpoint([]);
    const polled = nextCall(box, "getUpdates");
    const waiting = call(box, "getUpdates", { timeout: 30 });
    await polled;
    await call(box, "setWebhook", { url: hook.url });
    expect((await waiting).body.description).toBe("Conflict: terminated by setWebhook request");
    const refused = await call(box, "getUpdates", {});
    expect(refused.status).toBe(409);
    expect(refused.body.description).toBe(
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
    const deleted = await call(box, "deleteWebhook", { drop_pending_updates: true });
    expect(deleted.body).toEqual({ ok: true, result: true, description: "Webhook was deleted" });
    expect((await call(box, "getUpdates", {})).body.result).toEqual([]);
  });

  it("keeps undelivered updates queued for getUpdates after deleteWebhook", async () => {
    const box = await sandbox({ webhookRetryMs: 5_000 });
    const hook = await endpoint([500]);
    await call(box, "setWebhook", { url: hook.url });
    const ada = box.createUser({ firstName: "Ada" });
    ada.sendText("stuck");
    await ada.waitUntil(() => hook.received.length === 1);
    await call(box, "deleteWebhook", {});
    const reply = await call(box, "getUpdates", {});
    expect((reply.body.result as Update[]).map((u) => u.message?.text)).toEqual(["stuck"]);
  });
});

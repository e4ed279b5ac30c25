// Webhook mode against the sandbox, which delivers like Telegram: one update per POST with the
// secret header, redelivered until it is answered 2xx.
//
// In process (the real createBot and webhook server): /healthz, the secret, an update that fails
// is answered 500 and redelivered, a redelivered update is not applied twice, a graceful stop.
// As a process (`node bin/start.mjs` with WEBHOOK_URL): /healthz, and parents answering through
// webhook deliveries while the bot is SIGKILLed and restarted: every acknowledged answer is
// stored exactly once.
import { Composer } from "grammy";
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox, type SandboxEvent } from "../../src/sandbox/index.js";
import { createBot } from "../../src/telegram/create-bot.js";
import type { CircleContext } from "../../src/telegram/context.js";
import { MAX_ATTEMPTS, startWebhook, type WebhookServer } from "../../src/telegram/webhook.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { createLogger } from "../../src/log.js";
import { shippedFlows, testConfig } from "../support/bot.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import {
  freePort,
  WEBHOOK_SECRET as SECRET,
  WebhookBotProcess,
} from "../support/webhook-process.js";
import { committedMigrations } from "../../src/db/status.js";
import { ChatHub, Family, Gate, familyJourney } from "../reliability/support/family.js";
import { checkFamilies, checkStore, storeSummary } from "../reliability/support/checks.js";
import { botText, seededRandom, sleep } from "../reliability/support/run.js";

let tmp: TempDb | undefined;
let sandbox: Sandbox | undefined;
let server: WebhookServer | undefined;
let proc: WebhookBotProcess | undefined;
afterEach(async () => {
  if (server?.listening) await new Promise((r) => server!.close(r));
  await proc?.stop();
  await sandbox?.stop();
  await tmp?.cleanup();
  server = undefined;
  proc = undefined;
  sandbox = undefined;
  tmp = undefined;
});

/** Resolves on the next sandbox event that matches. */
function nextEvent(
  sb: Sandbox,
  match: (e: SandboxEvent) => boolean,
  ms = 30_000,
): Promise<SandboxEvent> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      sb.state.events.off("change", on);
      fail(new Error(`no matching sandbox event within ${ms} ms`));
    }, ms);
    const on = (e: SandboxEvent) => {
      if (!match(e)) return;
      clearTimeout(timer);
      sb.state.events.off("change", on);
      done(e);
    };
    sb.state.events.on("change", on);
  });
}

const post = (port: number, body: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${port}/telegram`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

describe("webhook server (in process)", () => {
  /** The real bot, plus a test feature: /boom fails `failures` times, then commits a counter. */
  async function setup(failures: Record<string, number>) {
    tmp = await tempDatabase();
    sandbox = await startSandbox({
      token: "7100001:WEBHOOK",
      webhookRetryMs: 30,
      webhookMaxRetryMs: 120,
    });
    const port = await freePort();
    const config = testConfig(tmp.url);
    const attempts = new Map<string, number>();
    const boom = () => {
      const c = new Composer<CircleContext>();
      c.command(["boom", "always", "slow"], async (ctx) => {
        const cmd = ctx.message!.text!.slice(1);
        const n = (attempts.get(cmd) ?? 0) + 1;
        attempts.set(cmd, n);
        if (cmd === "slow") await sleep(400);
        if (n <= (failures[cmd] ?? 0)) throw new Error(`${cmd} fails (attempt ${n})`);
        await ctx.circle.s.db.$transaction(async (tx) => {
          const row = await tx.setting.findUnique({ where: { key: cmd } });
          await tx.setting.upsert({
            where: { key: cmd },
            create: { key: cmd, value: "1" },
            update: { value: String(Number(row?.value ?? 0) + 1) },
          });
          await ctx.circle.markProcessed(tx);
        });
      });
      return c;
    };
    const { bot } = createBot(
      { db: tmp.db, flows: shippedFlows(), config, logger: createLogger("silent") },
      { token: sandbox.token, apiRoot: sandbox.apiRoot, features: [boom] },
    );
    await bot.init();
    server = await startWebhook({
      bot,
      db: tmp.db,
      logger: createLogger("silent"),
      config: {
        WEBHOOK_URL: `http://127.0.0.1:${port}/telegram`,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_PORT: port,
      },
    });
    const applied = async (key: string) =>
      Number((await tmp!.db.setting.findUnique({ where: { key } }))?.value ?? 0);
    return {
      port,
      attempts,
      applied,
      user: sandbox.createUser({ firstName: "Ada", languageCode: "en" }),
    };
  }

  it("serves /healthz without a secret: database, migrations and the queue's due jobs", async () => {
    const { port } = await setup({});
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ok: true,
      database: "reachable",
      migrations: "current",
      pendingMigrations: [],
      queue: { due: 0, oldestDueAgeSeconds: null },
      stopping: false,
    });
    // Two due jobs, held by another (imaginary) instance so the scheduler leaves them alone.
    const now = Date.now();
    for (const ageS of [90, 3600])
      await tmp!.db.job.create({
        data: {
          kind: "test.held",
          dueAt: new Date(now - ageS * 1000),
          lockedUntil: new Date(now + 3_600_000),
        },
      });
    await tmp!.db.job.create({ data: { kind: "test.later", dueAt: new Date(now + 60_000) } });
    const body = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
      queue: { due: number; oldestDueAgeSeconds: number };
    };
    expect(body.queue.due).toBe(2);
    expect(body.queue.oldestDueAgeSeconds).toBeGreaterThanOrEqual(3600);
    expect(body.queue.oldestDueAgeSeconds).toBeLessThan(3610);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`, { method: "POST" })).status).toBe(405);

    // A database that lost a migration's record: "pending", and 503.
    const last = committedMigrations(tmp!.engine).at(-1)!;
    await tmp!.db.$executeRawUnsafe(
      `UPDATE "_prisma_migrations" SET rolled_back_at = finished_at WHERE migration_name = '${last}'`,
    );
    const pending = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(pending.status).toBe(503);
    expect(await pending.json()).toMatchObject({
      ok: false,
      migrations: "pending",
      pendingMigrations: [last],
    });
  });

  it("answers 403 without the right secret, whatever the method, and applies nothing", async () => {
    const { port, applied } = await setup({});
    const update = JSON.stringify({
      update_id: 1,
      message: {
        message_id: 1,
        date: 0,
        chat: { id: 5, type: "private", first_name: "X" },
        from: { id: 5, is_bot: false, first_name: "X" },
        text: "/boom",
        entities: [{ type: "bot_command", offset: 0, length: 5 }],
      },
    });
    expect((await post(port, update)).status).toBe(403);
    expect((await post(port, update, { "X-Telegram-Bot-Api-Secret-Token": "wrong" })).status).toBe(
      403,
    );
    expect(
      (await post(port, update, { "X-Telegram-Bot-Api-Secret-Token": `${SECRET}x` })).status,
    ).toBe(403);
    expect((await fetch(`http://127.0.0.1:${port}/telegram`)).status).toBe(403);
    expect(
      (
        await fetch(`http://127.0.0.1:${port}/telegram`, {
          headers: { "X-Telegram-Bot-Api-Secret-Token": SECRET },
        })
      ).status,
    ).toBe(405);
    expect(
      (await post(port, "{not json", { "X-Telegram-Bot-Api-Secret-Token": SECRET })).status,
    ).toBe(400);
    expect(
      (await post(port, `{"message":{}}`, { "X-Telegram-Bot-Api-Secret-Token": SECRET })).status,
    ).toBe(400);
    expect(await applied("boom")).toBe(0);
    expect(await tmp!.db.processedUpdate.count()).toBe(0);
  });

  it("answers 500 to an update that failed, so it is redelivered; applied once, even when posted again", async () => {
    const { port, attempts, applied, user } = await setup({ boom: 2 });
    const statuses: string[] = [];
    sandbox!.state.events.on("change", (e: SandboxEvent) => {
      if (e.kind === "webhookError") statuses.push(e.message);
    });
    const delivered = nextEvent(sandbox!, (e) => e.kind === "webhookDelivered");
    user.sendText("/boom");
    const event = (await delivered) as { updateId: number };
    expect(statuses).toEqual([
      "Wrong response from the webhook: 500 Internal Server Error",
      "Wrong response from the webhook: 500 Internal Server Error",
    ]);
    expect(attempts.get("boom")).toBe(3);
    expect(await applied("boom")).toBe(1);
    // The user was told each time it failed (the error boundary), and nothing else.
    expect(user.botMessages().map((m) => m.text)).toEqual([
      botText("error-generic"),
      botText("error-generic"),
    ]);

    // Telegram redelivers an update it did not hear the 200 for: it is recognised, not applied.
    const again = await post(
      port,
      JSON.stringify({
        update_id: event.updateId,
        message: {
          message_id: 99,
          date: 0,
          chat: user.chat,
          from: { id: user.id, is_bot: false, first_name: "Ada" },
          text: "/boom",
          entities: [{ type: "bot_command", offset: 0, length: 5 }],
        },
      }),
      { "X-Telegram-Bot-Api-Secret-Token": SECRET },
    );
    expect(again.status).toBe(200);
    expect(attempts.get("boom")).toBe(3);
    expect(await applied("boom")).toBe(1);
  });

  it(`acknowledges an update that fails every time after ${MAX_ATTEMPTS} attempts, so one bug cannot hold up a chat`, async () => {
    const { attempts, applied, user } = await setup({ always: 1000 });
    const errors: string[] = [];
    sandbox!.state.events.on("change", (e: SandboxEvent) => {
      if (e.kind === "webhookError") errors.push(e.message);
    });
    const delivered = nextEvent(sandbox!, (e) => e.kind === "webhookDelivered");
    user.sendText("/always");
    await delivered;
    expect(errors).toHaveLength(MAX_ATTEMPTS - 1);
    expect(attempts.get("always")).toBe(MAX_ATTEMPTS);
    expect(await applied("always")).toBe(0);
    // The next update of that chat goes through.
    const next = nextEvent(sandbox!, (e) => e.kind === "webhookDelivered");
    user.sendText("/boom");
    await next;
    expect(await applied("boom")).toBe(1);
  });

  it("stops gracefully: the update in flight commits and is answered 200, later deliveries wait", async () => {
    const { port, applied, user } = await setup({});
    const started = new Promise<void>((done) => {
      const on = (e: SandboxEvent) => {
        if (e.kind === "update") {
          sandbox!.state.events.off("change", on);
          setTimeout(done, 100); // the POST is in flight, the handler sleeping
        }
      };
      sandbox!.state.events.on("change", on);
    });
    const delivered = nextEvent(sandbox!, (e) => e.kind === "webhookDelivered");
    user.sendText("/slow");
    await started;
    let answeredAfterClose = false;
    let closing = false;
    void delivered.then(() => (answeredAfterClose = closing));
    closing = true;
    const closed = new Promise<void>((r) => server!.close(() => r()));
    await delivered;
    await closed;
    expect(answeredAfterClose).toBe(true);
    expect(await applied("slow")).toBe(1);
    expect(
      (await fetch(`http://127.0.0.1:${port}/healthz`).catch((e: Error) => e)) instanceof Error,
    ).toBe(true);
    // An update sent now stays with "Telegram" until a bot is back.
    user.sendText("/boom");
    await sleep(300);
    expect(sandbox!.state.updates.pendingCount).toBe(1);
    expect(await applied("boom")).toBe(0);
  });
});

describe("webhook mode (the bot process)", () => {
  it("serves parents through webhook deliveries across SIGKILLs: every acknowledged answer stored once", async () => {
    const flows = shippedFlows();
    const random = seededRandom(20_261_202);
    tmp = await tempDatabase();
    sandbox = await startSandbox({
      token: "7100002:WEBHOOK-CRASH",
      webhookRetryMs: 50,
      webhookMaxRetryMs: 400,
    });
    const hub = new ChatHub(sandbox);
    const gate = new Gate(hub);
    let delivered = 0;
    let redeliveries = 0;
    sandbox.state.events.on("change", (e: SandboxEvent) => {
      if (e.kind === "webhookDelivered") delivered++;
      if (e.kind === "webhookError") redeliveries++;
    });
    let acks = 0;
    const families: Family[] = [];
    const PARENTS = 4;
    for (let i = 0; i < PARENTS; i++) {
      const code = `WH-${i + 1}`;
      const arm = i % 2 ? "control" : "experimental";
      await addParticipant(tmp.db, { code, arm, gender: "female", ageYears: 8 }, { kind: "cli" });
      const invite = (
        await createInvite(
          tmp.db,
          { role: "parent", participantCode: code, ttlHours: 24 },
          { kind: "cli" },
        )
      ).code;
      const journey = familyJourney(flows, arm);
      const seed = Math.floor(random() * 2 ** 31);
      families.push(
        new Family({
          sandbox,
          hub,
          gate,
          user: sandbox.createUser({ firstName: `Parent ${i + 1}`, languageCode: "en" }),
          participant: code,
          invite,
          journey,
          target: Math.min(journey.length - 1, 14 + i * 4),
          choose: (item) => Math.floor(seededRandom(seed ^ item.id.length)() * item.options.length),
          patienceMs: 30_000,
          onAck: () => acks++,
        }),
      );
    }
    const port = await freePort();
    proc = new WebhookBotProcess({ sandbox, databaseUrl: tmp.url, port });
    await proc.start();

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      ok: true,
      database: "reachable",
      migrations: "current",
      queue: { due: 0 },
    });
    expect((await post(port, "{}", { "X-Telegram-Bot-Api-Secret-Token": "nope" })).status).toBe(
      403,
    );
    gate.open();

    const total = families.reduce((n, f) => n + f.o.target, 0);
    const killAt = [0.15, 0.35, 0.55, 0.75].map((x) => Math.floor(x * total));
    // Kills alternate between a moment in the traffic and the middle of a handler: the bot has
    // just called Telegram for an update (its answer committed, the delivery's POST not answered
    // yet), so the sandbox must redeliver that update and the bot must not apply it again.
    let finished = false;
    const inHandler = (method: string) =>
      new Promise<void>((done) => {
        const on = (e: SandboxEvent) => {
          if ((e.kind === "call" && e.method === method) || finished) {
            sandbox!.state.events.off("change", on);
            // Synchronously, while the sandbox has the call in hand.
            if (!finished) gate.down();
            done();
          }
        };
        sandbox!.state.events.on("change", on);
      });
    let kills = 0;
    let midHandler = 0;
    const killer = (async () => {
      for (const [k, at] of killAt.entries()) {
        while (acks < at && !finished) await sleep(20);
        if (finished) return;
        if (k % 2 === 1) {
          await inHandler(k === 1 ? "editMessageText" : "sendMessage");
          if (finished) return;
          midHandler++;
        } else {
          await sleep(Math.floor(random() * 40));
          gate.down();
        }
        await proc!.kill("SIGKILL");
        kills++;
        await sleep(Math.floor(random() * 300));
        await proc!.start();
        gate.open();
      }
    })();
    const results = await Promise.allSettled(families.map((f) => f.run()));
    finished = true;
    await killer;
    expect(
      results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : [])),
      proc.output.slice(-3000),
    ).toEqual([]);

    // Graceful stop: exit code 0.
    gate.down();
    expect(await proc.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(proc.unexpected).toBe(0);

    expect(await checkStore(tmp.db)).toEqual([]);
    expect(await checkFamilies(tmp.db, flows, families)).toEqual([]);
    const stored = await storeSummary(tmp.db);
    const acked = families.reduce(
      (n, f) => n + [...f.acked.values()].reduce((m, a) => m + a.size, 0),
      0,
    );
    expect(stored.answers).toBe(acked);
    expect(kills).toBe(killAt.length);
    expect(midHandler).toBe(2);
    // Everything came by webhook: the bot never polled.
    expect(sandbox.calls.filter((c) => c.method === "getUpdates")).toEqual([]);
    expect(delivered).toBeGreaterThan(acks);
    const errorLines = proc.output.split("\n").filter((l) => /"level":(50|60)/.test(l));
    expect(errorLines).toEqual([]);
    console.log(
      `webhook crash run: ${PARENTS} parents, ${kills} SIGKILLs (${midHandler} inside a handler) + 1 SIGTERM, steps acknowledged ${acks} of ${total}; ` +
        `answers stored ${stored.answers} = acknowledged ${acked}; ` +
        `webhook deliveries ${delivered} (failed attempts, retried: ${redeliveries}); processed updates ${stored.processedUpdates}`,
    );
  }, 180_000);
});

// `node bin/start.mjs` in webhook mode, as a child process: one bot instance. Ready once its
// /healthz answers 200 (its webhook server listens and its database is migrated).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "../../src/sandbox/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WEBHOOK_SECRET = "webhook-test-secret_1";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface WebhookProcessOptions {
  sandbox: Sandbox;
  databaseUrl: string;
  port: number;
  /** The URL Telegram posts to (default: this instance's own port). */
  webhookUrl?: string;
  env?: Record<string, string>;
}

export class WebhookBotProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  output = "";
  unexpected = 0;
  starts = 0;
  private expecting = false;

  constructor(private readonly o: WebhookProcessOptions) {}

  get port(): number {
    return this.o.port;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ["bin/start.mjs"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        BOT_TOKEN: this.o.sandbox.token,
        TELEGRAM_API_ROOT: this.o.sandbox.apiRoot,
        DATABASE_URL: this.o.databaseUrl,
        FLOWS_DIR: resolve(ROOT, "flows"),
        LOG_LEVEL: "warn",
        WEBHOOK_URL: this.o.webhookUrl ?? `http://127.0.0.1:${this.o.port}/telegram`,
        WEBHOOK_SECRET,
        WEBHOOK_PORT: String(this.o.port),
        ...this.o.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.starts++;
    child.stdout!.on("data", (c: Buffer) => (this.output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((done) =>
      child.once("exit", (code, signal) => {
        if (!this.expecting) this.unexpected++;
        this.expecting = false;
        if (this.child === child) this.child = undefined;
        done({ code, signal });
      }),
    );
    let dead = false;
    void this.exited.then(() => (dead = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (dead) throw new Error(`the bot exited while starting:\n${this.output.slice(-3000)}`);
      const ok = await fetch(`http://127.0.0.1:${this.o.port}/healthz`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`the bot did not start:\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async kill(signal: "SIGKILL" | "SIGTERM") {
    if (!this.child || !this.exited) throw new Error("not running");
    this.expecting = true;
    this.child.kill(signal);
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.child) await this.kill("SIGKILL");
  }
}

// The real bot (`npm start` = node bin/start.mjs) as a child process talking to a sandbox, for
// tests that must kill it: SIGKILL leaves no chance to clean up, exactly like a power cut of the
// process. The test process does setup and checks through the services on the same SQLite file.
//
//   const proc = new BotProcess({ sandbox, databaseUrl: tmp.url });
//   await proc.start();          // resolves once the new process long-polls the sandbox
//   await proc.kill("SIGKILL");  // resolves once it is gone
//   await proc.start();
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sandbox, SandboxEvent } from "../../src/sandbox/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 15_000;

export interface BotProcessOptions {
  sandbox: Sandbox;
  databaseUrl: string;
  /** Extra or overriding environment variables (e.g. LOG_LEVEL, SCHEDULER_POLL_MS). */
  env?: Record<string, string>;
  /** Extra node flags before the script (e.g. ["--cpu-prof"] to profile the bot). */
  nodeArgs?: string[];
}

export interface ExitRecord {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the test asked for it (kill or stop); false means the bot died by itself. */
  expected: boolean;
}

export class BotProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<ExitRecord> | undefined;
  private expecting = false;
  private output = "";
  /** Every exit so far, in order. */
  readonly exits: ExitRecord[] = [];
  /** How many times the process was started. */
  starts = 0;

  constructor(private readonly options: BotProcessOptions) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Everything the bot wrote to stdout and stderr (logs at LOG_LEVEL), across restarts. */
  get log(): string {
    return this.output;
  }

  /** Exits nobody asked for (a crash of the bot). */
  get unexpectedExits(): ExitRecord[] {
    return this.exits.filter((e) => !e.expected);
  }

  /**
   * Spawns the bot and resolves once it polls: main.ts calls deleteWebhook once per start, right
   * before the runner's first getUpdates, so a deleteWebhook followed by a getUpdates belongs to
   * this process and not to a long poll the previous one left behind.
   */
  async start(): Promise<void> {
    if (this.child) throw new Error("the bot process is already running");
    const { sandbox } = this.options;
    const ready = waitForCalls(sandbox, ["deleteWebhook", "getUpdates"], START_TIMEOUT_MS);
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), "bin/start.mjs"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        BOT_TOKEN: sandbox.token,
        TELEGRAM_API_ROOT: sandbox.apiRoot,
        DATABASE_URL: this.options.databaseUrl,
        FLOWS_DIR: resolve(ROOT, "flows"),
        LOG_LEVEL: "warn",
        ...this.options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.starts++;
    const number = this.starts;
    const append = (chunk: Buffer) => {
      this.output += chunk.toString("utf8");
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    this.exited = new Promise<ExitRecord>((done) => {
      child.once("exit", (code, signal) => {
        const record = { code, signal, expected: this.expecting };
        this.expecting = false;
        this.exits.push(record);
        if (!record.expected)
          this.output += `\n[bot process #${number} exited by itself: code ${code}, signal ${signal}]\n`;
        if (this.child === child) this.child = undefined;
        done(record);
      });
    });
    const died = this.exited.then((e) => {
      throw new Error(
        `the bot exited while starting (code ${e.code}, signal ${e.signal}):\n${this.output.slice(-4000)}`,
      );
    });
    try {
      await Promise.race([ready.promise, died]);
    } finally {
      ready.cancel();
      died.catch(() => undefined);
    }
  }

  /** Sends the signal and resolves once the process is gone. */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<ExitRecord> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) throw new Error("the bot process is not running");
    this.expecting = true;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(
        () => fail(new Error(`the bot did not exit within ${EXIT_TIMEOUT_MS} ms of ${signal}`)),
        EXIT_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async restart(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    await this.kill(signal);
    await this.start();
  }

  /** Graceful stop when running (for afterEach). Falls back to SIGKILL if SIGTERM hangs. */
  async stop(): Promise<void> {
    if (!this.child) return;
    try {
      await this.kill("SIGTERM");
    } catch {
      if (this.child) await this.kill("SIGKILL");
    }
  }
}

/** Resolves when the sandbox has seen these methods called in this order (from now on). */
function waitForCalls(
  sandbox: Sandbox,
  methods: string[],
  timeoutMs: number,
): { promise: Promise<void>; cancel(): void } {
  let index = 0;
  let cancel = () => {};
  const promise = new Promise<void>((done, fail) => {
    const events = sandbox.state.events;
    const listener = (event: SandboxEvent) => {
      if (event.kind !== "call" || event.method !== methods[index]) return;
      index++;
      if (index === methods.length) {
        cancel();
        done();
      }
    };
    const timer = setTimeout(() => {
      cancel();
      fail(new Error(`the bot did not call ${methods.join(", then ")} within ${timeoutMs} ms`));
    }, timeoutMs);
    cancel = () => {
      clearTimeout(timer);
      events.off("change", listener);
    };
    events.on("change", listener);
  });
  return { promise, cancel: () => cancel() };
}

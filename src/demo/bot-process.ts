// Starts the real bot (`npm start`, i.e. bin/start.mjs) as a child process against the sandbox.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join, resolve } from "node:path";
import type { Sandbox } from "../sandbox/index.js";

const ROOT = resolve(import.meta.dirname, "../..");

export async function startBotProcess(
  sandbox: Sandbox,
  databaseUrl: string,
  logFile: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, "bin/start.mjs")], {
    cwd: ROOT,
    env: {
      ...process.env,
      BOT_TOKEN: sandbox.token,
      TELEGRAM_API_ROOT: sandbox.apiRoot,
      DATABASE_URL: databaseUrl,
      WEBHOOK_URL: "",
      LOG_LEVEL: "info",
      SCHEDULER_POLL_MS: "1000",
      QUIET_HOURS: "",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr!.pipe(createWriteStream(logFile));
  // Ready when the bot long-polls the sandbox.
  const started = Date.now();
  while (!sandbox.calls.some((c) => c.method === "getUpdates")) {
    if (child.exitCode !== null)
      throw new Error(`the bot exited (${child.exitCode}); see ${logFile}`);
    if (Date.now() - started > 60_000) throw new Error("the bot did not start within 60 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

export async function stopBotProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}

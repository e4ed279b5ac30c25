// Cold start: the real bot process (`node bin/start.mjs`, long polling) against the local Bot API
// sandbox, with an enrolled parent whose answer press is already waiting. Measured from spawn to
// the first getUpdates and to the question being edited to show the answer (the answer is then
// committed). Each run is a fresh process; the parent presses the next question before the next.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { InlineKeyboardButton } from "grammy/types";
import { openDatabase } from "../src/db/client.js";
import { addParticipant } from "../src/usecases/participants.js";
import { createInvite } from "../src/usecases/invites.js";
import { median, runNode } from "./child.js";
import {
  startSandbox,
  type SandboxEvent,
  type ScriptedUser,
  type ChatEntry,
} from "../src/sandbox/index.js";

const data = (b: InlineKeyboardButton) => (b as { callback_data?: string }).callback_data ?? "";
const isAnswer = (b: InlineKeyboardButton) => /^1q:\d+:[a-z0-9]+:a:\d+$/.test(data(b));
const hasAnswerButton = (m: ChatEntry) =>
  (m.replyMarkup?.inline_keyboard ?? []).some((row) => row.some(isAnswer));

export interface ColdStart {
  /** `node -e 0`: what any Node process costs to start here. */
  nodeStartupMs: number;
  runs: { firstPollMs: number; answeredMs: number }[];
  medianFirstPollMs: number;
  medianAnsweredMs: number;
}

function startBot(env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ["bin/start.mjs"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.on("exit", (code) => {
    if (code) process.stderr.write(`bench: bot process exited with ${code}\n${err}\n`);
  });
  return child;
}

async function stopBot(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function coldStart(dir: string, runs: number): Promise<ColdStart> {
  const url = `file:${join(dir, "cold.db")}`;
  const db = await openDatabase(url);
  await addParticipant(
    db,
    { code: "COLD1", arm: "experimental", gender: "female", ageYears: 9 },
    { kind: "cli" },
  );
  const invite = await createInvite(
    db,
    { role: "parent", participantCode: "COLD1", ttlHours: 24 },
    { kind: "cli" },
  );
  await db.$disconnect();

  const sandbox = await startSandbox({ token: "123456789:BENCH-COLD-START" });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BOT_TOKEN: sandbox.token,
    TELEGRAM_API_ROOT: sandbox.apiRoot,
    DATABASE_URL: url,
    FLOWS_DIR: "./flows",
    LOG_LEVEL: "warn",
    WEBHOOK_URL: "",
  };
  const parent: ScriptedUser = sandbox.createUser({ firstName: "Parent", languageCode: "en" });
  const floor: number[] = [];
  for (let i = 0; i < 3; i++) floor.push((await runNode(["-e", "0"])).ms);
  const runsOut: ColdStart["runs"] = [];
  try {
    // Enrolment through a first (unmeasured) process; it also warms the file cache.
    let bot = startBot(env);
    parent.sendText(`/start ${invite.code}`);
    const consent = await parent.waitForBotMessage((m) => m.buttons.length > 0, 60_000);
    parent.press(consent, (b) => data(b).startsWith("1c:c:y"));
    const assent = await parent.waitForBotMessage(
      (m) =>
        (m.replyMarkup?.inline_keyboard ?? []).some((r) =>
          r.some((b) => data(b).startsWith("1c:a:y")),
        ),
      30_000,
    );
    parent.press(assent, (b) => data(b).startsWith("1c:a:y"));
    let question = await parent.waitForBotMessage(hasAnswerButton, 30_000);
    await stopBot(bot);

    for (let i = 0; i < runs; i++) {
      const pressed = parent.press(question, isAnswer);
      let firstPoll = 0;
      let answered = 0;
      const t0 = performance.now();
      const done = new Promise<void>((resolve) => {
        const listener = (e: SandboxEvent) => {
          if (!firstPoll && e.kind === "call" && e.method === "getUpdates")
            firstPoll = performance.now() - t0;
          if (e.kind === "botEdit" && e.messageId === pressed.messageId && !answered) {
            answered = performance.now() - t0;
            sandbox.state.events.off("change", listener);
            resolve();
          }
        };
        sandbox.state.events.on("change", listener);
      });
      bot = startBot(env);
      await Promise.race([
        done,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("cold start: no answer within 60 s")), 60_000),
        ),
      ]);
      runsOut.push({ firstPollMs: firstPoll, answeredMs: answered });
      question = await parent.waitForBotMessage(hasAnswerButton, 30_000);
      await stopBot(bot);
    }
  } finally {
    await sandbox.stop();
  }
  return {
    nodeStartupMs: median(floor),
    runs: runsOut,
    medianFirstPollMs: median(runsOut.map((r) => r.firstPollMs)),
    medianAnsweredMs: median(runsOut.map((r) => r.answeredMs)),
  };
}

// `npm run chat -- --role parent|facilitator|researcher [--lang zh]`: talk to Circle in the
// terminal. It starts the sandbox and the real bot process, enrols you with an invite of that
// role (with a small study around you), and shows the chat as a phone would: type text or a
// command, or a button's number to press it.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openDatabase, type Db } from "../db/client.js";
import { loadFlows } from "../study/load.js";
import { addParticipant } from "../usecases/participants.js";
import { createInvite } from "../usecases/invites.js";
import { importAnswers } from "../usecases/import.js";
import { startSandbox, type ChatEntry } from "./index.js";
import { startBotProcess, stopBotProcess } from "../demo/bot-process.js";

const ROOT = resolve(import.meta.dirname, "../..");

async function seedStudy(db: Db, role: string): Promise<string> {
  const flows = loadFlows({ flowsDir: join(ROOT, "flows") });
  if (!flows.ok) throw new Error(flows.errors.join("\n"));
  if (role === "researcher" || role === "admin") {
    // A finished small study, so /progress and /report have something to show.
    const csv = readFileSync(join(ROOT, "test/fixtures/report/answers.csv"), "utf8");
    await importAnswers(db, flows.flows, csv, {
      file: "example-study.csv",
      actor: { kind: "cli" },
    });
  }
  if (role === "facilitator") {
    for (const [i, code] of ["K01", "K02", "K03", "K04"].entries()) {
      const p = await addParticipant(
        db,
        {
          code,
          arm: "experimental",
          gender: i % 2 ? "female" : "male",
          ageYears: 6 + i,
          group: "ward-a",
        },
        { kind: "cli" },
      );
      await db.participant.update({ where: { id: p.id }, data: { status: "consented" } });
      for (const kind of ["consent", "assent"]) {
        await db.consent.create({
          data: {
            participantId: p.id,
            kind,
            version: flows.flows.study.consent.version,
            decision: "agree",
            recordedByRole: "admin",
          },
        });
      }
    }
    return (
      await createInvite(
        db,
        { role: "facilitator", group: "ward-a", ttlHours: 24 },
        { kind: "cli" },
      )
    ).code;
  }
  if (role === "parent") {
    await addParticipant(
      db,
      { code: "YOU-01", arm: "experimental", gender: "female", ageYears: 8, group: "ward-a" },
      { kind: "cli" },
    );
    return (
      await createInvite(
        db,
        { role: "parent", participantCode: "YOU-01", ttlHours: 24 },
        { kind: "cli" },
      )
    ).code;
  }
  return (
    await createInvite(db, { role: role as "researcher" | "admin", ttlHours: 24 }, { kind: "cli" })
  ).code;
}

function show(
  entry: ChatEntry,
  numbering: Map<number, { messageId: number; label: string }>,
): string {
  const lines: string[] = [];
  const body =
    entry.text ??
    entry.caption ??
    `[${entry.kind}${entry.document?.fileName ? ` ${entry.document.fileName}` : ""}]`;
  lines.push(...body.split("\n").map((l) => `  │ ${l}`));
  for (const row of entry.buttons) {
    const cells = row.map((label) => {
      const n = numbering.size + 1;
      numbering.set(n, { messageId: entry.messageId, label });
      return `[${n}] ${label}`;
    });
    lines.push(`  │ ${cells.join("   ")}`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      role: { type: "string", default: "parent" },
      lang: { type: "string", default: "en" },
    },
  });
  const role = values.role!;
  if (!["parent", "facilitator", "researcher", "admin"].includes(role)) {
    process.stderr.write("--role must be parent, facilitator, researcher or admin\n");
    return 2;
  }
  const tmp = mkdtempSync(join(tmpdir(), "circle-chat-"));
  const url = `file:${join(tmp, "circle.db")}`;
  const db = await openDatabase(url);
  const code = await seedStudy(db, role);
  const sandbox = await startSandbox({ botUsername: "circle_chat_bot" });
  const bot = await startBotProcess(sandbox, url, join(tmp, "bot.log"), { LOG_LEVEL: "warn" });
  const user = sandbox.createUser({ firstName: "You", languageCode: values.lang! });
  let numbering = new Map<number, { messageId: number; label: string }>();
  let seen = new Map<number, number>();
  // Print new and edited bot messages as they happen.
  const render = () => {
    const fresh: string[] = [];
    const buttons = new Map<number, { messageId: number; label: string }>();
    for (const m of user.botMessages()) {
      const version = m.editCount;
      if (seen.get(m.messageId) === version) continue;
      seen.set(m.messageId, version);
      fresh.push(`${version > 0 ? "  ✎ (edited)\n" : ""}${show(m, buttons)}`);
    }
    if (fresh.length) {
      numbering = buttons.size ? buttons : numbering;
      process.stdout.write(`\n${fresh.join("\n\n")}\n> `);
    }
  };
  sandbox.state.events.on("change", render);
  process.stdout.write(
    `Circle chat as a ${role}. Type text or /commands; a number presses that button; Ctrl+D quits.\n`,
  );
  user.sendText(`/start ${code}`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (/^\d+$/.test(text) && numbering.has(Number(text))) {
      const b = numbering.get(Number(text))!;
      try {
        user.press(b.messageId, b.label);
      } catch (e) {
        process.stdout.write(`  (${e instanceof Error ? e.message : String(e)})\n`);
      }
    } else if (text) user.sendText(text);
    rl.prompt();
  }
  sandbox.state.events.off("change", render);
  await stopBotProcess(bot);
  await sandbox.stop();
  await db.$disconnect();
  rmSync(tmp, { recursive: true, force: true });
  seen = new Map();
  return 0;
}

process.exitCode = await main();

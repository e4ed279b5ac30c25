// `npm run demo`: Circle's whole job, locally, without a bot token. It starts the Bot API sandbox
// and the real bot process (the `npm start` code path, long polling against the sandbox), then
// plays a study shaped like the one Circle comes from and prints what a researcher would see.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ChildProcess } from "node:child_process";
import { parseArgs } from "node:util";
import { unzipSync } from "fflate";
import { loadConfig } from "../config/env.js";
import { openDatabase, type Db } from "../db/client.js";
import { loadFlows } from "../study/load.js";
import { startSandbox, type Sandbox, type ScriptedUser } from "../sandbox/index.js";
import { addParticipant } from "../usecases/participants.js";
import { createInvite } from "../usecases/invites.js";
import { assignTimepoint } from "../usecases/timepoints.js";
import { AnswerModel, type Child } from "./model.js";
import { answerAll, enrolParent, inParallel, withdraw } from "./actors.js";
import { runFacilitator } from "./facilitator.js";
import { startBotProcess } from "./bot-process.js";
import type { LoadedFlows } from "../study/model.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Family {
  child: Child;
  user: ScriptedUser;
  invite: string;
}

function log(...lines: string[]) {
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Chat lines as one line each (message breaks shown as " / "), cut to fit a terminal. */
function excerpt(lines: string[], count: number): string {
  return lines
    .slice(0, count)
    .map((l) => {
      const flat = l.replace(/\n\n+/g, " / ").replace(/\n/g, " / ");
      return `  ${flat.length > 150 ? `${flat.slice(0, 149)}…` : flat}`;
    })
    .join("\n");
}

/** The experimental arm meets in two groups of five; the control arm is one (session-less) group. */
const EXPERIMENTAL_GROUPS = ["ward-a", "ward-c"];
/** A small group effect: ward-a's sessions do a little better than ward-c's (latent SD units). */
const GROUP_EFFECTS = { "ward-a": 0.3, "ward-c": -0.3 };
const CONTROL_GROUP = "ward-b";

function cohort(model: AnswerModel): Child[] {
  const children: Child[] = [];
  const gender = (i: number): "male" | "female" => (i % 2 === 0 ? "male" : "female");
  const age = (i: number) => 5 + ((i * 7) % 8);
  for (let i = 0; i < 42; i++)
    children.push({
      code: `B${String(i + 1).padStart(2, "0")}`,
      arm: null,
      group: null,
      gender: gender(i),
      ageYears: age(i),
    });
  for (let i = 0; i < 10; i++)
    children.push({
      code: `E${String(i + 1).padStart(2, "0")}`,
      arm: "experimental",
      group: EXPERIMENTAL_GROUPS[i < 5 ? 0 : 1]!,
      gender: gender(i + 1),
      ageYears: age(i + 3),
    });
  for (let i = 0; i < 10; i++)
    children.push({
      code: `C${String(i + 1).padStart(2, "0")}`,
      arm: "control",
      group: CONTROL_GROUP,
      gender: gender(i),
      ageYears: age(i + 5),
    });
  void model;
  return children;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "7" },
      fast: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      out: { type: "string", default: join(ROOT, "demo-output") },
    },
  });
  const OUT = resolve(values.out!);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) {
    process.stderr.write("--seed must be a whole number\n");
    return 2;
  }
  const t0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), "circle-demo-"));
  const databaseUrl = values.keep ? loadConfig().DATABASE_URL : `file:${join(tmp, "circle.db")}`;
  mkdirSync(OUT, { recursive: true });
  const flowsResult = loadFlows({ flowsDir: join(ROOT, "flows") });
  if (!flowsResult.ok) throw new Error(flowsResult.errors.join("\n"));
  const flows = flowsResult.flows;
  const db = await openDatabase(databaseUrl);
  if ((await db.participant.count()) > 0) {
    process.stderr.write(
      `the database at ${databaseUrl} already holds participants; point DATABASE_URL at an empty database for --keep\n`,
    );
    await db.$disconnect();
    return 1;
  }
  const sandbox = await startSandbox({ botUsername: "circle_demo_bot" });
  let bot: ChildProcess | undefined;
  try {
    bot = await startBotProcess(sandbox, databaseUrl, join(OUT, "bot.log"));
    log(
      `Circle demo — seed ${seed}. Sandbox at ${sandbox.apiRoot}; the bot runs as \`npm start\` against it.`,
    );
    const model = new AnswerModel(seed, GROUP_EFFECTS);
    const children = cohort(model);
    const families = await setupFamilies(db, flows, sandbox, children);
    log(
      `Enrolled ${children.length} participants: 42 baseline-only, 10 experimental (groups ${EXPERIMENTAL_GROUPS.join(" and ")}, 5 each), 10 control.`,
    );

    // Pre-tests: every family enrols by invite; one declines consent; some pause and resume.
    const decliner = families.find((f) => f.child.code === "B07")!;
    let answers = 0;
    await inParallel(families, 8, async (f, i) => {
      const first = await enrolParent(f.user, f.invite, f !== decliner);
      if (!first) return;
      const r = await answerAll(f.user, flows, f.child, model, "pre", {
        first,
        ...(i % 9 === 4 ? { pauseAt: 5 + (i % 7) } : {}),
      });
      answers += r.answered;
    });
    log(
      `[${((Date.now() - t0) / 1000).toFixed(0)} s] Pre-tests: ${answers} answers from ${families.length - 1} families (one declined consent; some paused and resumed).`,
    );

    // Each experimental group's six sessions, logged by its own facilitator (the two side by
    // side), with the families' satisfaction replies.
    const experimental = families.filter((f) => f.child.arm === "experimental");
    const withdrawer = experimental[8]!;
    const runs = await Promise.all(
      EXPERIMENTAL_GROUPS.map((group, i) =>
        runFacilitator({
          db,
          flows,
          sandbox,
          model,
          families: experimental.filter((f) => f.child.group === group),
          seed,
          group,
          user: {
            id: 7_330_000_001 + i,
            firstName: ["Fionazqx", "Gracezqx"][i]!,
            username: `facilitator${i + 1}_tg`,
          },
          onAfterSession: async (n) => {
            if (n === 2 && group === withdrawer.child.group) await withdraw(withdrawer.user);
          },
        }),
      ),
    );
    const fac = runs[0]!;
    const observations = await db.observation.count({
      where: { skipped: false, rating: { not: null } },
    });
    const satisfaction = await db.responseSet.count({
      where: {
        instrumentId: flows.study.assignments.afterSession.parent[0] ?? "",
        status: "complete",
      },
    });
    log(
      `[${((Date.now() - t0) / 1000).toFixed(0)} s] Sessions: 6 logged for each of ${EXPERIMENTAL_GROUPS.map((g) => `"${g}"`).join(" and ")} (${observations} observations, ${satisfaction} satisfaction replies); ${withdrawer.child.code}'s family withdrew after session 2.`,
    );

    // Post-tests: the experimental group's post opened when session 6 closed; the control arm's
    // now. Its families are sent straight to /resume, so the bot need not announce it.
    await assignTimepoint(
      db,
      flows,
      "post",
      { arm: "control" },
      { kind: "cli" },
      { announce: false },
    );
    let post = 0;
    await inParallel(
      families.filter((f) => f.child.arm !== null && f !== withdrawer),
      8,
      async (f) => {
        f.user.sendText("/resume");
        const r = await answerAll(f.user, flows, f.child, model, "post");
        post += r.answered;
      },
    );
    log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] Post-tests: ${post} answers.`);

    // The follow-up, three months after the groups. The bot's scheduler opens it for each group
    // on the day its window opens; the demo does not wait three months, so the researcher opens
    // it now for both arms, as `circle timepoint open follow-up --arm …` does (the protocol check
    // records these as started before their window). Each family is told, then answers.
    for (const arm of ["experimental", "control"])
      await assignTimepoint(db, flows, "follow-up", { arm }, { kind: "cli" });
    let followUp = 0;
    await inParallel(
      families.filter((f) => f.child.arm !== null && f !== withdrawer),
      8,
      async (f) => {
        await f.user.waitForBotMessage(
          (m) => /A questionnaire is waiting for you/.test(m.text ?? ""),
          20_000,
        );
        f.user.sendText("/resume");
        const r = await answerAll(f.user, flows, f.child, model, "follow-up");
        followUp += r.answered;
      },
    );
    log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] Follow-up: ${followUp} answers.`);

    // The researcher asks for progress and the report.
    const researcher = await enrolResearcher(db, sandbox);
    researcher.sendText("/progress");
    await researcher.waitForBotMessage(() => true, 30_000);
    await researcher.waitUntil(
      (u) => u.botMessages().some((m) => /sessions held/.test(m.text ?? "")),
      30_000,
    );
    const progressText = researcher
      .botMessages()
      .filter((m) => m.entities.some((e) => e.type === "pre"))
      .map((m) => m.text ?? "")
      .join("\n");
    researcher.sendText("/report social-skills");
    const summary = await researcher.waitForBotMessage((m) => /ANCOVA/.test(m.text ?? ""), 60_000);
    const doc = await researcher.waitForBotMessage((m) => m.kind === "document", 60_000);
    const photos = researcher.messages().filter((m) => m.kind === "photo");
    writeFileSync(join(OUT, "report.html"), doc.document?.data ?? "");
    photos.forEach((p, i) =>
      writeFileSync(
        join(OUT, i === 0 ? "social-skills-pre-post.png" : "session-satisfaction.png"),
        p.photo?.data ?? Buffer.alloc(0),
      ),
    );
    // The export with every format: CSVs plus the SPSS, R and Stata scripts that read them.
    researcher.sendText("/export all");
    const exported = await researcher.waitForBotMessage(
      (m) => m.kind === "document" && /\.zip$/.test(m.document?.fileName ?? ""),
      60_000,
    );
    const exportDir = join(OUT, "export");
    mkdirSync(exportDir, { recursive: true });
    const exportFiles = unzipSync(new Uint8Array(exported.document?.data ?? Buffer.alloc(0)));
    for (const [name, data] of Object.entries(exportFiles))
      writeFileSync(join(exportDir, name), data);

    if (!values.fast) {
      log("", "── Transcript excerpt (a parent) ──");
      const parent = families.find((f) => f.child.code === "E01")!;
      log(excerpt(parent.user.transcript(), 16));
      log("", "── Transcript excerpt (the facilitator, session 1) ──");
      log(excerpt(fac.transcript, 16));
    }
    log("", "── /progress ──", progressText);
    log("", "── /report social-skills ──", summary.text ?? "");
    log("", `Wrote ${join(OUT, "report.html")} and ${photos.length} chart(s) to ${OUT}.`);
    log(
      `Wrote the export (/export all: ${Object.keys(exportFiles).length} files, with circle.sps, circle.R and circle.do) to ${exportDir}.`,
    );

    const problems = sandbox.rejections.filter((r) => !r.injected);
    if (problems.length > 0) {
      log(`\nTelegram would have rejected ${problems.length} call(s):`);
      for (const p of problems.slice(0, 10))
        log(`  ${p.method}: ${p.code} ${p.description} ${JSON.stringify(p.params).slice(0, 200)}`);
      return 1;
    }
    log(
      `Done in ${((Date.now() - t0) / 1000).toFixed(1)} s; the sandbox rejected none of the bot's ${sandbox.calls.length} calls.`,
    );
    if (values.keep) log(`Database kept at ${databaseUrl} (try: npx circle progress --json).`);
    return 0;
  } finally {
    if (bot && bot.exitCode === null) {
      bot.kill("SIGTERM");
      await new Promise((r) => bot!.once("exit", r));
    }
    await sandbox.stop();
    await db.$disconnect();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function setupFamilies(
  db: Db,
  flows: LoadedFlows,
  sandbox: Sandbox,
  children: Child[],
): Promise<Family[]> {
  void flows;
  const families: Family[] = [];
  // Telegram ids, names and usernames as real ones look; none of them may reach exports or logs.
  let id = 7_310_000_001;
  const names = ["Mei", "Jun", "Lan", "Hao", "Ying", "Tao", "Xiu", "Bo", "Lin", "Qing"];
  for (const child of children) {
    await addParticipant(
      db,
      {
        code: child.code,
        arm: child.arm ?? "none",
        gender: child.gender,
        ageYears: child.ageYears,
        group: child.group ?? undefined,
      },
      { kind: "cli" },
    );
    const { code } = await createInvite(
      db,
      { role: "parent", participantCode: child.code, ttlHours: 48 },
      { kind: "cli" },
    );
    const user = sandbox.createUser({
      id: id++,
      firstName: `${names[id % names.length]}zqx`,
      lastName: "Familyname",
      username: `parent_${child.code.toLowerCase()}_tg`,
      languageCode: "en",
    });
    families.push({ child, user, invite: code });
  }
  return families;
}

async function enrolResearcher(db: Db, sandbox: Sandbox): Promise<ScriptedUser> {
  const { code } = await createInvite(db, { role: "researcher", ttlHours: 1 }, { kind: "cli" });
  const user = sandbox.createUser({
    id: 7_320_000_001,
    firstName: "Rosalindzqx",
    username: "researcher_tg",
    languageCode: "en",
  });
  user.sendText(`/start ${code}`);
  await user.waitForBotMessage(
    (m) => /enrolled in Circle as researcher/.test(m.text ?? ""),
    20_000,
  );
  return user;
}

try {
  process.exitCode = await main();
} catch (e) {
  process.stderr.write(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}

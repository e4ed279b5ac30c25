// Several Circle processes on one SQLite file, as on a normal study day: the bot process serves
// parents through the sandbox while, as separate processes, a coordinator imports ≥ 10,000 rows
// of paper questionnaires, a researcher exports the data and another runs the effect report.
// Every command succeeds, every acknowledged answer is stored exactly once, the imported rows are
// all there, and the audit chain verifies.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { BotProcess } from "../support/bot-process.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows } from "../support/bot.js";
import { ChatHub, Family, Gate, familyJourney } from "./support/family.js";
import { checkFamilies, checkStore } from "./support/checks.js";
import { seededRandom } from "./support/run.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PARENTS = 10;
/** Paper participants in the import: 210 × 49 scored items = 10,290 rows. */
const PAPER = 210;

interface Run {
  args: string[];
  code: number | null;
  out: string;
  err: string;
  startedAt: number;
  endedAt: number;
}

/** `node bin/circle.mjs …` as its own process on the same database file. */
function circle(databaseUrl: string, args: string[]): Promise<Run> {
  const startedAt = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ["bin/circle.mjs", ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        DATABASE_URL: databaseUrl,
        FLOWS_DIR: resolve(ROOT, "flows"),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.once("exit", (code) => done({ args, code, out, err, startedAt, endedAt: Date.now() }));
  });
}

/** A paper import: every scored item of both parent questionnaires at pre, for new participants. */
function paperCsv(flows: LoadedFlows): { text: string; rows: number } {
  const lines = ["participant,arm,gender,age,timepoint,instrument,item,value"];
  const random = seededRandom(42);
  for (let i = 0; i < PAPER; i++) {
    const code = `PAPER-${String(i + 1).padStart(4, "0")}`;
    const arm = ["", "experimental", "control"][i % 3]!;
    let first = true;
    for (const id of ["qol-proxy", "social-skills"]) {
      for (const it of flows.instruments.get(id)!.items) {
        if (it.type === "text") continue;
        const values = it.options.map((o) => o.value);
        const v = values[Math.floor(random() * values.length)]!;
        const who = first ? `${i % 2 ? "male" : "female"},${6 + (i % 7)}` : ",";
        lines.push(`${code},${arm},${who},pre,${id},${it.id},${v}`);
        first = false;
      }
    }
  }
  return { text: lines.join("\n") + "\n", rows: lines.length - 1 };
}

let tmp: TempDb | undefined;
let sandbox: Sandbox | undefined;
let bot: BotProcess | undefined;
let work: string | undefined;

afterEach(async () => {
  await bot?.stop();
  await sandbox?.stop();
  await tmp?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
  bot = sandbox = tmp = work = undefined;
});

describe("several Circle processes on one database", () => {
  it("bot answering parents + circle import (10k rows), export and report at the same time: all succeed, nothing lost or doubled", async () => {
    const flows = shippedFlows();
    tmp = await tempDatabase();
    work = mkdtempSync(join(tmpdir(), "circle-concurrent-"));
    sandbox = await startSandbox({ token: "7000003:CONCURRENT" });
    const hub = new ChatHub(sandbox);
    const gate = new Gate(hub);
    let acks = 0;
    const ackTimes: number[] = [];
    const families: Family[] = [];
    for (let i = 0; i < PARENTS; i++) {
      const code = `CC-${String(i + 1).padStart(3, "0")}`;
      const arm = i % 2 === 0 ? "experimental" : "control";
      await addParticipant(
        tmp.db,
        { code, arm, gender: i % 3 ? "female" : "male", ageYears: 6 + i },
        { kind: "cli" },
      );
      const invite = (
        await createInvite(
          tmp.db,
          { role: "parent", participantCode: code, ttlHours: 24 },
          { kind: "cli" },
        )
      ).code;
      const journey = familyJourney(flows, arm);
      families.push(
        new Family({
          sandbox,
          hub,
          gate,
          user: sandbox.createUser({ firstName: `Parent ${i + 1}`, languageCode: "en" }),
          participant: code,
          invite,
          journey,
          target: journey.length - 1,
          choose: (item) => (item.id.length + i) % item.options.length,
          patienceMs: 60_000,
          onAck: () => {
            acks++;
            ackTimes.push(Date.now());
          },
        }),
      );
    }
    const csv = paperCsv(flows);
    expect(csv.rows).toBeGreaterThanOrEqual(10_000);
    const csvFile = join(work, "paper.csv");
    writeFileSync(csvFile, csv.text);

    bot = new BotProcess({ sandbox, databaseUrl: tmp.url });
    await bot.start();
    gate.open();
    const parents = Promise.allSettled(families.map((f) => f.run()));
    // Once the parents are well under way, the other processes start together.
    while (acks < 15) await new Promise((r) => setTimeout(r, 20));
    const url = tmp.url;
    const runs = await Promise.all([
      circle(url, ["import", csvFile, "--json"]),
      circle(url, ["export", "--out", join(work, "export"), "--json"]),
      circle(url, ["report", "--instrument", "social-skills", "--json"]),
      circle(url, ["export", "--out", join(work, "export2"), "--json"]),
    ]);
    const results = await parents;

    for (const r of runs)
      expect({ args: r.args.join(" "), code: r.code, err: r.err }).toEqual({
        args: r.args.join(" "),
        code: 0,
        err: "",
      });
    expect(results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []))).toEqual([]);
    // They really overlapped: parents were answering while the import ran.
    const [imp] = runs;
    const duringImport = ackTimes.filter((t) => t > imp!.startedAt && t < imp!.endedAt).length;
    expect(duringImport).toBeGreaterThan(0);

    expect(JSON.parse(runs[0]!.out)).toMatchObject({
      ok: true,
      summary: { rows: csv.rows, answersImported: csv.rows, participantsCreated: PAPER },
    });
    const report = JSON.parse(runs[2]!.out) as { instrument: string; scores: unknown[] };
    expect(report.instrument).toBe("social-skills");
    expect(readdirSync(join(work, "export"))).toContain("answers_long.csv");

    // Every acknowledged answer stored once (one row, one audit event), plus every imported row.
    expect(await checkFamilies(tmp.db, flows, families)).toEqual([]);
    const acked = families.reduce(
      (n, f) => n + [...f.acked.values()].reduce((m, a) => m + a.size, 0),
      0,
    );
    const telegram = await tmp.db.answer.count({ where: { source: "telegram" } });
    const imported = await tmp.db.answer.count({ where: { source: "import" } });
    expect({ telegram, imported }).toEqual({ telegram: acked, imported: csv.rows });
    expect(await checkStore(tmp.db)).toEqual([]);
    const verify = await circle(url, ["audit", "verify"]);
    expect(verify.code, verify.err).toBe(0);

    const botErrors = bot.log.split("\n").filter((l) => /"level":(50|60)/.test(l));
    expect(botErrors).toEqual([]);
    console.log(
      `concurrent processes: ${PARENTS} parents, ${acks} steps acknowledged (${duringImport} during the import), ` +
        runs
          .map((r) => `${r.args[0]} ${((r.endedAt - r.startedAt) / 1000).toFixed(1)} s`)
          .join(", "),
    );
  }, 240_000);
});

// End to end over HTTP: `npm run demo` runs the real bot process against the sandbox through every
// journey (parents enrolling and answering, a facilitator logging six sessions, a researcher's
// report). Afterwards the kept database, the CLI and the files it wrote are checked, including a
// privacy scan of the exports and the bot's log.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
let dir: string;
let out: string;
let env: NodeJS.ProcessEnv;
let demoStdout = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "circle-e2e-"));
  out = join(dir, "demo-output");
  env = { ...process.env, DATABASE_URL: `file:${join(dir, "circle.db")}`, LOG_LEVEL: "info" };
  const r = await run(
    process.execPath,
    ["bin/demo.mjs", "--fast", "--keep", "--seed", "11", "--out", out],
    { env, maxBuffer: 20 * 1024 * 1024, timeout: 280_000 },
  );
  demoStdout = r.stdout;
}, 300_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function circle(...args: string[]) {
  const r = await run(process.execPath, ["bin/circle.mjs", ...args], {
    env,
    maxBuffer: 20 * 1024 * 1024,
  });
  return r.stdout;
}

describe("npm run demo (bot process + sandbox over HTTP)", () => {
  it("prints the report summary and triggers no Telegram error", () => {
    expect(demoStdout).toMatch(/── \/report social-skills ──/);
    expect(demoStdout).toMatch(/Social behaviour patterns: change E/);
    expect(demoStdout).toMatch(/the sandbox rejected none of the bot's \d+ calls/);
  });

  it("writes report.html with its charts embedded", () => {
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toMatch(/<img alt="[^"]+" src="data:image\/png;base64,[A-Za-z0-9+/]{1000,}/);
    expect(html).toMatch(/ANCOVA/);
    const pngs = readdirSync(out).filter((f) => f.endsWith(".png"));
    expect(pngs.length).toBeGreaterThanOrEqual(2);
  });

  it("kept the database: circle progress --json shows six logged sessions with attendance and satisfaction replies", async () => {
    const progress = JSON.parse(await circle("progress", "--json")) as {
      sessions: {
        number: number;
        status: string;
        attendance: number;
        logComplete: boolean;
        satisfaction: { responses: number; mean: number | null };
      }[];
      participants: { code: string; status: string }[];
    };
    expect(progress.sessions.map((s) => s.number)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const s of progress.sessions) {
      expect(s.status).toBe("closed");
      expect(s.logComplete).toBe(true);
      expect(s.attendance).toBeGreaterThanOrEqual(3);
      expect(s.satisfaction.responses).toBeGreaterThan(0);
      expect(s.satisfaction.mean).not.toBeNull();
    }
    const statuses = progress.participants.map((p) => p.status);
    expect(statuses.filter((x) => x === "declined")).toHaveLength(1);
    expect(statuses.filter((x) => x === "withdrawn")).toHaveLength(1);
    expect(progress.participants).toHaveLength(62);
  });

  it("the effect report shows the experimental arm improving most in behaviour patterns and interpersonal cognition", async () => {
    const report = JSON.parse(
      await circle("report", "--instrument", "social-skills", "--json"),
    ) as {
      scores: { id: string; between: { ancova: { effect: number | null } } }[];
    };
    const effect = Object.fromEntries(
      report.scores.map((s) => [s.id, s.between.ancova.effect ?? 0]),
    );
    const ranked = Object.entries(effect)
      .filter(([id]) => id !== "total")
      .sort((a, b) => b[1] - a[1])
      .map(([id]) => id);
    expect(ranked.slice(0, 2).sort()).toEqual(["behaviour_patterns", "interpersonal_cognition"]);
    expect(await circle("audit", "verify")).toMatch(/audit chain ok/);
  });

  it("exports and logs carry no Telegram ids, usernames or names", async () => {
    const exportDir = join(dir, "export");
    await circle("export", "--out", exportDir);
    const files = readdirSync(exportDir).map((f) => join(exportDir, f));
    const texts = [
      ...files.map((f) => readFileSync(f, "utf8")),
      readFileSync(join(out, "bot.log"), "utf8"),
    ];
    expect(texts.join("").length).toBeGreaterThan(10_000);
    const forbidden = [/7310000\d{3}/, /7320000001/, /7330000001/, /_tg\b/, /zqx/, /Familyname/];
    for (const [i, text] of texts.entries()) {
      for (const f of forbidden)
        expect(f.test(text), `${f} in ${i < files.length ? files[i] : "bot.log"}`).toBe(false);
    }
  });
});

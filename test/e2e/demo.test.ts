// End to end over HTTP: `npm run demo` runs the real bot process against the sandbox through every
// journey (parents enrolling and answering pre, post and follow-up, two facilitators logging six
// sessions each for the two experimental groups, a researcher's report). Afterwards the kept database, the CLI and the files it wrote are checked, including a
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
    expect(demoStdout).toMatch(/Follow-up: \d+ answers/);
    expect(demoStdout).toMatch(/ {2}mixed model armexperimental:timepointfollow-up -?\d/);
    expect(demoStdout).toMatch(/the sandbox rejected none of the bot's \d+ calls/);
  });

  it("writes report.html with its charts embedded", () => {
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toMatch(/<img alt="[^"]+" src="data:image\/png;base64,[A-Za-z0-9+/]{1000,}/);
    expect(html).toMatch(/ANCOVA/);
    // The mixed model over pre, post and follow-up: one fixed-effects table per score.
    expect(html).toContain("<h2>Mixed model (arm × timepoint)</h2>");
    expect(html.match(/<table class="mixed-model">/g)?.length).toBe(7);
    expect(html).toContain("<code>armexperimental:timepointfollow-up</code>");
    const pngs = readdirSync(out).filter((f) => f.endsWith(".png"));
    expect(pngs.length).toBeGreaterThanOrEqual(2);
  });

  it("kept the database: circle progress --json shows six logged sessions per experimental group with attendance and satisfaction replies, and the follow-up answered", async () => {
    const progress = JSON.parse(await circle("progress", "--json")) as {
      sessions: {
        group: string;
        number: number;
        status: string;
        attendance: number;
        logComplete: boolean;
        satisfaction: { responses: number; mean: number | null };
      }[];
      participants: {
        code: string;
        arm: string | null;
        status: string;
        questionnaires: { timepoint: string; status: string }[];
      }[];
      summary: {
        completion: {
          timepoint: string;
          instrument: string;
          respondent: string;
          complete: number;
          inProgress: number;
          pending: number;
        }[];
      };
    };
    expect(progress.sessions.map((s) => `${s.group}:${s.number}`)).toEqual(
      ["ward-a", "ward-c"].flatMap((g) => [1, 2, 3, 4, 5, 6].map((n) => `${g}:${n}`)),
    );
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
    // Follow-up: every arm member still in the study (10 control, 9 experimental) answered it.
    const followUp = progress.summary.completion.filter((c) => c.timepoint === "follow-up");
    expect(followUp.map((c) => `${c.instrument}:${c.respondent}`)).toEqual([
      "qol-proxy:parent",
      "social-skills:parent",
      "social-skills-child:child",
    ]);
    for (const c of followUp) expect(c).toMatchObject({ complete: 19, inProgress: 0, pending: 0 });
    for (const p of progress.participants.filter((x) => x.arm !== null && x.status === "consented"))
      expect(
        p.questionnaires.filter((q) => q.timepoint === "follow-up").map((q) => q.status),
        p.code,
      ).toEqual(["complete", "complete", "complete"]);
  });

  it("the effect report shows the experimental arm improving most in behaviour patterns and interpersonal cognition", async () => {
    const report = JSON.parse(
      await circle("report", "--instrument", "social-skills", "--json"),
    ) as {
      scores: {
        id: string;
        between: { ancova: { effect: number | null } };
        mixedModel?: {
          timepoints: string[];
          groupEffect: boolean;
          groups: number | null;
          participantsByArm: { experimental: number; control: number };
          fixed: { term: string; estimate: number; se: number | null; p: number | null }[] | null;
          variance: { participant: number; group: number | null; residual: number } | null;
          reason: string | null;
        };
      }[];
    };
    const effect = Object.fromEntries(
      report.scores.map((s) => [s.id, s.between.ancova.effect ?? 0]),
    );
    const ranked = Object.entries(effect)
      .filter(([id]) => id !== "total")
      .sort((a, b) => b[1] - a[1])
      .map(([id]) => id);
    expect(ranked.slice(0, 2).sort()).toEqual(["behaviour_patterns", "interpersonal_cognition"]);
    // The mixed model: for every score, over the three timepoints, with the two experimental
    // groups as a random effect; the experimental arm's gain is still there at the follow-up.
    for (const s of report.scores) {
      const m = s.mixedModel!;
      expect(m, s.id).toBeDefined();
      expect(m.reason, s.id).toBeNull();
      expect(m.timepoints).toEqual(["pre", "post", "follow-up"]);
      expect(m.groupEffect).toBe(true);
      expect(m.groups).toBe(2);
      expect(m.participantsByArm).toEqual({ experimental: 10, control: 10 });
      expect(m.fixed!.map((x) => x.term)).toEqual([
        "(Intercept)",
        "armexperimental",
        "timepointpost",
        "timepointfollow-up",
        "armexperimental:timepointpost",
        "armexperimental:timepointfollow-up",
      ]);
      expect(m.variance!.group).not.toBeNull();
    }
    const total = report.scores.find((s) => s.id === "total")!.mixedModel!;
    const atFollowUp = total.fixed!.find((x) => x.term === "armexperimental:timepointfollow-up")!;
    expect(atFollowUp.estimate).toBeGreaterThan(0);
    expect(atFollowUp.p).toBeLessThan(0.05);
    expect(await circle("audit", "verify")).toMatch(/audit chain ok/);
  });

  it("report.html also shows the participant flow diagram, the baseline profile and the code summary", () => {
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain('<section id="participant-flow">');
    const flowSection = html.slice(html.indexOf('<section id="participant-flow">'));
    expect(flowSection).toMatch(
      /^<section id="participant-flow"><h2>[^<]+<\/h2>\s*<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
    expect(flowSection).toMatch(/<rect [^>]+\/><text [^>]+>[^<]*Allocated/);
    expect(html).toContain('<section id="baseline">');
    expect(html).toContain("<h2>Qualitative codes</h2>");
    // Two facilitators wrote three notes and one interview each.
    expect(html).toMatch(/8 notes and interviews on \d+ children/);
  });

  it("the CONSORT flow counts agree with circle progress", async () => {
    type Arm = "experimental" | "control" | "none";
    const flow = JSON.parse(await circle("report", "--flow", "--json")) as {
      registered: Record<Arm | "total", number>;
      declined: { total: number };
      included: number;
      arms: Record<
        Arm,
        {
          allocated: number;
          withdrawn: number;
          attended: { any: number; all: number } | null;
          timepoints: Record<
            string,
            {
              questionnaires: { instrument: string; respondent: string; complete: number }[];
            } | null
          >;
        }
      >;
    };
    const progress = JSON.parse(await circle("progress", "--json")) as {
      participants: { arm: string | null; status: string }[];
      summary: {
        completion: {
          timepoint: string;
          instrument: string;
          respondent: string;
          complete: number;
        }[];
      };
    };
    const arms: Arm[] = ["experimental", "control", "none"];
    const inArm = (a: Arm) => progress.participants.filter((p) => (p.arm ?? "none") === a);
    expect(flow.registered.total).toBe(progress.participants.length);
    for (const a of arms) expect(flow.registered[a], a).toBe(inArm(a).length);
    const status = (x: string) => progress.participants.filter((p) => p.status === x).length;
    expect(flow.declined.total).toBe(status("declined"));
    expect(arms.reduce((n, a) => n + flow.arms[a].withdrawn, 0)).toBe(status("withdrawn"));
    expect(arms.reduce((n, a) => n + flow.arms[a].allocated, 0)).toBe(flow.included);
    expect(flow.arms.experimental.attended!.any).toBeGreaterThan(0);
    expect(flow.arms.experimental.attended!.any).toBeLessThanOrEqual(
      flow.arms.experimental.allocated,
    );
    // Every questionnaire's completions, summed over the arms, are progress's complete counts.
    for (const c of progress.summary.completion) {
      const fromFlow = arms.reduce((n, a) => {
        const q = flow.arms[a].timepoints[c.timepoint]?.questionnaires.find(
          (x) => x.instrument === c.instrument && x.respondent === c.respondent,
        );
        return n + (q?.complete ?? 0);
      }, 0);
      expect(fromFlow, `${c.timepoint} ${c.instrument} ${c.respondent}`).toBe(c.complete);
    }
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
    const forbidden = [/7310000\d{3}/, /7320000001/, /733000000[12]/, /_tg\b/, /zqx/, /Familyname/];
    for (const [i, text] of texts.entries()) {
      for (const f of forbidden)
        expect(f.test(text), `${f} in ${i < files.length ? files[i] : "bot.log"}`).toBe(false);
    }
  });
});

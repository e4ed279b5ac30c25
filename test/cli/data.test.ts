// `circle progress`, `circle export` and `circle import` through runCli: output and exit codes.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/program.js";
import { EXPORT_FILES } from "../../src/analysis/export.js";
import { tempDatabase, type TempDb } from "../support/db.js";

let t: TempDb;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  t = await tempDatabase();
  env = { DATABASE_URL: t.url, FLOWS_DIR: "flows" };
});
afterEach(async () => t.cleanup());

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const { code } = await runCli(argv, {
    env,
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr };
}

const HEADER = "participant,arm,gender,age,timepoint,instrument,item,value";
function file(name: string, ...lines: string[]) {
  const path = join(t.dir, name);
  writeFileSync(path, [HEADER, ...lines].join("\n") + "\n");
  return path;
}

describe("circle import", () => {
  it("imports a clean file, prints a summary, and is idempotent (exit 0)", async () => {
    const path = file(
      "answers.csv",
      "P-01,experimental,male,8,pre,social-skills,ae1,4",
      "P-01,experimental,male,8,pre,social-skills,ae2,5",
    );
    const first = await run(["import", path]);
    expect(first).toEqual({
      code: 0,
      stdout: [
        `imported ${path}: 2 row(s)`,
        "  participants created  1",
        "  response sets         1 created, 0 updated",
        "  answers imported      2",
        "  answers unchanged     0",
        "",
      ].join("\n"),
      stderr: "",
    });
    const again = await run(["import", path, "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      ok: true,
      summary: {
        rows: 2,
        participantsCreated: 0,
        responseSetsCreated: 0,
        responseSetsUpdated: 0,
        answersImported: 0,
        answersUnchanged: 2,
      },
    });
  });

  it("lists every error with its line on stderr and exits 1", async () => {
    const path = file(
      "bad.csv",
      "P-01,experimental,male,8,pre,social-skills,ae1,7",
      "P-01,experimental,male,8,pre,nope,ae2,5",
    );
    const r = await run(["import", path]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        `circle: ${path}: 2 error(s); nothing was imported`,
        `${path}:2: value 7 is outside 1–5 for social-skills/ae1`,
        `${path}:3: unknown instrument "nope"`,
        "",
      ].join("\n"),
    });
    const json = await run(["import", path, "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      errors: [
        `${path}:2: value 7 is outside 1–5 for social-skills/ae1`,
        `${path}:3: unknown instrument "nope"`,
      ],
    });
    expect(await t.db.participant.count()).toBe(0);
  });

  it("exits 1 for a missing file and 2 without an argument", async () => {
    const missing = await run(["import", join(t.dir, "nowhere.csv")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`circle: cannot read ${join(t.dir, "nowhere.csv")}: ENOENT\n`);
    const usage = await run(["import"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^circle: missing required argument/);
  });
});

describe("circle progress", () => {
  it("prints the contract JSON and a text table (exit 0)", async () => {
    await run(["import", file("a.csv", "P-01,,female,7,pre,qol-proxy,phys1,1")]);
    const json = await run(["progress", "--json"]);
    expect(json.code).toBe(0);
    const p = JSON.parse(json.stdout) as {
      participants: {
        code: string;
        questionnaires: { instrument: string; status: string; answered: number }[];
      }[];
      sessions: unknown[];
      summary: { participants: { total: number } };
    };
    expect(Object.keys(p)).toEqual(["participants", "sessions", "summary"]);
    expect(p.participants.map((x) => x.code)).toEqual(["P-01"]);
    expect(
      p.participants[0]!.questionnaires.map((q) => [q.instrument, q.status, q.answered]),
    ).toEqual([
      ["qol-proxy", "in_progress", 1],
      ["social-skills", "pending", 0],
    ]);
    expect(p.summary.participants.total).toBe(1);
    const text = await run(["progress"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("Participants: 1 (experimental 0, control 0, no arm 1)");
  });

  it("rejects unknown options with exit 2", async () => {
    expect((await run(["progress", "--csv"])).code).toBe(2);
  });
});

describe("circle export", () => {
  it("writes the files and lists them (exit 0); --json gives the list", async () => {
    await run(["import", file("a.csv", "P-01,,female,7,pre,qol-proxy,phys1,1")]);
    const out = join(t.dir, "out");
    const r = await run(["export", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`exported ${EXPORT_FILES.length} files to ${out}:`);
    expect(r.stdout).toMatch(/answers_long\.csv\s+1 rows/);
    for (const f of EXPORT_FILES) expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, "answers_long.csv"), "utf8")).toContain(
      "P-01,,,female,7,pre,qol-proxy,",
    );
    const json = await run(["export", "--out", out, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dir: out,
      files: EXPORT_FILES.map((name) => ({ name })),
    });
    expect(await t.db.auditEvent.count({ where: { action: "export", actor: "cli" } })).toBe(2);
  });

  it("exits 2 without --out", async () => {
    const r = await run(["export"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });
});

// `circle flows import` and `circle flows export`, run as a researcher would: files written or
// not, messages, exit codes (0 ok, 1 failure, 2 usage).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseCsv } from "csv-parse/sync";
import { runCli } from "../../src/cli/program.js";
import { xlsxFile } from "../fixtures/interchange/support.js";
import { copyFlows, type FlowsCopy } from "./support.js";

const XLSFORM = resolve("test/fixtures/interchange/sleep-play.xlsx");
const REDCAP = resolve("test/fixtures/interchange/sleep-play-redcap.csv");

let f: FlowsCopy;
let out: string;
beforeEach(() => {
  f = copyFlows();
  out = mkdtempSync(join(tmpdir(), "circle-interchange-cli-"));
});
afterEach(() => {
  f.cleanup();
  rmSync(out, { recursive: true, force: true });
});

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const { code } = await runCli(argv, {
    env: { FLOWS_DIR: f.dir, ...env },
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr };
}

describe("circle flows import", () => {
  it("writes the instrument, reports what was not carried over, and the flows still check", async () => {
    const target = f.path("instruments/sleep-play.yaml");
    const r = await run(["flows", "import", XLSFORM, "--out", target]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`imported "sleep-play" from ${XLSFORM} (XLSForm): 10 items, 2 subscales`);
    expect(lines[1]).toBe(`wrote ${target}`);
    expect(lines[2]).toBe("not carried over (11):");
    expect(lines).toContain('  survey row 7 (q_photo): type "image" is not supported');
    expect(lines).toContain("notes (3):");
    expect(existsSync(target)).toBe(true);
    const check = await run(["flows", "check"]);
    expect(check).toMatchObject({ code: 0, stderr: "" });
    expect(check.stdout).toMatch(/^flows ok: 8 instruments, /);
  });

  it("writes to FLOWS_DIR/instruments/<id>.yaml by default; --dry-run writes nothing", async () => {
    const dry = await run(["flows", "import", REDCAP, "--form", "sleep_play", "--dry-run"]);
    expect(dry.code).toBe(0);
    const target = join(f.dir, "instruments", "sleep_play.yaml");
    expect(dry.stdout).toContain(`dry run: nothing written (would write ${target})`);
    expect(existsSync(target)).toBe(false);
    const r = await run(["flows", "import", REDCAP, "--form", "sleep_play"]);
    expect(r.code).toBe(0);
    expect(existsSync(target)).toBe(true);
  });

  it("refuses to replace a file without --force, and replaces it with --force", async () => {
    const target = join(out, "sleep.yaml");
    writeFileSync(target, "keep me\n");
    const r = await run(["flows", "import", XLSFORM, "--out", target]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `circle: ${target} exists; add --force to replace it\n`,
    });
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
    const forced = await run(["flows", "import", XLSFORM, "--out", target, "--force"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(target, "utf8")).toMatch(/^# Imported by `circle flows import`/);
  });

  it("--json gives the report as data", async () => {
    const r = await run(["flows", "import", XLSFORM, "--out", join(out, "s.yaml"), "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ ok: true, format: "xlsform", out: join(out, "s.yaml"), errors: [] });
    expect(j.instrument).toMatchObject({ id: "sleep-play", items: 10 });
    expect(j.notCarriedOver).toHaveLength(11);
  });

  it("fails on a broken sheet with every problem listed and nothing written (exit 1)", async () => {
    const bad = join(out, "bad.csv");
    writeFileSync(
      bad,
      'Variable / Field Name,Form Name,Field Type,Field Label,"Choices, Calculations, OR Slider Labels"\n' +
        'q1,f,radio,One,"1, A | 2, B"\nq1,f,radio,Two,"A | B"\n',
    );
    const target = join(out, "bad.yaml");
    const r = await run(["flows", "import", bad, "--out", target]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        `circle: cannot import ${bad}: 2 error(s); nothing was written`,
        'row 3 (q1): duplicate variable "q1" (also row 2)',
        'row 3 (q1): choice "A" has no code; write it as "1, A"',
        "",
      ].join("\n"),
    );
    expect(existsSync(target)).toBe(false);

    const sheets = await xlsxFile(join(out, "form.xlsx"), {
      questions: [
        ["type", "name"],
        ["select_one freq", "q1"],
      ],
      choices: [["list_name", "name"]],
    });
    const x = await run(["flows", "import", sheets, "--out", target]);
    expect(x).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `circle: cannot import ${sheets}: 1 error(s); nothing was written\n` +
        'form.xlsx: no "survey" sheet (found: "questions", "choices"); an XLSForm needs survey, choices and settings sheets\n',
    });
    expect(existsSync(target)).toBe(false);
  });

  it("refuses an id another instrument already uses", async () => {
    const r = await run(["flows", "import", XLSFORM, "--out", join(out, "x.yaml")], {
      FLOWS_DIR: f.dir,
    });
    expect(r.code).toBe(0);
    const again = await run(["flows", "import", XLSFORM, "--out", join(out, "y.yaml")], {
      EXTRA_FLOWS_DIR: out,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      `settings: instrument id "sleep-play" is already used by ${join(out, "x.yaml")}`,
    );
  });

  it("names an unknown file (exit 1) and a wrong or unknowable format (exit 2)", async () => {
    const missing = join(out, "nope.xlsx");
    expect(await run(["flows", "import", missing])).toEqual({
      code: 1,
      stdout: "",
      stderr: `circle: cannot import ${missing}: 1 error(s); nothing was written\n${missing}: no such file\n`,
    });
    const wrong = await run(["flows", "import", XLSFORM, "--from", "spss"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /^circle: option '--from <format>' argument 'spss' is invalid\. Allowed choices are xlsform, redcap\.\n$/,
    );
    const txt = join(out, "form.txt");
    writeFileSync(txt, "x");
    expect(await run(["flows", "import", txt])).toEqual({
      code: 2,
      stdout: "",
      stderr: `circle: cannot tell the format of ${txt}; add --from xlsform or --from redcap\n`,
    });
    expect((await run(["flows", "import", XLSFORM, "--form", "x"])).code).toBe(2);
  });
});

describe("circle flows export", () => {
  it("writes a REDCap dictionary and an XLSForm, refusing to overwrite without --force", async () => {
    const csv = join(out, "ss.csv");
    const r = await run(["flows", "export", "social-skills", "--to", "redcap", "--out", csv]);
    expect(r).toEqual({
      code: 0,
      stdout: `exported "social-skills" as REDCap data dictionary to ${csv}\n`,
      stderr: "",
    });
    const rows = parseCsv(readFileSync(csv, "utf8")) as string[][];
    expect(rows[0]![0]).toBe("Variable / Field Name");
    expect(rows[1]!.slice(0, 5)).toEqual(["record_id", "social_skills", "", "text", "Record ID"]);
    expect(rows[2]!.slice(0, 2)).toEqual(["ae1", "social_skills"]);
    expect(rows[2]![17]).toContain("@CIRCLE-SUBSCALE=active_expression");
    expect(rows).toHaveLength(2 + 26);

    const again = await run(["flows", "export", "social-skills", "--out", csv]);
    expect(again).toEqual({
      code: 1,
      stdout: "",
      stderr: `circle: ${csv} exists; add --force to replace it\n`,
    });
    expect((await run(["flows", "export", "social-skills", "--out", csv, "--force"])).code).toBe(0);

    const xlsx = join(out, "ss.xlsx");
    const x = await run(["flows", "export", "social-skills", "--out", xlsx, "--json"]);
    expect(x.code).toBe(0);
    expect(JSON.parse(x.stdout)).toEqual({
      ok: true,
      id: "social-skills",
      format: "xlsform",
      out: xlsx,
      notes: [],
    });
    expect(readFileSync(xlsx).subarray(0, 2).toString()).toBe("PK");
  });

  it("prints a dictionary with --out -, and refuses that for the binary XLSForm", async () => {
    const r = await run([
      "flows",
      "export",
      "session-satisfaction",
      "--to",
      "redcap",
      "--out",
      "-",
    ]);
    expect(r.code).toBe(0);
    expect((parseCsv(r.stdout) as string[][]).map((row) => row[0])).toEqual([
      "Variable / Field Name",
      "record_id",
      "relationship",
      "goals",
      "approach",
      "overall",
      "comment",
    ]);
    const x = await run([
      "flows",
      "export",
      "session-satisfaction",
      "--to",
      "xlsform",
      "--out",
      "-",
    ]);
    expect(x).toEqual({
      code: 2,
      stdout: "",
      stderr: "circle: an XLSForm is a binary file; give --out <file>.xlsx\n",
    });
  });

  it("names an unknown instrument (exit 1) and a missing format (exit 2)", async () => {
    const r = await run(["flows", "export", "nope", "--to", "redcap", "--out", join(out, "n.csv")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^circle: unknown instrument "nope" \(known: facilitator-reflection, /,
    );
    expect(existsSync(join(out, "n.csv"))).toBe(false);
    expect(await run(["flows", "export", "social-skills"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "circle: choose a format: --to xlsform or --to redcap\n",
    });
  });

  it("export, edit nothing, import over the original: flows check passes with the same hash", async () => {
    const before = JSON.parse((await run(["flows", "check", "--json"])).stdout) as {
      instruments: unknown[];
    };
    for (const [id, ext] of [
      ["qol-proxy", "xlsx"],
      ["observation", "csv"],
    ] as const) {
      const file = join(out, `${id}.${ext}`);
      expect((await run(["flows", "export", id, "--out", file])).code).toBe(0);
      const original = f.path(`instruments/${id}.yaml`);
      const r = await run(["flows", "import", file, "--out", original, "--force"]);
      expect(r.stderr).toBe("");
      expect(readFileSync(original, "utf8")).toMatch(/^# Imported by `circle flows import`/);
    }
    const after = JSON.parse((await run(["flows", "check", "--json"])).stdout) as {
      instruments: unknown[];
    };
    expect(after.instruments).toEqual(before.instruments);
  });
});

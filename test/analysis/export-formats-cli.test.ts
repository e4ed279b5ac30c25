// `circle export --format … --lang …` and the Telegram `/export` command with formats: the files
// they write or send, and the usage errors for a format or language that does not exist.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXPORT_FILES } from "../../src/analysis/export.js";
import { researcherFeature } from "../../src/telegram/features/researcher.js";
import { createInvite } from "../../src/usecases/invites.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { runCircle } from "../support/cli.js";
import { makeTestBot, type TestBot } from "../support/bot.js";

const FIXTURE = "test/fixtures/report/answers.csv";
const SCRIPTS = ["circle.sps", "circle.R", "circle.do"];

let t: TempDb;
beforeEach(async () => {
  t = await tempDatabase();
  const imported = await runCircle(t.url, ["import", FIXTURE]);
  expect(imported.code, imported.err).toBe(0);
});
afterEach(async () => t.cleanup());

describe("circle export --format", () => {
  it("--format all --lang zh writes the CSVs and every script, with Chinese labels", async () => {
    const out = join(t.dir, "out");
    const r = await runCircle(t.url, ["export", "--out", out, "--format", "all", "--lang", "zh"]);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...EXPORT_FILES, ...SCRIPTS].sort());
    expect(r.out).toMatch(/^exported 13 files to /);
    expect(r.out).toMatch(/circle\.sps\s+\d+ variables/);
    expect(r.out).toMatch(/answers_long\.csv\s+\d+ rows/);
    expect(readFileSync(join(out, "circle.sps"), "utf8")).toContain("'小组活动组'");
    expect(readFileSync(join(out, "circle.do"), "utf8")).toContain('`"小组活动组"\'');
    // R keeps the script ASCII: 小组活动组 as escapes.
    expect(readFileSync(join(out, "circle.R"), "utf8")).toContain("\\u{5c0f}\\u{7ec4}");
    const ev = await t.db.auditEvent.findFirstOrThrow({ where: { action: "export" } });
    expect(JSON.parse(ev.data)).toMatchObject({
      formats: ["csv", "spss", "r", "stata"],
      locale: "zh",
    });
  });

  it("defaults to csv only, in the study's language; --json lists the files", async () => {
    const plain = join(t.dir, "plain");
    expect((await runCircle(t.url, ["export", "--out", plain])).code).toBe(0);
    expect(readdirSync(plain).sort()).toEqual([...EXPORT_FILES].sort());
    const spss = join(t.dir, "spss");
    const r = await runCircle(t.url, ["export", "--out", spss, "--format", "spss", "--json"]);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as { files: { name: string; rows: number }[] };
    expect(json.files.map((f) => f.name)).toEqual([...EXPORT_FILES, "circle.sps"]);
    expect(readFileSync(join(spss, "circle.sps"), "utf8")).toContain("'Group sessions'");
    // Several formats, comma-separated.
    const two = join(t.dir, "two");
    expect((await runCircle(t.url, ["export", "--out", two, "--format", "r,stata"])).code).toBe(0);
    expect(readdirSync(two).filter((f) => !f.endsWith(".csv") && !f.endsWith(".json"))).toEqual([
      "circle.R",
      "circle.do",
    ]);
  });

  it("a format that does not exist is a usage error listing the formats, and writes nothing", async () => {
    const out = join(t.dir, "bad");
    const r = await runCircle(t.url, ["export", "--out", out, "--format", "x"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      'circle: --format: unknown format "x"; choose from csv, spss, r, stata, all (or several, comma-separated)\n',
    );
    expect(() => readdirSync(out)).toThrow();
    expect(await t.db.auditEvent.count({ where: { action: "export" } })).toBe(0);
  });

  it("a language the study does not have is a usage error", async () => {
    const r = await runCircle(t.url, [
      "export",
      "--out",
      join(t.dir, "fr"),
      "--format",
      "r",
      "--lang",
      "fr",
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`circle: --lang must be one of the study's languages: en, zh; got "fr"\n`);
  });
});

describe("/export in Telegram", () => {
  let tb: TestBot;
  beforeEach(() => {
    tb = makeTestBot(t.db, t.url, { features: [researcherFeature] });
  });

  async function researcher() {
    const { code } = await createInvite(t.db, { role: "researcher", ttlHours: 1 }, { kind: "cli" });
    const u = tb.user(950);
    await u.send(`/start ${code}`);
    return u;
  }
  const zipOf = (n: number) => {
    const call = tb.tg.callsOf("sendDocument")[n]!;
    const doc = call.payload.document as unknown as { filename: string; fileData: Uint8Array };
    return {
      entries: unzipSync(new Uint8Array(doc.fileData)),
      caption: String(call.payload.caption ?? ""),
    };
  };

  it("/export spss and /export all zh send the scripts in the zip", async () => {
    const r = await researcher();
    await r.send("/export spss");
    const spss = zipOf(0);
    expect(Object.keys(spss.entries).sort()).toEqual([...EXPORT_FILES, "circle.sps"].sort());
    expect(spss.caption).toMatch(/labels in en/);
    await r.send("/export all zh");
    const all = zipOf(1);
    expect(Object.keys(all.entries).sort()).toEqual([...EXPORT_FILES, ...SCRIPTS].sort());
    expect(Buffer.from(all.entries["circle.do"]!).toString("utf8")).toContain("小组活动组");
    // The CSVs in the zip are the same as a plain export's.
    await r.send("/export");
    const plain = zipOf(2);
    expect(Object.keys(plain.entries).sort()).toEqual([...EXPORT_FILES].sort());
    for (const name of EXPORT_FILES)
      expect(Buffer.from(all.entries[name]!).equals(Buffer.from(plain.entries[name]!)), name).toBe(
        true,
      );
    expect(tb.tg.rejections).toEqual([]);
  });

  it("an unknown format gets the usage, not a file", async () => {
    const r = await researcher();
    await r.send("/export sas");
    expect(tb.tg.callsOf("sendDocument")).toHaveLength(0);
    expect(r.last().text).toMatch(/Unknown format: sas/);
    expect(r.last().text).toMatch(/Formats: csv, spss, r, stata, all/);
    expect(await t.db.auditEvent.count({ where: { action: "export" } })).toBe(0);
  });
});

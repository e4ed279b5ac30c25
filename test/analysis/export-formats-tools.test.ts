// The SPSS, R and Stata scripts against real readers. The report fixture study (62 children,
// test/fixtures/report) goes through `circle import` into a fresh database, plus one end-of-group
// answer typed on two lines with quotes and Chinese; then the export runs with every format.
// GNU PSPP runs circle.sps and R runs circle.R: both must give the same means, SDs and ns as
// Circle's own report, and carry the labels. Stata is not available here, so circle.do is checked
// by walking it command by command (names, labels, quoting).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { importAnswers } from "../../src/usecases/import.js";
import { EXPORT_FILES, type ExportResult } from "../../src/analysis/export.js";
import { exportData } from "../../src/usecases/export.js";
import { buildReport, type Report } from "../../src/analysis/report.js";
import { responseSetKey } from "../../src/usecases/assignments.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { checkDoFile, psppTables, runPspp, runRscript } from "./export-formats-support.js";

const COMMENT = 'Line one\nline two, "quoted", 中文 — it\'s $5';
const parseCsv = (s: string) => parse(s, { relax_column_count: true }) as string[][];

let flows: LoadedFlows;
let tmp: TempDb;
let report: Report;
let commentBy: string;
const dirs = { csv: "", en: "", zh: "" };
const results: Record<string, ExportResult> = {};

beforeAll(async () => {
  const loaded = loadFlows({ flowsDir: "flows" });
  if (!loaded.ok) throw new Error(loaded.errors.join("\n"));
  flows = loaded.flows;
  tmp = await tempDatabase();
  const csv = readFileSync("test/fixtures/report/answers.csv", "utf8");
  const imported = await importAnswers(tmp.db, flows, csv, {
    file: "answers.csv",
    actor: { kind: "import" },
  });
  if (!imported.ok) throw new Error(imported.errors.join("\n"));

  // One family's end-of-group questionnaire, with a free-text answer on two lines.
  const p = await tmp.db.participant.findFirstOrThrow({
    where: { arm: "experimental" },
    orderBy: { code: "asc" },
  });
  commentBy = p.code;
  const ins = flows.instruments.get("group-satisfaction")!;
  const key = responseSetKey({
    participantId: p.id,
    slot: "group-end",
    instrumentId: ins.id,
    respondent: "parent",
  });
  const rs = await tmp.db.responseSet.create({
    data: {
      key,
      participantId: p.id,
      slot: "group-end",
      timepoint: null,
      instrumentId: ins.id,
      instrumentVersion: ins.version,
      instrumentHash: ins.hash,
      respondent: "parent",
      status: "complete",
    },
  });
  for (const [i, it] of ins.items.entries())
    await tmp.db.answer.create({
      data: {
        responseSetId: rs.id,
        itemId: it.id,
        value: it.type === "text" ? null : 1 + (i % 5),
        text: it.type === "text" ? COMMENT : null,
        instrumentHash: ins.hash,
        respondent: "parent",
        answeredAt: new Date(Date.UTC(2025, 5, 1, 9, 0, i)),
      },
    });

  const cli = { kind: "cli" } as const;
  dirs.csv = join(tmp.dir, "csv");
  dirs.en = join(tmp.dir, "all-en");
  dirs.zh = join(tmp.dir, "all-zh");
  results.csv = await exportData(tmp.db, flows, dirs.csv, cli);
  results.en = await exportData(tmp.db, flows, dirs.en, cli, {
    formats: ["csv", "spss", "r", "stata"],
    locale: "en",
  });
  results.zh = await exportData(tmp.db, flows, dirs.zh, cli, {
    formats: ["csv", "spss", "r", "stata"],
    locale: "zh",
  });
  report = (await buildReport(tmp.db, flows, "social-skills")).report;
});

afterAll(async () => {
  await tmp.cleanup();
});

const ARMS = ["experimental", "control"] as const;
const MEASURES = ["total", "active_expression"] as const;
const TIMEPOINTS = ["pre", "post"] as const;
const block = (m: string) => report.scores.find((s) => s.id === m)!;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

describe("export formats: files", () => {
  it("add circle.sps, circle.R and circle.do (and an SPSS copy of multi-line CSVs)", () => {
    expect(results.csv!.files.map((f) => f.name)).toEqual([...EXPORT_FILES]);
    expect(results.en!.files.map((f) => f.name)).toEqual([
      ...EXPORT_FILES,
      "circle.sps",
      "answers_long_spss.csv",
      "circle.R",
      "circle.do",
    ]);
    for (const f of results.en!.files) expect(existsSync(join(dirs.en, f.name)), f.name).toBe(true);
  });

  it("leave every CSV file byte-identical to the plain CSV export, in either language", () => {
    for (const name of EXPORT_FILES) {
      const plain = readFileSync(join(dirs.csv, name));
      expect(readFileSync(join(dirs.en, name)).equals(plain), `${name} (en)`).toBe(true);
      expect(readFileSync(join(dirs.zh, name)).equals(plain), `${name} (zh)`).toBe(true);
    }
    // The SPSS copy differs only in the line break inside the free-text answer.
    const copy = readFileSync(join(dirs.en, "answers_long_spss.csv"), "utf8");
    const original = readFileSync(join(dirs.en, "answers_long.csv"), "utf8");
    const quoted = (t: string) => t.replace(/"/g, '""');
    expect(copy).not.toBe(original);
    expect(copy).toBe(original.replace(quoted(COMMENT), quoted(COMMENT.replace("\n", " "))));
  });

  it("carry labels and names only: no participant code or answer text", () => {
    for (const name of ["circle.sps", "circle.R", "circle.do"]) {
      const text = readFileSync(join(dirs.en, name), "utf8");
      expect(text, name).not.toMatch(/RS-\d{3}/);
      expect(text, name).not.toContain("Line one");
    }
  });

  it("are deterministic", async () => {
    const again = join(tmp.dir, "again");
    await exportData(tmp.db, flows, again, { kind: "cli" }, { formats: ["spss", "r", "stata"] });
    for (const name of ["circle.sps", "circle.R", "circle.do"])
      expect(readFileSync(join(again, name), "utf8"), name).toBe(
        readFileSync(join(dirs.en, name), "utf8"),
      );
  });
});

describe("circle.sps in GNU PSPP", () => {
  const descriptives = (dir: string) => {
    const vars = TIMEPOINTS.flatMap((tp) => MEASURES.map((m) => `social_skills.${m}.${tp}`));
    const syntax = [
      "INSERT FILE='circle.sps'.",
      "DATASET ACTIVATE scores.",
      "SET FORMAT=F30.15.",
      ...ARMS.flatMap((arm) => [
        "TEMPORARY.",
        `SELECT IF (arm = '${arm}').`,
        `DESCRIPTIVES ${vars.join(" ")} /STATISTICS=MEAN STDDEV.`,
      ]),
      "DISPLAY DICTIONARY arm gender social_skills.total.pre.",
      "DATASET ACTIVATE items.",
      "DISPLAY DICTIONARY timepoint social_skills.ae1 qol_proxy.phys1 group_satisfaction.enjoyed.",
      "DATASET ACTIVATE answers.",
      "DESCRIPTIVES age.",
      "SELECT IF (item = 'liked_most').",
      "LIST participant value.",
      "",
    ].join("\n");
    writeFileSync(join(dir, "check.sps"), syntax);
    const run = runPspp("check.sps", dir, join(dir, "pspp-output.csv"));
    const output = readFileSync(join(dir, "pspp-output.csv"), "utf8");
    return { run, output, tables: psppTables(output), vars };
  };

  it("gives the report's n, mean and SD per arm at pre and post, for the total and a subscale", () => {
    const { run, output, tables, vars } = descriptives(dirs.en);
    expect(run.status, `${run.stderr}\n${output}`).toBe(0);
    expect(output).not.toMatch(/error|warning/i);
    const desc = tables.filter((t) => t.title === "Descriptive Statistics");
    let compared = 0;
    let maxDiff = 0;
    ARMS.forEach((arm, ai) => {
      const rows = desc[ai]!.rows;
      vars.forEach((v, vi) => {
        const [, tp] = /\.(\w+)$/.exec(v)!;
        const m = v.split(".")[1]!;
        const expected = block(m).arms[arm][tp as "pre" | "post"];
        const [, n, mean, sd] = rows[vi + 1]!;
        expect(Number(n), `${arm} ${v} n`).toBe(expected.n);
        expect(
          close(Number(mean), expected.mean!),
          `${arm} ${v} mean ${mean} vs ${expected.mean}`,
        ).toBe(true);
        expect(close(Number(sd), expected.sd!), `${arm} ${v} sd ${sd} vs ${expected.sd}`).toBe(
          true,
        );
        maxDiff = Math.max(maxDiff, Math.abs(Number(mean) - expected.mean!));
        compared++;
      });
    });
    expect(compared).toBe(8);
    expect(maxDiff).toBeLessThan(1e-12);
  });

  it("declares the value labels, variable labels and levels from the flows", () => {
    const { tables } = descriptives(dirs.en);
    const valueLabels = tables
      .filter((t) => t.title === "Value Labels")
      .flatMap((t) => t.rows.slice(1));
    // Rows are "Variable label,value,label", the variable only on its first row.
    let current = "";
    const pairs = valueLabels.map(([v, value, label]) => {
      if (v) current = v;
      return `${current}|${value}|${label}`;
    });
    expect(pairs).toEqual(
      expect.arrayContaining([
        "Study arm|experimental|Group sessions",
        "Study arm|control|Usual care",
        "Gender|male|Boy",
        "Timepoint|pre|Before the group",
        "Timepoint|session:1|Session 1: Hello, circle",
        "Timepoint|group-end|End of the group",
        "My child tells others what they want or need.|1|Strongly disagree",
        "My child tells others what they want or need.|5|Strongly agree",
      ]),
    );
    const qol = flows.instruments.get("qol-proxy")!.items[0]!;
    expect(pairs).toContain(`${qol.text.en}|4|${qol.options[4]!.label.en}`);
    const vars = tables.filter((t) => t.title === "Variables").flatMap((t) => t.rows.slice(1));
    const row = (name: string) => vars.find((r) => r[0] === name)!;
    expect(row("arm").slice(2, 4)).toEqual(["Study arm", "Nominal"]);
    expect(row("social_skills.total.pre").slice(2, 4)).toEqual([
      "Total (Before the group) – Your child's social skills (parent report)",
      "Scale",
    ]);
    expect(row("social_skills.ae1").slice(2, 4)).toEqual([
      "My child tells others what they want or need.",
      "Ordinal",
    ]);
    // Empty text is declared missing.
    expect(row("arm").at(-1)).toMatch(/^" *"$/);
  });

  it("reads every answer, the two-line text included, and saves the .sav files", () => {
    const { tables } = descriptives(dirs.en);
    const rows = readFileSync(join(dirs.en, "answers_long.csv"), "utf8");
    const n = parseCsv(rows).length - 1;
    const ageTable = tables.filter((t) => t.title === "Descriptive Statistics").at(-1)!;
    expect(Number(ageTable.rows[1]![1])).toBe(n);
    const list = tables.find((t) => t.title === "Data List")!;
    expect(list.rows.slice(1)).toEqual([[commentBy, COMMENT.replace("\n", " ")]]);
    for (const f of ["scores_wide.sav", "answers_long.sav", "items_wide.sav"])
      expect(existsSync(join(dirs.en, f)), f).toBe(true);
  });

  it("labels in Chinese with --lang zh", () => {
    const { run, output, tables } = descriptives(dirs.zh);
    expect(run.status, `${run.stderr}\n${output}`).toBe(0);
    expect(output).not.toMatch(/error|warning/i);
    const text = tables
      .filter((t) => t.title === "Value Labels" || t.title === "Variables")
      .flatMap((t) => t.rows.flat())
      .join("\n");
    const zh = flows.instruments.get("social-skills")!;
    for (const s of [
      "小组活动组",
      "常规照护组",
      "男孩",
      "小组开始前",
      zh.items[0]!.text.zh!,
      zh.items[0]!.options[0]!.label.zh!,
    ])
      expect(text).toContain(s);
  });
});

describe("circle.R in R", () => {
  const hexDecode = (v: string) =>
    v === ""
      ? []
      : v.split(",").map((h) => (h === "NA" ? "NA" : Buffer.from(h, "hex").toString("utf8")));
  const runR = (dir: string) => {
    const script = `
source("circle.R")
out <- file("r-results.tsv", "wb")
hex <- function(s) if (is.na(s)) "NA" else paste(as.character(charToRaw(enc2utf8(s))), collapse = "")
emit <- function(key, value) {
  v <- if (is.character(value)) paste(vapply(value, hex, ""), collapse = ",")
       else paste(sprintf("%.17g", value), collapse = ",")
  writeLines(paste0(key, "\\t", v), out, useBytes = TRUE)
}
for (arm in c("experimental", "control")) for (m in c("total", "active_expression")) for (tp in c("pre", "post")) {
  x <- scores[[paste0("social_skills.", m, ".", tp)]][circle_codes(scores$arm) %in% arm]
  x <- x[!is.na(x)]
  emit(paste("n", arm, m, tp), c(length(x), mean(x), sd(x)))
}
emit("s levels arm", levels(scores$arm))
emit("s label arm", attr(scores$arm, "label"))
emit("s levels gender", levels(scores$gender))
emit("s levels timepoint", levels(answers$timepoint))
emit("s levels items timepoint", levels(items$timepoint))
emit("s levels ae1", levels(items[["social_skills.ae1"]]))
emit("s levels phys1", levels(items[["qol_proxy.phys1"]]))
emit("s label ae1", attr(items[["social_skills.ae1"]], "label"))
emit("s label total.pre", attr(scores[["social_skills.total.pre"]], "label"))
emit("s class", c(class(scores$age), class(scores[["social_skills.total.pre"]]), class(answers$value), class(answers$answered_at)[1]))
emit("s comment", answers$value[answers$item == "liked_most" & !is.na(answers$value)])
emit("n rows", c(nrow(scores), nrow(answers), nrow(items)))
emit("n sum ae1", sum(circle_codes(items[["social_skills.ae1"]]), na.rm = TRUE))
emit("n sum phys1", sum(circle_codes(items[["qol_proxy.phys1"]]), na.rm = TRUE))
emit("s objects", ls(all.names = TRUE))
close(out)
`;
    writeFileSync(join(dir, "check.R"), script);
    const run = runRscript("check.R", dir);
    expect(run.status, run.stderr).toBe(0);
    const out = new Map<string, string>();
    for (const line of readFileSync(join(dir, "r-results.tsv"), "utf8").split("\n")) {
      const tab = line.indexOf("\t");
      if (tab > 0) out.set(line.slice(0, tab), line.slice(tab + 1));
    }
    return {
      nums: (k: string) => out.get(`n ${k}`)!.split(",").map(Number),
      strs: (k: string) => hexDecode(out.get(`s ${k}`)!),
      stderr: run.stderr,
    };
  };

  const answers = () => parseCsv(readFileSync(join(dirs.en, "answers_long.csv"), "utf8"));
  const sumOf = (instrument: string, item: string) =>
    answers()
      .filter((r) => r[6] === instrument && r[8] === item && r[9] !== "")
      .reduce((s, r) => s + Number(r[9]), 0);

  it("gives the report's n, mean and SD and the labels", () => {
    const r = runR(dirs.en);
    expect(r.stderr).not.toMatch(/warning|error/i);
    let maxDiff = 0;
    for (const arm of ARMS)
      for (const m of MEASURES)
        for (const tp of TIMEPOINTS) {
          const [n, mean, sd] = r.nums(`${arm} ${m} ${tp}`);
          const e = block(m).arms[arm][tp];
          expect(n, `${arm} ${m} ${tp} n`).toBe(e.n);
          expect(close(mean!, e.mean!), `${arm} ${m} ${tp} mean ${mean} vs ${e.mean}`).toBe(true);
          expect(close(sd!, e.sd!), `${arm} ${m} ${tp} sd`).toBe(true);
          maxDiff = Math.max(maxDiff, Math.abs(mean! - e.mean!));
        }
    expect(maxDiff).toBeLessThan(1e-12);

    expect(r.strs("levels arm")).toEqual(["Group sessions", "Usual care"]);
    expect(r.strs("label arm")).toEqual(["Study arm"]);
    expect(r.strs("levels gender")).toEqual(["Boy", "Girl"]);
    expect(r.strs("levels timepoint").slice(0, 2)).toEqual([
      "Before the group",
      "Session 1: Hello, circle",
    ]);
    expect(r.strs("levels items timepoint")).toEqual(r.strs("levels timepoint"));
    const ss = flows.instruments.get("social-skills")!;
    expect(r.strs("levels ae1")).toEqual(ss.items[0]!.options.map((o) => o.label.en));
    expect(r.strs("label ae1")).toEqual([ss.items[0]!.text.en]);
    const qol = flows.instruments.get("qol-proxy")!;
    expect(r.strs("levels phys1")).toEqual(qol.items[0]!.options.map((o) => o.label.en));
    expect(r.strs("label total.pre")).toEqual([
      "Total (Before the group) – Your child's social skills (parent report)",
    ]);
    expect(r.strs("class")).toEqual(["integer", "numeric", "character", "POSIXct"]);
    // The two-line answer arrives exactly as typed (R reads quoted line breaks).
    expect(r.strs("comment")).toEqual([COMMENT]);
    // Items carry the same codes as the long file (qol-proxy starts at 0: codes, not positions).
    expect(r.nums("sum ae1")).toEqual([sumOf("social-skills", "ae1")]);
    expect(r.nums("sum phys1")).toEqual([sumOf("qol-proxy", "phys1")]);
    const scoresRows = parseCsv(readFileSync(join(dirs.en, "scores_wide.csv"), "utf8")).length - 1;
    const [ns, na, ni] = r.nums("rows");
    expect([ns, na]).toEqual([scoresRows, answers().length - 1]);
    // One items row per participant and timepoint with answers: 62 pre, 18 post, 1 group end.
    expect(ni).toBe(81);
    // Only the data frames and the helper are left in the workspace.
    expect(
      r.strs("objects").filter((o) => o !== "arm" && o !== "m" && o !== "tp" && o !== "x"),
    ).toEqual(["answers", "circle_codes", "emit", "hex", "items", "out", "scores"]);
  });

  it("labels in Chinese with --lang zh", () => {
    const r = runR(dirs.zh);
    const ss = flows.instruments.get("social-skills")!;
    expect(r.strs("levels arm")).toEqual(["小组活动组", "常规照护组"]);
    expect(r.strs("levels ae1")).toEqual(ss.items[0]!.options.map((o) => o.label.zh));
    expect(r.strs("label ae1")).toEqual([ss.items[0]!.text.zh]);
    expect(r.strs("levels timepoint")[0]).toBe("小组开始前");
    // The script itself is ASCII, so source() reads it in any locale.
    expect(readFileSync(join(dirs.zh, "circle.R"), "utf8")).toMatch(/^[\x20-\x7e\n]*$/);
  });
});

describe("circle.do (Stata is not available: checked structurally)", () => {
  for (const lang of ["en", "zh"] as const) {
    it(`names, labels and quoting are consistent (${lang})`, () => {
      const dir = dirs[lang];
      const doFile = readFileSync(join(dir, "circle.do"), "utf8");
      expect(checkDoFile(doFile, dir)).toEqual([]);
      // Every data column is renamed and every option-coded item gets its label.
      expect(doFile).toMatch(/^label values social_skills_ae1 social_skills$/m);
      expect(doFile).toMatch(/^label values arm arm$/m);
      expect(doFile).toContain('save "items_wide.dta", replace');
      if (lang === "zh") expect(doFile).toContain('1 `"小组活动组"\'');
    });
  }

  it("the checker catches broken do-files", () => {
    const dir = dirs.en;
    const doFile = readFileSync(join(dir, "circle.do"), "utf8");
    const broken = [
      doFile.replace("label values arm arm", "label values arm nolabel"),
      doFile.replace("label variable age", "label variable agee"),
      doFile.replace('`"Study arm"\'', '`"Study arm"'),
      doFile.replace(/\(participant arm/, "(participant 1arm"),
    ];
    for (const b of broken) expect(checkDoFile(b, dir).length).toBeGreaterThan(0);
  });
});

// The scripts with awkward input, run in the real tools: an extra instrument whose ids are long
// or reserved words ("all", "by", "if"), whose labels hold quotes, "$HOME", backticks and long
// Chinese text, and whose option codes are not whole numbers. The CSV text is made here (in the
// export's own CSV format) and the writers are called directly.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFlows } from "../../src/study/load.js";
import type { Instrument, Item, LoadedFlows } from "../../src/study/model.js";
import { toCsv } from "../../src/analysis/csv.js";
import { formatFiles, parseFormats, FormatError } from "../../src/analysis/export-formats/index.js";
import { spssString } from "../../src/analysis/export-formats/spss.js";
import { rString } from "../../src/analysis/export-formats/r.js";
import { stataString } from "../../src/analysis/export-formats/stata.js";
import { limitBytes, limitChars } from "../../src/analysis/export-formats/text.js";
import { scanCsv, withoutQuotedBreaks } from "../../src/analysis/export-formats/scan.js";
import { parse } from "csv-parse/sync";
import { checkDoFile, psppTables, runPspp, runRscript } from "./export-formats-support.js";

const ID = "edge-case-instrument-with-a-long-name-40"; // 40 characters, the most an id may have
const SUB = "interpersonal_cognition_and_more";
const TRICKY = `It's "fine" — $HOME and \`cmd\` \\ done`;
const LONG_ZH = "这是一个很长的题目，".repeat(12); // 120 characters, 360 bytes
const LONG_OPTION = "非常非常同意".repeat(10); // 60 characters, 180 bytes

function item(id: string, over: Partial<Item>): Item {
  return {
    id,
    type: "choice",
    min: 1,
    max: 3,
    reverse: false,
    subscale: SUB,
    required: true,
    text: { en: `Item ${id}`, zh: `题目 ${id}` },
    options: [],
    showIf: null,
    showIfSource: null,
    ...over,
  };
}

const edge: Instrument = {
  id: ID,
  version: 1,
  hash: "0".repeat(64),
  title: { en: `Edge "cases"`, zh: "边界情况" },
  intro: null,
  respondent: "parent",
  transform: "none",
  minAnsweredFraction: 0.5,
  subscales: [{ id: SUB, label: { en: TRICKY, zh: LONG_ZH }, items: ["all", "to-1", "if"] }],
  items: [
    item("all", {
      min: 0.5,
      max: 1.5,
      options: [
        { value: 0.5, label: { en: TRICKY, zh: "半" } },
        { value: 1, label: { en: "One", zh: "一" } },
        { value: 1.5, label: { en: "One and a half", zh: "一个半" } },
      ],
    }),
    item("by", { type: "number", min: 0, max: 100, subscale: null }),
    item("to-1", {
      options: [
        { value: 1, label: { en: "Low", zh: LONG_OPTION } },
        { value: 2, label: { en: "Mid", zh: "中" } },
        { value: 3, label: { en: "High", zh: "高" } },
      ],
    }),
    item("if", {
      text: { en: TRICKY, zh: LONG_ZH },
      options: [
        { value: 1, label: { en: "No", zh: "否" } },
        { value: 2, label: { en: "Yes", zh: "是" } },
      ],
    }),
  ],
  file: "test",
};

let flows: LoadedFlows;
let dir: string;
const scoreCols = [`${ID}.${SUB}.pre`, `${ID}.${SUB}.post`, `${ID}.total.pre`];

beforeAll(async () => {
  const loaded = loadFlows({ flowsDir: "flows" });
  if (!loaded.ok) throw new Error(loaded.errors.join("\n"));
  flows = {
    ...loaded.flows,
    instruments: new Map([...loaded.flows.instruments, [ID, edge]]),
    instrumentList: [...loaded.flows.instrumentList, edge],
  };
  dir = mkdtempSync(join(tmpdir(), "circle-export-edge-"));
  const people = [
    ["E-1", "experimental", 'ward "a"', "female", 8],
    ["C-1", "control", "", "male", 11],
    ["N-1", "", "", "female", 6],
  ] as const;
  const files = {
    "scores_wide.csv": toCsv(
      ["participant", "arm", "group", "gender", "age", ...scoreCols],
      [
        [...people[0], 1.25, 1.5, 1.4166666666666667],
        [...people[1], 2, null, 2],
        [...people[2], null, null, null],
      ],
    ),
    "answers_long.csv": toCsv(
      [
        "participant",
        "arm",
        "group",
        "gender",
        "age",
        "timepoint",
        "instrument",
        "instrument_hash",
        "item",
        "value",
        "respondent",
        "answered_at",
        "source",
      ],
      [
        [
          ...people[0],
          "pre",
          ID,
          edge.hash,
          "all",
          0.5,
          "parent",
          "2025-01-01T00:00:00.000Z",
          "telegram",
        ],
        [
          ...people[0],
          "pre",
          ID,
          edge.hash,
          "by",
          42.5,
          "parent",
          "2025-01-01T00:00:01.000Z",
          "telegram",
        ],
        [
          ...people[0],
          "pre",
          ID,
          edge.hash,
          "to-1",
          1,
          "parent",
          "2025-01-01T00:00:02.000Z",
          "telegram",
        ],
        [
          ...people[0],
          "pre",
          ID,
          edge.hash,
          "if",
          2,
          "parent",
          "2025-01-01T00:00:03.000Z",
          "telegram",
        ],
        [
          ...people[1],
          "pre",
          ID,
          edge.hash,
          "all",
          1.5,
          "parent",
          "2025-01-01T00:00:00.000Z",
          "import",
        ],
        [
          ...people[1],
          "pre",
          ID,
          edge.hash,
          "if",
          "",
          "parent",
          "2025-01-01T00:00:03.000Z",
          "import",
        ],
      ],
    ),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  for (const locale of ["en", "zh"]) {
    const out = await formatFiles({ flows, formats: ["spss", "r", "stata"], locale, files });
    for (const f of out)
      writeFileSync(join(dir, f.name.replace(/^circle/, `circle-${locale}`)), f.content);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("string literals", () => {
  it("SPSS doubles quotes and splits long text into pieces joined with +", () => {
    expect(spssString(`it's`)).toBe(`'it''s'`);
    const long = spssString("x".repeat(130));
    expect(long.split(" +\n").length).toBe(3);
  });

  it("R literals are ASCII and parse back to the same text in R", () => {
    const samples = [TRICKY, LONG_ZH, "🙁 Not really", 'tab\tand "quote" and \\', "é"];
    for (const s of samples) expect(rString(s)).toMatch(/^"[\x20-\x7e]*"$/);
    writeFileSync(
      join(dir, "literals.R"),
      `x <- c(${samples.map(rString).join(", ")})\nwriteBin(charToRaw(paste(x, collapse = "\\u0001")), "literals.out")\n`,
    );
    const run = runRscript("literals.R", dir);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dir, "literals.out"), "utf8")).toBe(samples.join("\u0001"));
  });

  it("Stata strings are compound-quoted and cannot expand macros", () => {
    expect(stataString(TRICKY)).toBe("`\"It's \"fine\" — \\$HOME and 'cmd' \\ done\"'");
    expect(stataString(`say "hi"'`)).toBe('`"say "hi" \'"\'');
  });

  it("limits cut at character boundaries", () => {
    expect(limitBytes("中文中文", 9)).toBe("中文…");
    expect(Buffer.byteLength(limitBytes(LONG_ZH, 255))).toBeLessThanOrEqual(255);
    expect([...limitChars(LONG_ZH, 80)]).toHaveLength(80);
    expect(limitBytes("short", 255)).toBe("short");
  });
});

describe("parseFormats", () => {
  it("accepts one format, several, all; rejects others with the list", () => {
    expect(parseFormats("spss")).toEqual(["spss"]);
    expect(parseFormats("STATA, r")).toEqual(["r", "stata"]);
    expect(parseFormats("all")).toEqual(["csv", "spss", "r", "stata"]);
    expect(() => parseFormats("sas")).toThrow(FormatError);
    expect(() => parseFormats("sas")).toThrow(/csv, spss, r, stata, all/);
    expect(() => parseFormats("")).toThrow(FormatError);
  });
});

describe("awkward names and labels in the real tools", () => {
  for (const locale of ["en", "zh"] as const) {
    it(`PSPP reads them without an error or warning (${locale})`, () => {
      writeFileSync(
        join(dir, `check-${locale}.sps`),
        [
          `INSERT FILE='circle-${locale}.sps'.`,
          "DATASET ACTIVATE scores.",
          "DISPLAY DICTIONARY.",
          "DATASET ACTIVATE items.",
          "DISPLAY DICTIONARY.",
          "SET FORMAT=F30.15.",
          "LIST.",
          "",
        ].join("\n"),
      );
      const run = runPspp(`check-${locale}.sps`, dir, join(dir, `out-${locale}.csv`));
      const output = readFileSync(join(dir, `out-${locale}.csv`), "utf8");
      expect(run.status, `${run.stderr}\n${output}`).toBe(0);
      expect(output).not.toMatch(/error|warning/i);
      const tables = psppTables(output);
      const vars = tables.filter((t) => t.title === "Variables").flatMap((t) => t.rows.slice(1));
      const names = vars.map((r) => r[0]!);
      for (const n of names) expect(Buffer.byteLength(n), n).toBeLessThanOrEqual(64);
      // Long ids were shortened (item ids such as "all" are safe behind the instrument's);
      // labels keep at most 255 bytes.
      expect(names).toEqual(
        expect.arrayContaining([expect.stringMatching(/\.all$/), expect.stringMatching(/\.by$/)]),
      );
      expect(names.some((n) => n.length > 60)).toBe(true);
      for (const r of vars) expect(Buffer.byteLength(r[2]!), r[0]).toBeLessThanOrEqual(255);
      const ifVar = vars.find((r) => /\.if$/.test(r[0]!))!;
      if (locale === "en") expect(ifVar[2]).toBe(TRICKY);
      else expect(ifVar[2]!.endsWith("…")).toBe(true);
      const labels = tables
        .filter((t) => t.title === "Value Labels")
        .flatMap((t) => t.rows.slice(1));
      if (locale === "en") expect(labels.map((r) => r[2])).toContain(TRICKY);
      else for (const r of labels) expect(Buffer.byteLength(r[2]!)).toBeLessThanOrEqual(120);
      // Item values read back: 0.5 and 42.5 survive (no implied decimals).
      const list = tables.filter((t) => t.title === "Data List").at(-1)!;
      const flat = list.rows.flat().join(" ");
      expect(flat).toContain("42.5");
      expect(flat).toMatch(/\b\.5|0\.5/);
    });

    it(`R reads them with exact labels (${locale})`, () => {
      writeFileSync(
        join(dir, `check-${locale}.R`),
        [
          `source("circle-${locale}.R")`,
          `stopifnot(all(make.names(names(scores)) == names(scores)), all(make.names(names(items)) == names(items)))`,
          `f <- items[[grep("[.]all$", names(items), value = TRUE)]]`,
          `writeBin(charToRaw(paste(c(levels(f), attr(f, "label"), format(circle_codes(f)), names(items)), collapse = "\\u0001")), "r-${locale}.out")`,
          "",
        ].join("\n"),
      );
      const run = runRscript(`check-${locale}.R`, dir);
      expect(run.status, run.stderr).toBe(0);
      const out = readFileSync(join(dir, `r-${locale}.out`), "utf8").split("\u0001");
      const labels = edge.items[0]!.options.map((o) => o.label[locale]!);
      expect(out.slice(0, 3)).toEqual(labels);
      expect(out[3]).toBe(edge.items[0]!.text[locale]);
      // Rows in participant order: C-1 answered 1.5, E-1 0.5.
      expect(out.slice(4, 6).map(Number)).toEqual([1.5, 0.5]);
      expect(out).toContain(`${ID.replace(/-/g, "_")}.if`);
    });

    it(`the do-file stays consistent and skips labels Stata cannot hold (${locale})`, () => {
      const doFile = readFileSync(join(dir, `circle-${locale}.do`), "utf8");
      expect(checkDoFile(doFile, dir)).toEqual([]);
      expect(doFile).toMatch(/the option codes are not whole numbers, so Stata cannot label them/);
      for (const m of doFile.matchAll(/^(?:generate double|label define) (\S+)/gm))
        expect(m[1]!.length, m[1]).toBeLessThanOrEqual(32);
    });
  }
});

describe("scanCsv", () => {
  const awkward = toCsv(
    ["participant", "arm", "value", "note"],
    [
      ["A-1", "experimental", 3, 'say "hi", twice'],
      ["A-2", "", "two\nlines", '🙁 中文, "x"'],
      ["A-3", "control", -4, "crlf\r\ninside"],
      ["A-4", "control", 2.5, ""],
      ["A-5", "", "", null],
    ],
  );

  it("agrees with csv-parse on awkward input", async () => {
    for (const text of [awkward, awkward.replace(/\n(?=A-|$)/g, "\r\n"), awkward.trimEnd()]) {
      const records = parse(text, { relax_column_count: true }) as string[][];
      const [header, ...rows] = records;
      const scan = await scanCsv(text, new Set(["arm"]));
      expect(scan.rows).toBe(rows.length);
      expect(scan.multiline).toBe(true);
      expect(scan.columns.map((c) => c.name)).toEqual(header);
      scan.columns.forEach((c, i) => {
        const values = rows.map((r) => r[i]!).filter((v) => v !== "");
        expect(c.maxBytes, c.name).toBe(Math.max(0, ...values.map((v) => Buffer.byteLength(v))));
        expect(c.integer, c.name).toBe(values.every((v) => /^-?\d+$/.test(v)));
      });
      expect([...scan.columns[1]!.distinct].sort()).toEqual(["control", "experimental"]);
    }
  });

  it("sees a file without line breaks in values as single-line", async () => {
    const scan = await scanCsv(
      toCsv(
        ["a", "b"],
        [
          ["x", 1],
          ["y, z", 2],
        ],
      ),
      new Set(),
    );
    expect(scan).toMatchObject({ rows: 2, multiline: false });
    expect(scan.columns[0]!.maxBytes).toBe(4);
  });

  it("withoutQuotedBreaks replaces line breaks inside quotes only", () => {
    expect(withoutQuotedBreaks(awkward)).toBe(
      awkward.replace("two\nlines", "two lines").replace("crlf\r\ninside", "crlf inside"),
    );
    const records = parse(withoutQuotedBreaks(awkward)) as string[][];
    expect(records).toHaveLength(6);
  });
});

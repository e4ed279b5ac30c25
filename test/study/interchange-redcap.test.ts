// Importing REDCap data dictionaries: the hand-written fixture (two forms, every column, Circle's
// @CIRCLE- annotation tags, unsupported field types), and dictionaries that must fail clearly.
import { afterAll, describe, expect, it } from "vitest";
import { parseExpr } from "../../src/study/expr.js";
import { exportInstrument } from "../../src/study/interchange/index.js";
import { parseTags } from "../../src/study/interchange/redcap.js";
import { copyFlows } from "./support.js";
import { csvFile, FIXTURES, importFrom, scratchStudy } from "../fixtures/interchange/support.js";

const study = scratchStudy();
afterAll(() => study.cleanup());
const FIXTURE = `${FIXTURES}/sleep-play-redcap.csv`;

describe("the hand-written REDCap fixture", async () => {
  const r = await importFrom(FIXTURE, "redcap", study.dir, { form: "sleep_play" });
  const xls = await importFrom(`${FIXTURES}/sleep-play.xlsx`, "xlsform", study.dir);

  it("becomes an instrument Circle's loader accepts", () => {
    expect(r.errors).toEqual([]);
    expect(r.instrument).toMatchObject({
      id: "sleep_play",
      version: 2,
      respondent: "parent",
      title: { en: "Sleep and play this week", zh: "本周的睡眠和玩耍" },
      // The first Section Header is the introduction; @CIRCLE-INTRO-zh its translation.
      intro: {
        en: "A few questions about sleep and play over the past week.",
        zh: "关于过去一周睡眠和玩耍的几个问题。",
      },
    });
    expect(r.instrument!.subscales.map((s) => [s.id, s.label, s.items])).toEqual([
      ["sleep", { en: "Sleeping well", zh: "睡眠" }, ["sleep_bad", "sleep_tired"]],
      ["play", { en: "Playing", zh: "玩耍" }, ["play_friends", "play_alone", "play_new"]],
    ]);
  });

  it("maps radio, dropdown, yesno, validated text, notes, branching and keying", () => {
    const items = Object.fromEntries(r.instrument!.items.map((i) => [i.id, i]));
    expect(Object.keys(items)).toEqual([
      "sleep_bad",
      "sleep_tired",
      "nights_hosp",
      "pain",
      "pain_often",
      "pain_score",
      "play_friends",
      "play_alone",
      "feel_safe",
      "feel_calm",
      "contact",
      "comment",
      "play_new",
      "play_score",
    ]);
    expect(items.pain!.options).toEqual([
      { value: 1, label: { en: "Yes", zh: "是" } },
      { value: 0, label: { en: "No", zh: "否" } },
    ]);
    expect(items.pain_score!.showIf).toEqual(parseExpr("pain == 1 and pain_often >= 2"));
    expect(items.play_alone!.showIf).toEqual(
      parseExpr("not (pain == 1) or not (nights_hosp == 0)"),
    );
    expect(items.comment!.showIf).toEqual(parseExpr("answered(pain)"));
    expect(items.contact).toMatchObject({ type: "text", required: false });
    expect(items.play_score!.options.map((o) => o.label.zh)).toEqual([
      "一点也不",
      "有一点",
      "很喜欢",
    ]);
  });

  it("reads the same questions as the XLSForm fixture into the same Circle items", () => {
    const pick = (i: NonNullable<typeof r.instrument>["items"][number]) => ({
      ...i,
      showIfSource: undefined,
    });
    const fromXls = new Map(xls.instrument!.items.map((i) => [i.id, pick(i)]));
    const shared = r.instrument!.items.filter((i) => fromXls.has(i.id));
    expect(shared.map((i) => i.id)).toHaveLength(10);
    for (const it of shared) expect(pick(it)).toEqual(fromXls.get(it.id));
    expect(r.instrument!.subscales).toEqual(xls.instrument!.subscales);
  });

  it("lists everything it did not carry over, by row and name", () => {
    expect(r.notCarried).toEqual([
      "row 6 (nights_hosp): integer: Circle accepts any number from 0 to 7, not only whole numbers",
      "row 10 (symptoms): checkbox (several answers) is not supported: a Circle question takes one answer",
      'row 11 (play_friends): Section Header "Playing" is not carried over (Circle has no sections)',
      "row 11 (play_friends): Branching Logic \"[symptoms(1)] = '1'\" is not carried over: [symptoms(1)] (a checkbox option) is not supported; the question will be asked of everyone",
      "row 13 (total): calculated field (calc) is not carried over (Circle computes scores itself)",
      "row 14 (info): descriptive text is not carried over (Circle has no information-only questions)",
      "row 15 (mood): slider is not supported",
      "row 17 (feel_calm): action tag @HIDDEN-SURVEY not carried over",
      'row 18 (contact): text validation "email" is not carried over; the answer is free text',
      "row 18 (contact): Identifier? is not carried over: Circle has no identifier fields and exports answers under pseudonymous codes, so do not ask for names or contact details",
      'row 20 (play_new): Branching Logic "[child_age] > 5" is not carried over: refers to [child_age], which is in form "demographics"; Circle skip logic can only use earlier questions of the same instrument; the question will be asked of everyone',
      "row 21 (play_score): Branching Logic \"datediff([child_dob], 'today', 'y') > 5\" is not carried over: the function datediff() is not supported; the question will be asked of everyone",
      'matrix group "feelings": the grid layout is not carried over; its fields (rows 16, 17) become separate questions',
      'dictionary column "Custom Alignment": not carried over (row 5)',
    ]);
    expect(r.notes).toEqual([
      "row 2 (record_id): the record identifier is not a question; not carried over",
      "row 5 (sleep_tired): Field Note added to the question text on a new line",
      "row 7 (pain): yesno becomes a choice of 1 = Yes and 0 = No",
    ]);
  });
});

const HEAD = [
  "Variable / Field Name",
  "Form Name",
  "Section Header",
  "Field Type",
  "Field Label",
  "Choices, Calculations, OR Slider Labels",
  "Field Note",
  "Text Validation Type OR Show Slider Number",
  "Text Validation Min",
  "Text Validation Max",
  "Identifier?",
  "Branching Logic (Show field only if...)",
  "Required Field?",
  "Custom Alignment",
  "Question Number (surveys only)",
  "Matrix Group Name",
  "Matrix Ranking?",
  "Field Annotation",
];
const field = (name: string, type: string, label: string, over: Record<string, string> = {}) => {
  const row = HEAD.map(() => "");
  const at = (h: string) => HEAD.indexOf(h);
  row[at("Variable / Field Name")] = name;
  row[at("Form Name")] = over.form ?? "mood";
  row[at("Field Type")] = type;
  row[at("Field Label")] = label;
  row[at("Choices, Calculations, OR Slider Labels")] = over.choices ?? "";
  row[at("Field Annotation")] = over.annotation ?? "";
  row[at("Branching Logic (Show field only if...)")] = over.branching ?? "";
  return row;
};
const good = (): string[][] => [
  HEAD,
  field("m1", "radio", "Mood today", {
    choices: "1, Low | 2, High",
    annotation:
      '@CIRCLE-TITLE-en="Mood" @CIRCLE-TITLE-zh="心情" @CIRCLE-TEXT-zh="今天的心情" @CIRCLE-CHOICES-zh="1, 低 | 2, 高"',
  }),
];
let n = 0;
const run = (rows: string[][], form?: string) =>
  importFrom(
    csvFile(study.file(`dict${++n}.csv`), rows),
    "redcap",
    study.dir,
    form ? { form } : {},
  );

describe("REDCap import: what is checked", () => {
  it("accepts the small dictionary (so each failure below is the one mistake)", async () => {
    const r = await run(good());
    expect(r.errors).toEqual([]);
    expect(r.instrument!.id).toBe("mood");
  });

  it("asks which form when there are several", async () => {
    const r = await run([...good(), field("x1", "notes", "Other", { form: "other" })]);
    expect(r.errors).toEqual([
      `dict${n}.csv: the dictionary has 2 forms (mood, other); choose one with --form`,
    ]);
    expect((await importFrom(FIXTURE, "redcap", study.dir, { form: "nope" })).errors).toEqual([
      'sleep-play-redcap.csv: no form "nope" in the dictionary (forms: demographics, sleep_play)',
    ]);
  });

  it("applies the translation gate, saying which tag to add", async () => {
    const r = await importFrom(FIXTURE, "redcap", study.dir, { form: "demographics" });
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      'form "demographics": @CIRCLE-TITLE: missing translation "zh" (add @CIRCLE-TITLE-zh="…" to a Field Annotation)',
      'row 3 (child_age): Field Label: missing translation "zh" (add @CIRCLE-TEXT-zh="…" to its Field Annotation)',
    ]);
    const rows = good();
    rows[1]![17] = '@CIRCLE-TITLE-en="Mood" @CIRCLE-TITLE-zh="心情" @CIRCLE-TEXT-zh="今天的心情"';
    expect((await run(rows)).errors).toEqual([
      'row 2 (m1) choice "1": label: missing translation "zh" (add @CIRCLE-CHOICES-zh="1, … | 2, …" to the field\'s Field Annotation)',
      'row 2 (m1) choice "2": label: missing translation "zh" (add @CIRCLE-CHOICES-zh="1, … | 2, …" to the field\'s Field Annotation)',
    ]);
  });

  it("rejects a file that is not a data dictionary", async () => {
    const r = await run([
      ["participant", "item", "value"],
      ["LK-1", "q1", "3"],
    ]);
    expect(r.errors).toEqual([
      `dict${n}.csv: not a REDCap data dictionary: no "Variable / Field Name", "Form Name", "Field Type", "Field Label" column`,
    ]);
  });

  it("rejects duplicate variables, choices without codes, mistyped Circle tags", async () => {
    const rows = good();
    rows.push(field("m1", "radio", "Again", { choices: "Low | High" }));
    rows.push(
      field("m3", "radio", "Third", { choices: "1, A | 2, B", annotation: "@CIRCLE-SUBSCAL=mood" }),
    );
    rows.push(
      field("m4", "radio", "Fourth", {
        choices: "1, A | 2, B",
        annotation: '@CIRCLE-CHOICES-zh="1, 甲 | 3, 丙"',
      }),
    );
    expect((await run(rows)).errors).toEqual([
      'row 3 (m1): duplicate variable "m1" (also row 2)',
      'row 3 (m1): choice "Low" has no code; write it as "1, Low"',
      "row 4 (m3): unknown Circle tag @CIRCLE-SUBSCAL",
      "row 5 (m4): @CIRCLE-CHOICES-zh must list the same codes in the same order (1, 2)",
    ]);
  });

  it("asks for a range on number fields", async () => {
    const rows = good();
    const f = field("days", "text", "Days", { annotation: '@CIRCLE-TEXT-zh="天数"' });
    f[7] = "number";
    f[8] = "0";
    rows.push(f);
    expect((await run(rows)).errors).toEqual([
      "row 3 (days): a number question needs a range in Circle: fill in Text Validation Min and Max",
    ]);
  });
});

describe("REDCap export: what cannot be written", () => {
  it("refuses an answer label with the choice separator in it", async () => {
    const f = copyFlows();
    try {
      f.edit(
        "instruments/session-satisfaction.yaml",
        (d) => (d.scales.zero_ten.options[0].label.en = "0 | not at all"),
      );
      const r = f.load();
      if (!r.ok) throw new Error(r.errors.join("\n"));
      const out = await exportInstrument(
        r.flows,
        r.flows.instruments.get("session-satisfaction")!,
        "redcap",
      );
      expect(out.ok).toBe(false);
      expect(out.data).toBeNull();
      expect(out.errors).toEqual([
        'scale "zero_ten": the answer label "0 | not at all" contains "|" or a line break, which REDCap uses between choices',
      ]);
    } finally {
      f.cleanup();
    }
  });
});

describe("annotation tags", () => {
  it("reads bare, quoted (with escapes) and parenthesised values", () => {
    expect(
      parseTags(
        'note @CIRCLE-REVERSE @CIRCLE-SUBSCALE=sleep @CIRCLE-TEXT-zh="说 \\"好\\" \\\\ 吧" @HIDDEN @IF([a]=1, @READONLY, \'\') a@b.org',
      ),
    ).toEqual([
      { name: "CIRCLE-REVERSE", value: null },
      { name: "CIRCLE-SUBSCALE", value: "sleep" },
      { name: "CIRCLE-TEXT-zh", value: '说 "好" \\ 吧' },
      { name: "HIDDEN", value: null },
      { name: "IF", value: "[a]=1, @READONLY, ''" },
    ]);
  });
});

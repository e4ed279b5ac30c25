// Importing XLSForms: the hand-made fixture (every supported column, several unsupported
// features), and malformed sheets that must fail with a message naming the row.
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { parseExpr } from "../../src/study/expr.js";
import { buildXlsx, FIXTURE } from "../fixtures/interchange/make-xlsform.js";
import { FIXTURES, importFrom, scratchStudy, xlsxFile } from "../fixtures/interchange/support.js";

const study = scratchStudy();
afterAll(() => study.cleanup());

const EN = "label::English (en)";
const ZH = "label::Chinese (zh)";

describe("the hand-made XLSForm fixture", async () => {
  const r = await importFrom(`${FIXTURES}/sleep-play.xlsx`, "xlsform", study.dir);

  it("is the file its script writes (so the script documents it)", () => {
    expect(
      Buffer.from(buildXlsx(FIXTURE)).equals(readFileSync(`${FIXTURES}/sleep-play.xlsx`)),
    ).toBe(true);
  });

  it("becomes an instrument Circle's loader accepts", () => {
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    const ins = r.instrument!;
    expect(ins).toMatchObject({
      id: "sleep-play",
      version: 3,
      respondent: "parent",
      transform: "none",
      title: { en: "Sleep and play this week", zh: "本周的睡眠和玩耍" },
      intro: {
        en: "A few questions about sleep and play over the past week.",
        zh: "关于过去一周睡眠和玩耍的几个问题。",
      },
    });
    expect(ins.subscales).toEqual([
      {
        id: "sleep",
        label: { en: "Sleeping well", zh: "睡眠" },
        items: ["sleep_bad", "sleep_tired"],
      },
      {
        id: "play",
        label: { en: "Playing", zh: "玩耍" },
        items: ["play_friends", "play_alone", "play_new"],
      },
    ]);
  });

  it("maps each question: type, range, keying, required, hint and skip logic", () => {
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
      "comment",
      "play_new",
    ]);
    // A rich-text label (bold run in the middle) reads as its plain text.
    expect(items.sleep_bad).toMatchObject({
      type: "choice",
      text: { en: "How often did your child sleep badly?", zh: "孩子多久睡不好一次？" },
      reverse: true,
      required: true,
      subscale: "sleep",
      min: 0,
      max: 3,
      showIf: null,
    });
    expect(items.sleep_bad!.options).toEqual([
      { value: 0, label: { en: "Never", zh: "从不" } },
      { value: 1, label: { en: "Sometimes", zh: "有时" } },
      { value: 2, label: { en: "Often", zh: "经常" } },
      { value: 3, label: { en: "Always", zh: "总是" } },
    ]);
    // Hints are added to the question text; an Excel TRUE counts as required.
    expect(items.sleep_tired!.text).toEqual({
      en: "How often did your child seem tired in the day?\nThink of school days and weekends.",
      zh: "孩子白天看起来疲倦的频率？\n上学日和周末都算。",
    });
    expect(items.sleep_tired!.required).toBe(true);
    expect(items.nights_hosp).toMatchObject({ type: "number", min: 0, max: 7, required: true });
    expect(items.pain!.options.map((o) => o.value)).toEqual([1, 0]);
    // The group's relevant applies to the questions inside it.
    expect(items.pain_often!.showIf).toEqual(parseExpr("pain == 1"));
    expect(items.pain_score).toMatchObject({ type: "number", min: 0, max: 10, required: false });
    expect(items.pain_score!.showIf).toEqual(parseExpr("pain == 1 and pain_often >= 2"));
    expect(items.play_alone!.showIf).toEqual(
      parseExpr("not (pain == 1) or not (nights_hosp == 0)"),
    );
    expect(items.comment).toMatchObject({ type: "text", required: false, min: null, max: null });
    expect(items.comment!.text.en).toBe("Anything else about this week?"); // an inline string
    expect(items.comment!.showIf).toEqual(parseExpr("answered(pain)"));
    expect(items.play_friends!.showIf).toBeNull();
    expect(items.play_new!.showIf).toBeNull();
  });

  it("lists everything it did not carry over, by row and name", () => {
    expect(r.notCarried).toEqual([
      'settings column "style": not carried over (row 2)',
      'survey row 2 (start): metadata "start" is not carried over',
      "survey row 6 (nights_hosp): integer: Circle accepts any number from 0 to 7, not only whole numbers",
      'survey row 7 (q_photo): type "image" is not supported',
      'survey row 9 (pain_grp): the label of group "pain_grp" is not carried over (Circle has no sections); its questions are kept',
      'survey row 13 (play_kinds): type "select_multiple play_kinds" is not supported (a Circle question takes one answer)',
      `survey row 14 (play_friends): relevant "selected(\${play_kinds}, 'outdoor')" is not carried over: refers to \${play_kinds}, which is not carried over (type "select_multiple"); the question will be asked of everyone`,
      'survey row 16 (total): type "calculate" is not carried over (Circle computes scores itself)',
      `survey row 18 (play_new): relevant "today() > '2024-01-01'" is not carried over: the function today() is not supported; the question will be asked of everyone`,
      'survey column "appearance": not carried over (row 8)',
      'survey column "calculation": not carried over (row 16)',
    ]);
    expect(r.notes).toEqual([
      "survey row 5 (sleep_tired): hint added to the question text on a new line",
      'choices row 8 (play_kinds): list "play_kinds" is not used by any question carried over; not carried over',
      'choices row 10 (colours): list "colours" is not used by any question carried over; not carried over',
    ]);
  });

  it("writes the list into the YAML's header comment", () => {
    expect(r.yaml!.split("\n").slice(0, 3)).toEqual([
      "# Imported by `circle flows import` from sleep-play.xlsx (XLSForm).",
      "# Not carried over:",
      '#   - settings column "style": not carried over (row 2)',
    ]);
    expect(r.yaml).toContain('#   - survey row 7 (q_photo): type "image" is not supported\n');
  });
});

/** A small valid form; each test breaks one thing. */
const tiny = (): Record<string, string[][]> => ({
  survey: [
    ["type", "name", EN, ZH, "required"],
    ["select_one yn", "q1", "Question one", "问题一", "yes"],
    ["select_one yn", "q2", "Question two", "问题二", "yes"],
  ],
  choices: [
    ["list_name", "name", EN, ZH],
    ["yn", "1", "Yes", "是"],
    ["yn", "0", "No", "否"],
  ],
  settings: [
    ["form_title", "form_id", "version", "circle_title::Chinese (zh)"],
    ["Tiny", "tiny", "2", "小问卷"],
  ],
});

let n = 0;
async function run(sheets: Record<string, string[][]>, extra: { lang?: string } = {}) {
  const file = await xlsxFile(study.file(`form${++n}.xlsx`), sheets);
  return importFrom(file, "xlsform", study.dir, extra);
}

describe("XLSForm import: what is checked", () => {
  it("accepts the small form (so each failure below is the one mistake)", async () => {
    const r = await run(tiny());
    expect(r.errors).toEqual([]);
    expect(r.instrument?.items.map((i) => i.id)).toEqual(["q1", "q2"]);
    expect(r.notes).toEqual([
      "settings: no circle_respondent; the questionnaire is answered by the parent",
    ]);
  });

  it("needs a survey sheet", async () => {
    const f = tiny();
    const r = await run({ questions: f.survey!, choices: f.choices!, settings: f.settings! });
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      `form${n}.xlsx: no "survey" sheet (found: "questions", "choices", "settings"); an XLSForm needs survey, choices and settings sheets`,
    ]);
  });

  it("rejects a select_one naming a list that does not exist", async () => {
    const f = tiny();
    f.survey![2]![0] = "select_one agree5";
    const r = await run(f);
    expect(r.errors).toEqual([
      'survey row 3 (q2): select_one names list "agree5", which is not in the choices sheet',
    ]);
  });

  it("rejects duplicate names, in the survey and in a list", async () => {
    const f = tiny();
    f.survey![2]![1] = "q1";
    f.choices!.push(["yn", "1", "Yes again", "又是"]);
    const r = await run(f);
    expect(r.errors).toEqual([
      'survey row 3 (q1): duplicate name "q1" (also survey row 2)',
      'choices row 4 (yn/1): duplicate choice "1" in list "yn" (also choices row 2)',
    ]);
  });

  it("rejects choice names that are not numbers (Circle scores numbers)", async () => {
    const f = tiny();
    f.choices![1]![1] = "yes";
    const r = await run(f);
    expect(r.errors).toEqual([
      'choices row 2 (yn/yes): choice "yes" is not a number; Circle stores and scores answers as numbers, so give the choices numeric codes (1, 2, 3 …)',
    ]);
  });

  it("applies the translation gate: a missing Chinese text fails, naming the row and the column to fill", async () => {
    const f = tiny();
    f.survey = f.survey!.map((r) => r.filter((_, i) => i !== 3));
    f.choices![2]![3] = "";
    f.settings = [
      ["form_title", "form_id"],
      ["Tiny", "tiny"],
    ];
    const r = await run(f);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      'settings: circle_title: missing translation "zh" (fill in a "circle_title::Chinese (zh)" column)',
      'survey row 2 (q1): label: missing translation "zh" (fill in a "label::Chinese (zh)" column)',
      'survey row 3 (q2): label: missing translation "zh" (fill in a "label::Chinese (zh)" column)',
      'choices row 3 (yn/0): label: missing translation "zh" (fill in a "label::Chinese (zh)" column)',
    ]);
    expect(r.yaml).toBeNull();
  });

  it("reads a plain label column in the default language, or in the one --lang names", async () => {
    const f = tiny();
    f.survey![0] = ["type", "name", "label", "label::English (en)", "required"];
    f.survey![1] = ["select_one yn", "q1", "问题一", "Question one", "yes"];
    f.survey![2] = ["select_one yn", "q2", "问题二", "Question two", "yes"];
    expect((await run(f)).errors).toContain(
      'survey row 2 (q1): label: missing translation "zh" (fill in a "label::Chinese (zh)" column)',
    );
    // form_title is then Chinese too, so English needs its own title column.
    f.settings = [
      ["form_title", "form_id", "circle_title::English (en)"],
      ["小问卷", "tiny", "Tiny"],
    ];
    const r = await run(f, { lang: "zh" });
    expect(r.errors).toEqual([]);
    expect(r.instrument!.items[0]!.text).toEqual({ zh: "问题一", en: "Question one" });
  });

  it("asks for a range on number questions", async () => {
    const f = tiny();
    f.survey![0]!.push("constraint");
    f.survey!.push(["integer", "days", "Days", "天数", "yes", ". >= 0"]);
    f.survey!.push(["decimal", "temp", "Temperature", "体温", "yes", ". > 35 and . < 42"]);
    const r = await run(f);
    expect(r.errors).toEqual([
      'survey row 4 (days): a number question needs a range in Circle: add a constraint like ". >= 0 and . <= 10"',
    ]);
    f.survey![3]![5] = ". > -1 and . < 8";
    const ok = await run(f);
    expect(ok.errors).toEqual([]);
    expect(ok.instrument!.items.slice(2).map((i) => [i.min, i.max])).toEqual([
      [0, 7],
      [35, 42],
    ]);
    expect(ok.notCarried).toEqual([
      "survey row 4 (days): integer: Circle accepts any number from 0 to 7, not only whole numbers",
      'survey row 5 (temp): ". > 35" becomes ". >= 35" (Circle\'s ranges include their ends)',
      'survey row 5 (temp): ". < 42" becomes ". <= 42" (Circle\'s ranges include their ends)',
    ]);
  });

  it("rejects skip logic naming a question that is not in the form", async () => {
    const f = tiny();
    f.survey![0]!.push("relevant");
    f.survey![2]!.push("${q9} = '1'");
    const r = await run(f);
    expect(r.errors).toEqual([
      "survey row 3 (q2): relevant \"${q9} = '1'\" refers to ${q9}, which is not in the form",
    ]);
  });

  it("drops skip logic on a later question, saying so", async () => {
    const f = tiny();
    f.survey![0]!.push("relevant");
    f.survey![1]!.push("${q2} = '1'");
    const r = await run(f);
    expect(r.errors).toEqual([]);
    expect(r.notCarried).toEqual([
      "survey row 2 (q1): relevant \"${q2} = '1'\" is not carried over: refers to ${q2}, which comes later (Circle skip logic may only use earlier questions); the question will be asked of everyone",
    ]);
  });

  it("rejects unbalanced groups and unreadable language columns", async () => {
    const f = tiny();
    f.survey!.splice(2, 0, ["begin group", "g1", "Group", "组", ""]);
    f.survey![0]![3] = "label::Klingon";
    const r = await run(f);
    expect(r.errors).toEqual([
      'survey row 3 (g1): "begin group" has no "end group"',
      'survey column "label::Klingon": cannot tell which language "Klingon" is; write it with its code, e.g. "Klingon (xx)"',
    ]);
    f.survey![0]![3] = ZH;
    expect((await run(f)).errors).toEqual(['survey row 3 (g1): "begin group" has no "end group"']);
  });

  it("turns names into Circle ids, and rejects two that become the same", async () => {
    const f = tiny();
    f.survey![1]![1] = "Q_1";
    f.survey![2]![1] = "Q.2";
    const r = await run(f);
    expect(r.instrument!.items.map((i) => i.id)).toEqual(["q_1", "q_2"]);
    expect(r.notes).toContain('survey row 2 (Q_1): name "Q_1" becomes item id "q_1"');
    f.survey![2]![1] = "q_1";
    expect((await run(f)).errors).toEqual([
      'survey row 3 (q_1): becomes item id "q_1", as survey row 2 (Q_1) does',
    ]);
  });

  it("refuses a file that is not a workbook", async () => {
    const file = study.file("not-a-workbook.xlsx");
    writeFileSync(file, "type,name\nselect_one yn,q1\n");
    const r = await importFrom(file, "xlsform", study.dir);
    expect(r.errors).toEqual(["not-a-workbook.xlsx: not an Excel workbook (.xlsx or .xls)"]);
  });
});

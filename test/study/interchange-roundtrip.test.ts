// Export → import keeps an instrument: for every shipped instrument and a skip-logic-heavy one,
// in both formats, the instrument Circle's loader compiles from the re-imported YAML is the one
// it compiled from the original (items, options, keying, subscales, required, skip logic, every
// translation), compared as models, not as text.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { evalExpr, type Expr } from "../../src/study/expr.js";
import {
  exportInstrument,
  importInstrument,
  type Format,
} from "../../src/study/interchange/index.js";
import { instrumentSchema } from "../../src/study/schema.js";
import type { Instrument, LoadedFlows } from "../../src/study/model.js";
import { copyFlows } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "circle-roundtrip-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A study copy with one more instrument that uses everything the shipped ones do not: skip logic
// with every operator, number and text items, two scales, a hyphenated id, subscales declared in
// another order than their items, a 0-100 transform and cut-offs (when the schema has them).
const copy = copyFlows();
afterAll(() => copy.cleanup());
const hasCutoffs = "cutoff" in instrumentSchema.shape;
const label = (en: string, zh: string) => ({ en, zh });
copy.write(
  "instruments/skip-demo.yaml",
  stringify({
    id: "skip-demo",
    version: 4,
    title: label("Skip demo", "跳题示例"),
    respondent: "parent",
    transform: "0-100",
    minAnsweredFraction: 0.75,
    ...(hasCutoffs ? { cutoff: 40 } : {}),
    scale: "freq",
    scales: {
      yn: {
        min: 0,
        max: 1,
        options: [
          { value: 0, label: label("No", "否") },
          { value: 1, label: label("Yes", "是") },
        ],
      },
      freq: {
        min: 1,
        max: 4,
        options: [1, 2, 3, 4].map((v) => ({ value: v, label: label(`Level "${v}"`, `等级 ${v}`) })),
      },
    },
    subscales: [
      {
        id: "b",
        label: label("Second, declared first", "乙"),
        ...(hasCutoffs ? { cutoff: 25 } : {}),
      },
      { id: "a", label: label("First | used", "甲") },
    ],
    items: [
      { id: "q-one", scale: "yn", subscale: "a", text: label("Any pain?", "有疼痛吗？") },
      {
        id: "q2",
        subscale: "b",
        reverse: true,
        text: label("How often?\nThink of this week.", "多久一次？\n想想这一周。"),
        showIf: "q-one == 1",
      },
      {
        id: "n3",
        type: "number",
        min: -2,
        max: 7.5,
        required: false,
        text: label("Nights", "晚数"),
        showIf: "q2 >= 2 and q2 != 4",
      },
      {
        id: "t4",
        type: "text",
        required: false,
        text: label("Say more", "多说一点"),
        showIf: "answered(n3) or not (q-one == 0)",
      },
      {
        id: "q5",
        subscale: "a",
        text: label("Five", "五"),
        showIf: "not (q2 < 3 and answered(t4))",
      },
      {
        id: "q6",
        scale: "yn",
        subscale: "b",
        text: label("Six", "六"),
        showIf: "not (n3 > 1.5) or q2 <= 1 and not answered(n3)",
      },
      { id: "q7", text: label("Seven", "七"), showIf: "not (q-one != 1) and n3 == 0" },
    ],
  }),
);
const loaded = copy.load();
if (!loaded.ok) throw new Error(loaded.errors.join("\n"));
const flows: LoadedFlows = loaded.flows;
const SHIPPED = [
  "facilitator-reflection",
  "group-satisfaction",
  "observation",
  "qol-proxy",
  "session-satisfaction",
  "social-skills-child",
  "social-skills",
];

async function roundTrip(ins: Instrument, format: Format) {
  const out = await exportInstrument(flows, ins, format);
  expect(out.errors).toEqual([]);
  const file = join(work, `${ins.id}.${format === "xlsform" ? "xlsx" : "csv"}`);
  writeFileSync(file, out.data!);
  // Re-importing over the original file is what a researcher does after editing the sheet.
  const r = await importInstrument({
    file,
    from: format,
    flowsDir: copy.dir,
    out: copy.path(`instruments/${ins.id}.yaml`),
  });
  expect(r.errors).toEqual([]);
  return r;
}

/** The compiled model without what names its file or spells its skip logic as text. */
const comparable = (i: Instrument) => ({
  ...i,
  file: undefined,
  items: i.items.map((it) => ({ ...it, showIfSource: undefined, showIf: undefined })),
});

/** Answer combinations over the values each item can take (plus unanswered). */
function* answerWorlds(ins: Instrument): Generator<Record<string, number | string | undefined>> {
  const doms = ins.items.map((it): (number | string | undefined)[] =>
    it.type === "choice"
      ? [undefined, ...it.options.map((o) => o.value)]
      : it.type === "number"
        ? [undefined, it.min!, 0, 1, 1.5, 2, it.max!]
        : [undefined, "text"],
  );
  const rec = function* (
    i: number,
    acc: Record<string, number | string | undefined>,
  ): Generator<Record<string, number | string | undefined>> {
    if (i === doms.length) return yield { ...acc };
    for (const v of doms[i]!) yield* rec(i + 1, { ...acc, [ins.items[i]!.id]: v });
  };
  yield* rec(0, {});
}

const same = (a: Expr | null, b: Expr | null, ins: Instrument) => {
  if (a === null || b === null) return a === b;
  for (const w of answerWorlds(ins)) if (evalExpr(a, w) !== evalExpr(b, w)) return false;
  return true;
};

describe.each(["xlsform", "redcap"] as const)("round trip through %s", (format) => {
  it.each(SHIPPED)("keeps the shipped instrument %s, content hash included", async (id) => {
    const ins = flows.instruments.get(id)!;
    const r = await roundTrip(ins, format);
    const back = r.instrument!;
    expect(comparable(back)).toEqual(comparable(ins));
    expect(back.items.map((i) => i.showIf)).toEqual(ins.items.map((i) => i.showIf));
    // Same content hash: answers stored under the original stay attached to the re-import.
    expect(back.hash).toBe(ins.hash);
    expect(r.notCarried).toEqual([]);
    for (const loc of ["en", "zh"]) expect(back.items.every((i) => i.text[loc])).toBe(true);
  });

  it("keeps skip logic, numbers, text items, scales and subscale order", async () => {
    const ins = flows.instruments.get("skip-demo")!;
    const r = await roundTrip(ins, format);
    const back = r.instrument!;
    // The hash covers the skip logic as written; REDCap spells "not (…)" differently (below).
    const noHash = (i: Instrument) => ({ ...comparable(i), hash: undefined });
    expect(noHash(back)).toEqual(noHash(ins));
    if (format === "xlsform") expect(back.hash).toBe(ins.hash);
    expect(back.subscales.map((s) => s.id)).toEqual(["b", "a"]);
    expect(r.notCarried).toEqual([]);
    ins.items.forEach((it, i) => {
      const got = back.items[i]!.showIf;
      // XLSForm has not(): the very same expression. REDCap has none, so "not (x and y)" comes back
      // spelt out with De Morgan: the same answers show the question.
      if (format === "xlsform") expect(got).toEqual(it.showIf);
      else expect(same(got, it.showIf, ins)).toBe(true);
    });
    if (format === "redcap") {
      // Everything without "not" over and/or comes back as written.
      for (const id of ["q2", "n3", "t4", "q7"])
        expect(back.items.find((i) => i.id === id)!.showIf).toEqual(
          ins.items.find((i) => i.id === id)!.showIf,
        );
    }
  });
});

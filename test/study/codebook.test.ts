// The codebook builders: JSON in the contract's exact shape, and one CSV row per item.
import { describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import { codebookCsv, codebookJson, codebookSummary } from "../../src/study/codebook.js";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";

const r = loadFlows({ flowsDir: "flows" });
if (!r.ok) throw new Error(r.errors.join("\n"));
const flows: LoadedFlows = r.flows;

const INSTRUMENT_KEYS = [
  "id",
  "version",
  "hash",
  "title",
  "respondent",
  "transform",
  "minAnsweredFraction",
  "items",
  "subscales",
];
const ITEM_KEYS = [
  "id",
  "type",
  "min",
  "max",
  "reverse",
  "subscale",
  "required",
  "text",
  "options",
];

describe("codebookJson", () => {
  const book = codebookJson(flows);

  it("has exactly the contract's fields, in order, and survives a JSON round trip", () => {
    expect(Object.keys(book)).toEqual(["instruments"]);
    expect(JSON.parse(JSON.stringify(book))).toEqual(book);
    for (const ins of book.instruments) {
      expect(Object.keys(ins)).toEqual(INSTRUMENT_KEYS);
      for (const it of ins.items) {
        expect(Object.keys(it)).toEqual(ITEM_KEYS);
        for (const o of it.options) expect(Object.keys(o)).toEqual(["value", "label"]);
      }
      for (const s of ins.subscales) expect(Object.keys(s)).toEqual(["id", "label", "items"]);
    }
  });

  it("lists every loaded instrument with its hash and version", () => {
    expect(book.instruments.map((i) => [i.id, i.hash, i.version])).toEqual(
      flows.instrumentList.map((i) => [i.id, i.hash, i.version]),
    );
  });

  it("describes qol-proxy: 8/5/5/5, reverse-keyed 0-4 items, 0-100 transform", () => {
    const q = book.instruments.find((i) => i.id === "qol-proxy")!;
    expect(q.transform).toBe("0-100");
    expect(q.minAnsweredFraction).toBe(0.5);
    expect(q.subscales.map((s) => s.items.length)).toEqual([8, 5, 5, 5]);
    expect(
      q.items.every((it) => it.reverse && it.min === 0 && it.max === 4 && it.options.length === 5),
    ).toBe(true);
    expect(q.items[0]!.subscale).toBe("physical");
    expect(q.items[0]!.text.en).toBeTruthy();
    expect(q.items[0]!.text.zh).toBeTruthy();
    expect(q.title).toEqual({ en: expect.any(String), zh: expect.any(String) });
  });

  it("describes social-skills with its six subscales and their item ids", () => {
    const s = book.instruments.find((i) => i.id === "social-skills")!;
    expect(s.subscales.map((x) => x.id)).toEqual([
      "active_expression",
      "peer_acceptance",
      "group_integration",
      "social_learning",
      "behaviour_patterns",
      "interpersonal_cognition",
    ]);
    for (const sub of s.subscales) {
      expect(sub.label.en).toBeTruthy();
      expect(sub.label.zh).toBeTruthy();
      for (const id of sub.items) expect(s.items.find((it) => it.id === id)?.subscale).toBe(sub.id);
    }
  });

  it("gives text items a null range, null subscale and no options", () => {
    const comment = book.instruments
      .find((i) => i.id === "session-satisfaction")!
      .items.find((it) => it.id === "comment")!;
    expect(comment).toMatchObject({
      type: "text",
      min: null,
      max: null,
      reverse: false,
      subscale: null,
      required: false,
      options: [],
    });
  });

  it("does not leak internal fields such as skip logic or file paths", () => {
    expect(JSON.stringify(book)).not.toMatch(/showIf|"file"|"intro"/);
  });
});

describe("codebookCsv", () => {
  const rows = parse(codebookCsv(flows), { columns: true }) as Record<string, string>[];
  const total = flows.instrumentList.reduce((n, i) => n + i.items.length, 0);

  it("has one row per item with the documented columns", () => {
    expect(rows).toHaveLength(total);
    expect(Object.keys(rows[0]!)).toEqual([
      "instrument",
      "version",
      "hash",
      "item",
      "type",
      "min",
      "max",
      "reverse",
      "subscale",
      "required",
      "text_en",
      "text_zh",
      "options",
    ]);
  });

  it("writes each item's coding, both texts and its options as value=label in the default locale", () => {
    const q = flows.instruments.get("qol-proxy")!;
    const row = rows.find((x) => x.instrument === "qol-proxy" && x.item === "phys1")!;
    expect(row).toMatchObject({
      version: "1",
      hash: q.hash,
      type: "choice",
      min: "0",
      max: "4",
      reverse: "true",
      subscale: "physical",
      required: "true",
      text_en: q.items[0]!.text.en,
      text_zh: q.items[0]!.text.zh,
    });
    expect(row.options).toBe(q.items[0]!.options.map((o) => `${o.value}=${o.label.en}`).join("; "));
    expect(row.options!.split("; ")).toHaveLength(5);
  });

  it("leaves range, subscale and options empty for text items", () => {
    const row = rows.find((x) => x.instrument === "observation" && x.item === "note")!;
    expect(row).toMatchObject({
      type: "text",
      min: "",
      max: "",
      subscale: "",
      required: "false",
      options: "",
    });
  });

  it("can label options in another locale", () => {
    const zh = parse(codebookCsv(flows, { locale: "zh" }), { columns: true }) as Record<
      string,
      string
    >[];
    const row = zh.find((x) => x.instrument === "social-skills" && x.item === "ae1")!;
    expect(row.options).toBe(
      flows.instruments
        .get("social-skills")!
        .items[0]!.options.map((o) => `${o.value}=${o.label.zh}`)
        .join("; "),
    );
  });
});

describe("codebookSummary", () => {
  it("names each instrument with its respondent, item count and subscale counts", () => {
    const text = codebookSummary(flows);
    expect(text).toMatch(
      /^qol-proxy v1 \(parent, 23 items, transform 0-100, hash [0-9a-f]{12}\)$/m,
    );
    expect(text).toMatch(/^ {2}- physical: 8 item\(s\)$/m);
    expect(text).toMatch(/^ {2}- \(unscored\): 1 item\(s\)$/m);
    const items = flows.instrumentList.reduce((n, i) => n + i.items.length, 0);
    expect(text).toContain(`\n${flows.instrumentList.length} instruments, ${items} items`);
  });
});

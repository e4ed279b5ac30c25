// Variable names for SPSS, Stata and R: valid in each tool, deterministic, never two the same
// (not even by case), readable when shortened.
import { describe, expect, it } from "vitest";
import {
  isValidName,
  nameMap,
  shorten,
  toolNames,
  type Tool,
} from "../../src/analysis/export-formats/names.js";

const TOOLS: Tool[] = ["spss", "stata", "r"];

/** A small deterministic generator (mulberry32), so the random cases are the same every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("toolNames", () => {
  it("keeps names that are already valid", () => {
    expect(toolNames(["participant", "arm", "age"], "stata")).toEqual([
      "participant",
      "arm",
      "age",
    ]);
    expect(toolNames(["social_skills.total.pre"], "spss")).toEqual(["social_skills.total.pre"]);
    expect(toolNames(["social_skills.total.pre"], "r")).toEqual(["social_skills.total.pre"]);
  });

  it("replaces characters each tool rejects", () => {
    expect(toolNames(["social-skills.total.pre"], "spss")).toEqual(["social_skills.total.pre"]);
    expect(toolNames(["social-skills.total.pre"], "r")).toEqual(["social_skills.total.pre"]);
    expect(toolNames(["social-skills.total.pre"], "stata")).toEqual(["social_skills_total_pre"]);
    expect(toolNames(["session:1"], "stata")).toEqual(["session_1"]);
    expect(toolNames(["größe"], "spss")).toEqual(["gr__e"]);
  });

  it("gives names a valid start and (SPSS) a valid end", () => {
    expect(toolNames(["1st"], "spss")).toEqual(["v1st"]);
    expect(toolNames(["1st"], "stata")).toEqual(["v1st"]);
    expect(toolNames(["1st", ".2nd", "_x"], "r")).toEqual(["x1st", "x.2nd", "x_x"]);
    expect(toolNames(["_x"], "stata")).toEqual(["v_x"]);
    expect(toolNames(["score.", "score_"], "spss")).toEqual(["score", "score_2"]);
  });

  it("avoids each tool's reserved words", () => {
    expect(toolNames(["all", "AND", "by", "to", "with"], "spss")).toEqual([
      "v_all",
      "v_AND",
      "v_by",
      "v_to",
      "v_with",
    ]);
    expect(toolNames(["if", "in", "int", "str12", "strL", "using"], "stata")).toEqual([
      "v_if",
      "v_in",
      "v_int",
      "v_str12",
      "v_strL",
      "v_using",
    ]);
    expect(toolNames(["if", "TRUE", "NA", "function"], "r")).toEqual([
      "if_",
      "TRUE_",
      "NA_",
      "function_",
    ]);
  });

  it("shortens long names part by part, keeping the timepoint", () => {
    const long = "social-skills-child.interpersonal_cognition.follow-up";
    const [stata] = toolNames([long], "stata");
    expect(stata!.length).toBeLessThanOrEqual(32);
    // The timepoint (after the last ".") is trimmed last, so it stays whole here.
    expect(stata).toMatch(/_follow_up$/);
    expect(stata).toBe(
      shorten("social_skills_child.interpersonal_cognition.follow_up", 32).replace(/\./g, "_"),
    );
    expect(
      toolNames(["a-long-instrument-id-of-forty-characters.some_subscale.post"], "stata")[0],
    ).toMatch(/_post$/);
    // pre and post versions of the same long score stay apart.
    const [pre, post] = toolNames(
      [
        "social-skills-child.interpersonal_cognition.pre",
        "social-skills-child.interpersonal_cognition.post",
      ],
      "stata",
    );
    expect(pre).not.toBe(post);
    expect(pre!.endsWith("_pre")).toBe(true);
    expect(post!.endsWith("_post")).toBe(true);
    expect(shorten("abcdef_gh_ij", 8)).toBe("ab_gh_ij");
  });

  it("resolves clashes with numbered suffixes, ignoring case, in input order", () => {
    expect(toolNames(["a-b", "a_b", "a.b", "A_B"], "stata")).toEqual([
      "a_b",
      "a_b_2",
      "a_b_3",
      "A_B_4",
    ]);
    expect(toolNames(["arm"], "stata", ["ARM"])).toEqual(["arm_2"]);
    // A name that looks like a generated suffix does not break uniqueness.
    expect(toolNames(["x-1", "x_1", "x_1_2"], "stata")).toEqual(["x_1", "x_1_2", "x_1_2_2"]);
    const clash = toolNames(
      ["a".repeat(40) + "1", "a".repeat(40) + "2", "a".repeat(40) + "3"],
      "stata",
    );
    expect(new Set(clash).size).toBe(3);
    for (const n of clash) expect(n.length).toBeLessThanOrEqual(32);
  });

  it("is deterministic and collision-free on random names, for every tool", () => {
    const next = rng(20240611);
    const alphabet = "abcdefghijklmnopqrstuvwxyzABC0123456789_-.:ä中 ";
    const names: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const len = 1 + Math.floor(next() * 90);
      let s = "";
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(next() * alphabet.length)];
      names.push(s);
    }
    // Plus many near-duplicates that must collide before mangling.
    for (let i = 0; i < 200; i++) names.push(`item-${i % 7}`, `item_${i % 7}`, `ITEM.${i % 7}`);
    for (const tool of TOOLS) {
      const out = toolNames(names, tool);
      expect(out).toEqual(toolNames(names, tool));
      expect(new Set(out.map((n) => n.toLowerCase())).size).toBe(names.length);
      const invalid = out.filter((n) => !isValidName(n, tool));
      expect(invalid, `${tool}: invalid names`).toEqual([]);
      if (tool === "spss")
        expect(Math.max(...out.map((n) => Buffer.byteLength(n)))).toBeLessThanOrEqual(64);
      if (tool === "stata") expect(Math.max(...out.map((n) => n.length))).toBeLessThanOrEqual(32);
    }
  });

  it("nameMap looks names up by their original", () => {
    const m = nameMap(["social-skills.ae1", "arm"], "stata");
    expect(m.get("social-skills.ae1")).toBe("social_skills_ae1");
    expect(m.get("arm")).toBe("arm");
  });
});

describe("isValidName", () => {
  it("applies each tool's rules", () => {
    expect(isValidName("a.b", "spss")).toBe(true);
    expect(isValidName("a.", "spss")).toBe(false);
    expect(isValidName("a_", "spss")).toBe(false);
    expect(isValidName("with", "spss")).toBe(false);
    expect(isValidName("x".repeat(65), "spss")).toBe(false);
    expect(isValidName("a.b", "stata")).toBe(false);
    expect(isValidName("x".repeat(33), "stata")).toBe(false);
    expect(isValidName("_n", "stata")).toBe(false);
    expect(isValidName(".x", "r")).toBe(true);
    expect(isValidName(".1x", "r")).toBe(false);
    expect(isValidName("NULL", "r")).toBe(false);
  });
});

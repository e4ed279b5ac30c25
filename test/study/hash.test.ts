// The content hash stored with every response: stable for the same content, different when
// anything a respondent sees or a score depends on changes.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonicalJson, contentHash } from "../../src/study/hash.js";
import { loadFlows } from "../../src/study/load.js";
import { copyFlows, type FlowsCopy, type Yaml } from "./support.js";

let f: FlowsCopy;
beforeEach(() => {
  f = copyFlows();
});
afterEach(() => f.cleanup());

function hashes(r: ReturnType<typeof loadFlows>): Record<string, string> {
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return Object.fromEntries(r.flows.instrumentList.map((i) => [i.id, i.hash]));
}

describe("instrument content hash", () => {
  it("is a sha256 hex digest, the same on every load and in a copy elsewhere", () => {
    const a = hashes(loadFlows({ flowsDir: "flows" }));
    const b = hashes(loadFlows({ flowsDir: "flows" }));
    expect(a).toEqual(b);
    expect(hashes(f.load())).toEqual(a);
    for (const h of Object.values(a)) expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(Object.values(a)).size).toBe(Object.keys(a).length);
  });

  it("changes when an item text changes, and only for that instrument", () => {
    const before = hashes(f.load());
    f.edit("instruments/social-skills.yaml", (d) => (d.items[4].text.zh += "。"));
    const after = hashes(f.load());
    expect(after["social-skills"]).not.toBe(before["social-skills"]);
    expect({ ...after, "social-skills": "" }).toEqual({ ...before, "social-skills": "" });
  });

  it("changes when keying, an option label or the transform changes", () => {
    const base = hashes(f.load())["qol-proxy"];
    const variants: ((d: Yaml) => void)[] = [
      (d) => (d.items[0].reverse = false),
      (d) => (d.scales.problem5.options[2].label.en = "Sometimes"),
      (d) => (d.transform = "none"),
    ];
    const seen = new Set([base]);
    for (const change of variants) {
      const g = copyFlows();
      try {
        g.edit("instruments/qol-proxy.yaml", change);
        const h = hashes(g.load())["qol-proxy"]!;
        expect(seen.has(h)).toBe(false);
        seen.add(h);
      } finally {
        g.cleanup();
      }
    }
  });

  it("ignores comments, key order, quoting and spelled-out defaults", () => {
    const before = hashes(f.load());
    f.edit("instruments/social-skills.yaml", (d) => {
      d.items[0] = {
        text: d.items[0].text,
        reverse: false,
        required: true,
        type: "choice",
        ...d.items[0],
      };
    });
    f.write(
      "instruments/social-skills.yaml",
      `# a comment\n${f.read("instruments/social-skills.yaml")}`,
    );
    expect(hashes(f.load())).toEqual(before);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"f":1}]},"b":1}',
    );
    expect(contentHash({ x: 1, y: 2 })).toBe(contentHash({ y: 2, x: 1 }));
  });
});

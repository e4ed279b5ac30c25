// EXTRA_FLOWS_DIR: a researcher drops in an instrument whose (licensed) text they hold.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parse } from "yaml";
import { copyFlows, errorsOf, licensedInstrumentYaml, type FlowsCopy } from "./support.js";

let f: FlowsCopy;
let extra: string;
beforeEach(() => {
  f = copyFlows();
  extra = mkdtempSync(join(tmpdir(), "circle-extra-"));
});
afterEach(() => {
  f.cleanup();
  rmSync(extra, { recursive: true, force: true });
});

describe("extra instruments", () => {
  it("load after the shipped ones, from the folder itself and its instruments/ subfolder", () => {
    writeFileSync(join(extra, "licensed.yaml"), licensedInstrumentYaml());
    mkdirSync(join(extra, "instruments"));
    writeFileSync(
      join(extra, "instruments", "another.yml"),
      licensedInstrumentYaml("another-form", "facilitator"),
    );
    const r = f.load(extra);
    if (!r.ok) throw new Error(r.errors.join("\n"));
    const ids = r.flows.instrumentList.map((i) => i.id);
    expect(ids.slice(-2)).toEqual(["another-form", "licensed-wellbeing"]);
    expect(ids).toHaveLength(9);
    const lic = r.flows.instruments.get("licensed-wellbeing")!;
    expect(lic.file).toBe(join(extra, "licensed.yaml"));
    expect(lic.version).toBe(2);
    expect(lic.subscales).toEqual([
      expect.objectContaining({ id: "wellbeing", items: ["w1", "w2"] }),
    ]);
    expect(lic.items[2]).toMatchObject({ type: "number", min: 0, max: 7, subscale: null });
  });

  it("can be assigned by the study, which then checks its respondent like any other", () => {
    writeFileSync(join(extra, "licensed.yaml"), licensedInstrumentYaml());
    f.edit("study.yaml", (d) => d.assignments.timepoints[0].parent.push("licensed-wellbeing"));
    const r = f.load(extra);
    expect(r.ok).toBe(true);
    f.edit("study.yaml", (d) => (d.assignments.timepoints[0].child = ["licensed-wellbeing"]));
    expect(errorsOf(f.load(extra))).toEqual([
      `${f.path("study.yaml")}: assignments.timepoints[0].child[0]: instrument "licensed-wellbeing" is answered by parent, not child`,
    ]);
    // Without the extra folder the study's reference is unknown.
    expect(errorsOf(f.load())).toContain(
      `${f.path("study.yaml")}: assignments.timepoints[0].child[0]: unknown instrument "licensed-wellbeing"`,
    );
  });

  it("pass the same translation gate and rules as shipped ones", () => {
    const doc = parse(licensedInstrumentYaml());
    delete doc.items[1].text.zh;
    doc.items[0].subscale = "wellbeeing";
    writeFileSync(join(extra, "licensed.yaml"), stringify(doc));
    const file = join(extra, "licensed.yaml");
    expect(errorsOf(f.load(extra)).sort()).toEqual(
      [
        `${file}: items[1].text: missing translation "zh"`,
        `${file}: items[0].subscale: unknown subscale "wellbeeing"`,
      ].sort(),
    );
  });

  it("may not reuse a shipped instrument's id", () => {
    writeFileSync(join(extra, "qol.yaml"), licensedInstrumentYaml("qol-proxy"));
    expect(errorsOf(f.load(extra))).toEqual([
      `${join(extra, "qol.yaml")}: id: instrument "qol-proxy" is also defined in ${f.path("instruments/qol-proxy.yaml")}`,
    ]);
  });

  it("report a missing folder, and a study file placed there by mistake", () => {
    expect(errorsOf(f.load(join(extra, "nope")))).toEqual([
      `${join(extra, "nope")}: (top level): extra flows folder does not exist`,
    ]);
    writeFileSync(join(extra, "study.yaml"), f.read("study.yaml"));
    expect(errorsOf(f.load(extra))).toEqual([
      `${join(extra, "study.yaml")}: (top level): the extra folder holds instruments only; the study is read from ${f.path("study.yaml")}`,
    ]);
  });
});

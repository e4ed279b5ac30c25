// A throw-away copy of the shipped flows/ folder that tests can break on purpose.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { loadFlows, type LoadResult } from "../../src/study/load.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- tests poke at raw YAML trees */
export type Yaml = any;

export interface FlowsCopy {
  /** The copy's root (holds study.yaml and instruments/). */
  dir: string;
  /** Absolute path of a file inside the copy, as the loader prints it. */
  path(rel: string): string;
  /** Parses a YAML file, lets `fn` change the tree, writes it back. */
  edit(rel: string, fn: (doc: Yaml) => void): void;
  write(rel: string, text: string): void;
  read(rel: string): string;
  load(extraDir?: string): LoadResult;
  cleanup(): void;
}

export function copyFlows(): FlowsCopy {
  const root = mkdtempSync(join(tmpdir(), "circle-flows-"));
  const dir = join(root, "flows");
  cpSync("flows", dir, { recursive: true });
  const path = (rel: string) => join(dir, rel);
  return {
    dir,
    path,
    edit(rel, fn) {
      const doc: Yaml = parse(readFileSync(path(rel), "utf8"));
      fn(doc);
      writeFileSync(path(rel), stringify(doc));
    },
    write(rel, text) {
      mkdirSync(dirname(path(rel)), { recursive: true });
      writeFileSync(path(rel), text);
    },
    read(rel) {
      return readFileSync(path(rel), "utf8");
    },
    load(extraDir) {
      return loadFlows({ flowsDir: dir, extraDir });
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The errors of a load that must fail. */
export function errorsOf(r: LoadResult): string[] {
  if (r.ok) throw new Error("expected the flows to fail to load, but they loaded");
  return r.errors;
}

/** A small, valid instrument in the shape a researcher would drop into EXTRA_FLOWS_DIR. */
export function licensedInstrumentYaml(id = "licensed-wellbeing", respondent = "parent"): string {
  return stringify({
    id,
    version: 2,
    title: { en: "Licensed wellbeing form", zh: "授权幸福感量表" },
    respondent,
    transform: "none",
    minAnsweredFraction: 0.5,
    scale: "freq4",
    scales: {
      freq4: {
        min: 1,
        max: 4,
        options: [1, 2, 3, 4].map((v) => ({
          value: v,
          label: { en: `Level ${v}`, zh: `等级 ${v}` },
        })),
      },
    },
    subscales: [{ id: "wellbeing", label: { en: "Wellbeing", zh: "幸福感" } }],
    items: [
      { id: "w1", subscale: "wellbeing", text: { en: "Licensed item one", zh: "授权条目一" } },
      {
        id: "w2",
        subscale: "wellbeing",
        reverse: true,
        text: { en: "Licensed item two", zh: "授权条目二" },
      },
      {
        id: "w3",
        type: "number",
        min: 0,
        max: 7,
        text: { en: "Days in hospital last week", zh: "上周住院天数" },
      },
    ],
  });
}

// The effect report end to end against an independent SciPy/NumPy implementation of its contract:
// test/fixtures/report/make_dataset.py generates a study (answers.csv, in the `circle import`
// format) and computes expected-<instrument>.json from it. Here the CSV goes through the real
// import into a fresh database and buildReport must reproduce every number, null and key.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { importAnswers } from "../../src/usecases/import.js";
import { buildReport } from "../../src/analysis/report.js";
import { tempDatabase, type TempDb } from "../support/db.js";

const REL = 1e-6;
const ABS = 1e-9;

function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/report/${name}`, import.meta.url), "utf8");
}

/** Every difference between actual and expected, as "path: actual vs expected" lines. */
function differences(actual: unknown, expected: unknown, path: string, out: string[]): void {
  if (path === "$.generatedAt") {
    if (typeof actual !== "string" || Number.isNaN(Date.parse(actual)))
      out.push(`${path}: ${String(actual)} is not an ISO date`);
    return;
  }
  if (expected === null) {
    if (actual !== null) out.push(`${path}: ${JSON.stringify(actual)} vs null`);
    return;
  }
  if (typeof expected === "number") {
    if (typeof actual !== "number" || !Number.isFinite(actual)) {
      out.push(`${path}: ${String(actual)} vs ${expected}`);
    } else if (Math.abs(actual - expected) > Math.max(REL * Math.abs(expected), ABS)) {
      out.push(`${path}: ${actual} vs ${expected}`);
    }
    return;
  }
  if (typeof expected === "string") {
    if (actual !== expected)
      out.push(`${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push(`${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
      return;
    }
    expected.forEach((e, i) => differences(actual[i], e, `${path}[${i}]`, out));
    return;
  }
  if (typeof actual !== "object" || actual === null || Array.isArray(actual)) {
    out.push(`${path}: ${JSON.stringify(actual)} vs an object`);
    return;
  }
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keysA = Object.keys(a).filter((k) => a[k] !== undefined);
  const keysE = Object.keys(e);
  if (keysA.join(",") !== keysE.join(","))
    out.push(`${path}: keys [${keysA.join(",")}] vs [${keysE.join(",")}]`);
  for (const k of keysE) differences(a[k], e[k], `${path}.${k}`, out);
}

let tmp: TempDb;
let flows: LoadedFlows;
/** The shipped study as a pre/post study (its follow-up left out): today's report contract. */
let prePost: LoadedFlows;

beforeAll(async () => {
  const loaded = loadFlows({ flowsDir: "flows" });
  if (!loaded.ok) throw new Error(loaded.errors.join("\n"));
  flows = loaded.flows;
  prePost = {
    ...flows,
    study: {
      ...flows.study,
      timepoints: flows.study.timepoints.filter((t) => t.id !== "follow-up"),
      assignments: {
        ...flows.study.assignments,
        timepoints: flows.study.assignments.timepoints.filter((a) => a.timepoint !== "follow-up"),
      },
    },
  };
  tmp = await tempDatabase();
  const result = await importAnswers(tmp.db, flows, fixture("answers.csv"), {
    file: "answers.csv",
    actor: { kind: "import" },
  });
  if (!result.ok) throw new Error(result.errors.join("\n"));
});

afterAll(async () => {
  await tmp.cleanup();
});

describe("effect report against SciPy", () => {
  it("imports the generated study (62 children, pre for all, post for the arms)", async () => {
    expect(await tmp.db.participant.count()).toBe(62);
    expect(await tmp.db.participant.count({ where: { arm: null } })).toBe(42);
    expect(await tmp.db.responseSet.count({ where: { slot: "pre" } })).toBe(124);
    // 20 arm members × 2 instruments, less two children lost to follow-up and one post QoL.
    expect(await tmp.db.responseSet.count({ where: { slot: "post" } })).toBe(35);
  });

  for (const id of ["social-skills", "qol-proxy"]) {
    it(`reproduces expected-${id}.json (every number to 1e-6, every null and key)`, async () => {
      const expected: unknown = JSON.parse(fixture(`expected-${id}.json`));
      const { report } = await buildReport(tmp.db, prePost, id);
      const out: string[] = [];
      differences(report, expected, "$", out);
      expect(out).toEqual([]);
    });

    it(`${id}: a declared follow-up only adds each score's mixedModel block, byte for byte`, async () => {
      const now = new Date("2030-01-01T00:00:00Z");
      const { report: before } = await buildReport(tmp.db, prePost, id, now);
      const { report: after } = await buildReport(tmp.db, flows, id, now);
      expect(after.scores.every((s) => s.mixedModel !== undefined)).toBe(true);
      const stripped = {
        ...after,
        scores: after.scores.map(({ mixedModel: _m, ...rest }) => rest),
      };
      expect(JSON.stringify(stripped)).toBe(JSON.stringify(before));
      expect(Object.keys(after.scores[0]!).at(-1)).toBe("mixedModel");
    });
  }
});

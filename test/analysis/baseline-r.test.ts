// The baseline needs assessment against R. The seeded study is imported, exported with the real
// `circle export`, and scripts/reference/baseline.R scores the export itself and computes every
// number with base R (t.test, cor.test, p.adjust, quantile type 7). Circle must agree to 1e-9,
// live here and against the committed fixture (test/fixtures/report/baseline/expected.json).
// CIRCLE_UPDATE_FIXTURES=1 rewrites the fixture from the live R run.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBaseline } from "../../src/analysis/baseline.js";
import { exportData } from "../../src/usecases/export.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import type { FlowsCopy } from "../study/support.js";
import {
  differences,
  fixturePath,
  flowsWithCutoffs,
  importSeededStudy,
  withoutTimestamp,
} from "./baseline-support.js";

const TOL = 1e-9;

function rscriptVersion(): string {
  const r = spawnSync("Rscript", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0)
    throw new Error(
      "Rscript is not installed: this test needs R (Debian: apt-get install r-base-core) to check the baseline report",
    );
  return `${r.stdout}${r.stderr}`.trim();
}

let tmp: TempDb;
let copy: FlowsCopy;
let flows: LoadedFlows;

beforeAll(async () => {
  ({ copy, flows } = flowsWithCutoffs());
  tmp = await tempDatabase();
  await importSeededStudy(tmp.db, flows);
});
afterAll(async () => {
  await tmp.cleanup();
  copy.cleanup();
});

describe("baseline report against R", () => {
  it("R is installed", () => {
    expect(rscriptVersion()).toMatch(/version [4-9]\./);
  });

  it("matches a live run of scripts/reference/baseline.R on the CSV export (1e-9) and the committed fixture", async () => {
    rscriptVersion();
    const dir = join(tmp.dir, "export");
    await exportData(tmp.db, flows, dir, { kind: "cli" });
    const stdout = execFileSync(
      "Rscript",
      ["scripts/reference/baseline.R", dir, fixturePath("baseline/config.json")],
      { encoding: "utf8" },
    );
    const fromR: unknown = JSON.parse(stdout);
    const { report } = await buildBaseline(tmp.db, flows);
    const ours = withoutTimestamp(report);
    expect(differences(ours, fromR, TOL)).toEqual([]);

    if (process.env.CIRCLE_UPDATE_FIXTURES === "1")
      writeFileSync(fixturePath("baseline/expected.json"), stdout);
    const committed: unknown = JSON.parse(
      readFileSync(fixturePath("baseline/expected.json"), "utf8"),
    );
    // The fixture is what R says today (not a stale copy).
    expect(differences(fromR, committed, 1e-12)).toEqual([]);
  });
});

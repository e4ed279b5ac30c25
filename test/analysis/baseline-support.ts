// Shared by the baseline tests: the seeded study (test/fixtures/report/answers.csv, 62 children
// at pre) imported through the real import into flows whose instruments carry the cut-offs of
// test/fixtures/report/baseline/config.json, and a JSON comparison to a tolerance.
import { readFileSync } from "node:fs";
import { importAnswers } from "../../src/usecases/import.js";
import type { LoadedFlows } from "../../src/study/model.js";
import type { Db } from "../../src/db/client.js";
import { copyFlows, type FlowsCopy } from "../study/support.js";

export interface BaselineConfig {
  timepoint: string;
  instruments: Record<string, { cutoffs: Record<string, number> }>;
}

export const fixturePath = (name: string) =>
  new URL(`../fixtures/report/${name}`, import.meta.url).pathname;

export function baselineConfig(): BaselineConfig {
  return JSON.parse(readFileSync(fixturePath("baseline/config.json"), "utf8")) as BaselineConfig;
}

/** A copy of flows/ with the config's cut-offs written into the instrument files. */
export function flowsWithCutoffs(): { copy: FlowsCopy; flows: LoadedFlows } {
  const copy = copyFlows();
  for (const [id, { cutoffs }] of Object.entries(baselineConfig().instruments)) {
    copy.edit(`instruments/${id}.yaml`, (doc) => {
      for (const s of doc.subscales) if (cutoffs[s.id] !== undefined) s.cutoff = cutoffs[s.id];
      if (cutoffs.total !== undefined) doc.cutoff = cutoffs.total;
    });
  }
  const r = copy.load();
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return { copy, flows: r.flows };
}

export async function importSeededStudy(db: Db, flows: LoadedFlows): Promise<void> {
  const csv = readFileSync(fixturePath("answers.csv"), "utf8");
  const r = await importAnswers(db, flows, csv, { file: "answers.csv", actor: { kind: "import" } });
  if (!r.ok) throw new Error(r.errors.join("\n"));
}

/**
 * Every difference between actual and expected as "path: actual vs expected": numbers within
 * tol·max(1, |expected|), nulls and strings exact, keys in the same order.
 */
export function differences(actual: unknown, expected: unknown, tol: number, path = "$"): string[] {
  const out: string[] = [];
  const walk = (a: unknown, e: unknown, p: string) => {
    if (e === null) {
      if (a !== null) out.push(`${p}: ${JSON.stringify(a)} vs null`);
    } else if (typeof e === "number") {
      if (typeof a !== "number" || !Number.isFinite(a)) out.push(`${p}: ${String(a)} vs ${e}`);
      else if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) out.push(`${p}: ${a} vs ${e}`);
    } else if (typeof e === "string" || typeof e === "boolean") {
      if (a !== e) out.push(`${p}: ${JSON.stringify(a)} vs ${JSON.stringify(e)}`);
    } else if (Array.isArray(e)) {
      if (!Array.isArray(a) || a.length !== e.length)
        out.push(`${p}: ${JSON.stringify(a)} vs ${JSON.stringify(e)}`);
      else e.forEach((x, i) => walk(a[i], x, `${p}[${i}]`));
    } else if (typeof a !== "object" || a === null || Array.isArray(a)) {
      out.push(`${p}: ${JSON.stringify(a)} vs an object`);
    } else {
      const ao = a as Record<string, unknown>;
      const eo = e as Record<string, unknown>;
      const ka = Object.keys(ao).join(",");
      const ke = Object.keys(eo).join(",");
      if (ka !== ke) out.push(`${p}: keys [${ka}] vs [${ke}]`);
      for (const k of Object.keys(eo)) walk(ao[k], eo[k], `${p}.${k}`);
    }
  };
  walk(actual, expected, path);
  return out;
}

/** The report without its timestamp (R does not write one). */
export function withoutTimestamp<T extends { generatedAt?: string }>(r: T): Omit<T, "generatedAt"> {
  const { generatedAt: _g, ...rest } = r;
  return rest;
}

// The linear mixed model against lme4 + lmerTest. Fixtures in test/fixtures/stats/lmm/ come from
// scripts/reference/lmm.R (`Rscript scripts/reference/lmm.R generate`); one more dataset, made
// here, is fitted by a live Rscript run.
//
// Tolerance: |ours − R| ≤ 1e-4·|R| + 1e-10 for every number (relative 1e-4; the absolute floor
// only matters where R has 0 or ~1e-17, e.g. a group variance at the boundary). Measured worst
// cases are well inside that: ≤ 5e-8 relative on estimates, SEs, t and the participant and
// residual variances, ≤ 4e-7 on group variances, ~1e-5 on the Satterthwaite df and 4e-5 on a
// p-value of 2e-41 in the near-singular fit, where the deviance is so flat in θ_group that
// lmerTest's own numerical Hessian is only that precise.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fitMixedModel,
  fitMixedModelWithReason,
  mixedModelInputProblems,
  type LmmObservation,
  type LmmOptions,
  type LmmResult,
} from "../../src/analysis/stats/mixed-model.js";

const REL = 1e-4;
const ABS = 1e-10;
const FIXTURES = new URL("../fixtures/stats/lmm/", import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any -- fixtures and R output are plain JSON */
interface Fixture {
  name: string;
  description: string;
  options: LmmOptions;
  observations: LmmObservation[];
  expected: any;
}

function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(f, FIXTURES), "utf8")) as Fixture);
}

/** Every mismatch between our result and R's (same shape as LmmResult), as readable lines. */
function differences(ours: LmmResult, r: any, rel = REL, abs = ABS): string[] {
  const out: string[] = [];
  const num = (a: number | null, e: number | null, what: string) => {
    if (e === null) {
      if (a !== null) out.push(`${what}: got ${a}, R has none`);
      return;
    }
    if (a === null || !Number.isFinite(a)) {
      out.push(`${what}: got ${a}, R has ${e}`);
      return;
    }
    const err = Math.abs(a - e);
    if (!(err <= rel * Math.abs(e) + abs)) {
      out.push(`${what}: got ${a}, R has ${e} (relative ${(err / Math.abs(e)).toExponential(2)})`);
    }
  };
  const terms = ours.fixed.map((f) => f.term);
  const rTerms = (r.fixed as any[]).map((f) => f.term as string);
  if (terms.join() !== rTerms.join()) out.push(`terms ${terms.join()} vs R ${rTerms.join()}`);
  ours.fixed.forEach((f, i) => {
    const e = r.fixed[i];
    if (!e) return;
    for (const k of ["estimate", "se", "df", "t", "p", "ciLow", "ciHigh"] as const) {
      num(f[k], e[k], `${f.term} ${k}`);
    }
  });
  num(ours.variance.participant, r.variance.participant, "variance.participant");
  num(ours.variance.group, r.variance.group, "variance.group");
  num(ours.variance.residual, r.variance.residual, "variance.residual");
  num(ours.icc.participant, r.icc.participant, "icc.participant");
  num(ours.icc.group, r.icc.group, "icc.group");
  num(ours.logLikREML, r.logLikREML, "logLikREML");
  for (const k of ["n", "participants", "groups", "singular"] as const) {
    if (ours[k] !== r[k]) out.push(`${k}: got ${String(ours[k])}, R has ${String(r[k])}`);
  }
  return out;
}

/** Every number anywhere in the result: none may be NaN or infinite. */
function numbersIn(x: unknown): number[] {
  if (typeof x === "number") return [x];
  if (Array.isArray(x)) return x.flatMap(numbersIn);
  if (x !== null && typeof x === "object") return Object.values(x).flatMap(numbersIn);
  return [];
}

describe("fixtures from lme4 + lmerTest", () => {
  const fixtures = loadFixtures();

  it("covers the designs the brief asks for", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(7);
    expect(fixtures.some((f) => !f.options.groupEffect && f.options.timepoints.length === 2)).toBe(
      true,
    );
    expect(fixtures.some((f) => f.expected.groups === 2)).toBe(true);
    expect(fixtures.some((f) => f.expected.groups === 3)).toBe(true);
    expect(fixtures.some((f) => f.expected.singular === true)).toBe(true);
    expect(fixtures.some((f) => f.expected.participants >= 60)).toBe(true);
  });

  for (const fx of fixtures) {
    it(`${fx.name}: ${fx.description}`, () => {
      const fit = fitMixedModelWithReason(fx.observations, fx.options);
      if (!fit.ok) expect.fail(`not fitted: ${fit.reason}`);
      const ours = fit.result;
      expect(differences(ours, fx.expected)).toEqual([]);
      expect(ours.converged).toBe(true);
      expect(numbersIn(ours).every(Number.isFinite)).toBe(true);
      // The REML deviance R reports is −2·logLik.
      expect(Math.abs(-2 * ours.logLikREML - fx.expected.devianceREML)).toBeLessThan(1e-8);
    });
  }

  it("reports a boundary group variance as exactly 0 and flags it, as lme4 does", () => {
    const fx = fixtures.find((f) => f.name === "singular-group")!;
    expect(fx.expected.variance.group).toBe(0);
    const r = fitMixedModel(fx.observations, fx.options)!;
    expect(r.singular).toBe(true);
    expect(r.variance.group).toBe(0);
    expect(r.icc.group).toBe(0);
    expect(r.fixed.every((f) => f.df !== null && f.p !== null)).toBe(true);
  });

  it("does not depend on the order of the rows", () => {
    const fx = fixtures.find((f) => f.name === "followup-3-groups-60")!;
    const shuffled = fx.observations
      .map((o, i) => ({ o, k: (i * 7919) % 101 }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.o);
    const a = fitMixedModel(fx.observations, fx.options)!;
    const b = fitMixedModel(shuffled, fx.options)!;
    const diff = differences(b, a, 1e-6, 1e-12);
    expect(diff).toEqual([]);
  });
});

// ---- a dataset made here, fitted live by R ----

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 24 experimental participants in 3 groups + 24 controls, pre/post/follow-up, ~12% missing later. */
function liveDataset(): LmmObservation[] {
  const rand = mulberry32(20240613);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const groupEffect = [normal() * 3, normal() * 3, normal() * 3];
  const obs: LmmObservation[] = [];
  ["pre", "post", "follow-up"].forEach((timepoint, k) => {
    for (let i = 0; i < 48; i++) {
      const experimental = i < 24;
      if (k > 0 && rand() < 0.12) continue;
      const g = i % 3;
      obs.push({
        participant: `P${String(i).padStart(2, "0")}`,
        group: experimental ? `ward-${g}` : null,
        arm: experimental ? "experimental" : "control",
        timepoint,
        // Participant effects from a second stream, so they do not depend on the missingness draws.
        y:
          40 +
          1.5 * k +
          (experimental ? 2.5 * k + groupEffect[g]! : 0) +
          5 * Math.sin(i * 12.9898) +
          4 * normal(),
      });
    }
  });
  return obs;
}

function rscript(args: string[]): string {
  const r = spawnSync("Rscript", args, { encoding: "utf8" });
  if (r.error) {
    throw new Error(
      "Rscript is not installed: this test needs R with lme4 and lmerTest " +
        "(Debian: apt-get install r-base-core r-cran-lme4 r-cran-lmertest)",
    );
  }
  if (r.status !== 0) throw new Error(`Rscript ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

function writeCsv(path: string, obs: readonly LmmObservation[]): void {
  const lines = ["participant,group,arm,timepoint,y"];
  for (const o of obs)
    lines.push([o.participant, o.group ?? "", o.arm, o.timepoint, o.y].join(","));
  writeFileSync(path, `${lines.join("\n")}\n`);
}

describe("live against R (scripts/reference/lmm.R fit)", () => {
  it("matches lmer + lmerTest on a dataset generated here, and R still gives the committed fixture", () => {
    const dir = mkdtempSync(join(tmpdir(), "circle-lmm-"));
    try {
      const obs = liveDataset();
      const opts: LmmOptions = { timepoints: ["pre", "post", "follow-up"], groupEffect: true };
      const csv = join(dir, "live.csv");
      writeCsv(csv, obs);
      const fromR: any = JSON.parse(
        rscript(["scripts/reference/lmm.R", "fit", csv, opts.timepoints.join(","), "true"]),
      );
      const ours = fitMixedModel(obs, opts);
      expect(ours).not.toBeNull();
      expect(fromR.n).toBe(obs.length);
      expect(differences(ours!, fromR)).toEqual([]);

      // The committed fixture is what this R says today, not a stale copy.
      const fx = loadFixtures().find((f) => f.name === "followup-2-groups")!;
      const fxCsv = join(dir, "fixture.csv");
      writeCsv(fxCsv, fx.observations);
      const again: any = JSON.parse(
        rscript(["scripts/reference/lmm.R", "fit", fxCsv, fx.options.timepoints.join(","), "true"]),
      );
      // (1e-9, not exact equality, so another BLAS's last digits do not matter.)
      expect(differences(again, fx.expected, 1e-9, 1e-12)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- what cannot be fitted ----

const TP2: LmmOptions = { timepoints: ["pre", "post"], groupEffect: false };

function prePost(n: number, f: (i: number, k: number) => number): LmmObservation[] {
  const obs: LmmObservation[] = [];
  for (let i = 0; i < n; i++) {
    for (const [k, timepoint] of ["pre", "post"].entries()) {
      obs.push({
        participant: `P${i}`,
        group: i % 2 === 0 ? `G${i % 4}` : null,
        arm: i % 2 === 0 ? "experimental" : "control",
        timepoint,
        y: f(i, k),
      });
    }
  }
  return obs;
}

const noisy = (i: number, k: number) =>
  50 + 3 * k + 4 * Math.sin(i * 1.7) + 3 * Math.cos(i * 5.3 + k * 2.1);

describe("null, never NaN, for what cannot be fitted", () => {
  it("fits the ordinary case (control for the cases below)", () => {
    const r = fitMixedModel(prePost(12, noisy), TP2);
    expect(r).not.toBeNull();
    expect(numbersIn(r).every(Number.isFinite)).toBe(true);
    expect(r!.fixed.map((f) => f.term)).toEqual([
      "(Intercept)",
      "armexperimental",
      "timepointpost",
      "armexperimental:timepointpost",
    ]);
    expect(r!.groups).toBeNull();
    expect(r!.variance.group).toBeNull();
    expect(r!.icc.group).toBeNull();
  });

  it("no observations", () => {
    expect(fitMixedModel([], TP2)).toBeNull();
  });

  it("a single timepoint", () => {
    const obs = prePost(12, noisy).filter((o) => o.timepoint === "pre");
    const fit = fitMixedModelWithReason(obs, TP2);
    expect(fit.ok).toBe(false);
  });

  it("one arm only, or an arm missing at a timepoint (rank-deficient X)", () => {
    const control = prePost(12, noisy).filter((o) => o.arm === "control");
    expect(fitMixedModelWithReason(control, TP2)).toMatchObject({
      ok: false,
      reason: /rank-deficient/,
    });
    const noExpPost = prePost(12, noisy).filter(
      (o) => !(o.arm === "experimental" && o.timepoint === "post"),
    );
    expect(fitMixedModel(noExpPost, TP2)).toBeNull();
  });

  it("one observation per participant (lme4: levels ≥ observations)", () => {
    const obs = prePost(12, noisy).map((o) => ({
      ...o,
      participant: `${o.participant}-${o.timepoint}`,
    }));
    expect(fitMixedModelWithReason(obs, TP2)).toMatchObject({
      ok: false,
      reason: /single observation/,
    });
  });

  it("constant scores and a perfect fit leave no residual variance", () => {
    expect(
      fitMixedModel(
        prePost(12, () => 7),
        TP2,
      ),
    ).toBeNull();
    expect(
      fitMixedModel(
        prePost(12, (i, k) => 10 + (i % 2) * 3 + k * 2),
        TP2,
      ),
    ).toBeNull();
  });

  it("the reference timepoint has no observations", () => {
    const obs = prePost(12, noisy).filter((o) => o.timepoint === "post");
    const opts = { timepoints: ["pre", "post", "follow-up"], groupEffect: false };
    expect(fitMixedModelWithReason(obs, opts)).toMatchObject({
      ok: false,
      reason: /reference timepoint/,
    });
  });

  it("a timepoint level without observations is dropped, as R's droplevels", () => {
    const obs = prePost(12, noisy);
    const a = fitMixedModel(obs, TP2)!;
    const b = fitMixedModel(obs, { timepoints: ["pre", "post", "follow-up"], groupEffect: false })!;
    expect(differences(b, a, 1e-9, 1e-12)).toEqual([]);
  });
});

describe("input validation", () => {
  const base = prePost(12, noisy);

  it("accepts valid input", () => {
    expect(mixedModelInputProblems(base, TP2)).toEqual([]);
    expect(mixedModelInputProblems(base, { ...TP2, groupEffect: true })).toEqual([]);
  });

  it("names each problem", () => {
    const bad: LmmObservation[] = [
      ...base,
      { participant: "P0", group: "G0", arm: "control", timepoint: "post", y: 1 },
      { participant: "P1", group: null, arm: "control", timepoint: "later", y: 1 },
      { participant: "P3", group: null, arm: "control", timepoint: "pre", y: Number.NaN },
      { participant: "", group: null, arm: "control", timepoint: "pre", y: 1 },
    ];
    const problems = mixedModelInputProblems(bad, TP2).join("\n");
    expect(problems).toMatch(/participant P0 is in both arms/);
    expect(problems).toMatch(/participant P0 has two scores at post/);
    expect(problems).toMatch(/timepoint "later" is not listed/);
    expect(problems).toMatch(/score NaN is not a finite number/);
    expect(problems).toMatch(/participant is empty/);
    expect(fitMixedModel(bad, TP2)).toBeNull();
  });

  it("rejects bad options", () => {
    expect(mixedModelInputProblems(base, { timepoints: ["pre"], groupEffect: false })).toContain(
      "at least 2 timepoints are needed",
    );
    expect(
      mixedModelInputProblems(base, { timepoints: ["pre", "post", "pre"], groupEffect: false }),
    ).toContain("timepoints contain duplicates");
  });

  it("a group effect needs every experimental participant in one group, and 2 or more groups", () => {
    const noGroup = base.map((o) => (o.participant === "P2" ? { ...o, group: null } : o));
    expect(mixedModelInputProblems(noGroup, { ...TP2, groupEffect: true }).join()).toMatch(
      /experimental participant P2 has no group/,
    );
    const moved = base.map((o) =>
      o.participant === "P2" && o.timepoint === "post" ? { ...o, group: "G0" } : o,
    );
    expect(mixedModelInputProblems(moved, { ...TP2, groupEffect: true }).join()).toMatch(
      /P2 is in more than one group/,
    );
    const oneGroup = base.map((o) => (o.arm === "experimental" ? { ...o, group: "only" } : o));
    const fit = fitMixedModelWithReason(oneGroup, { ...TP2, groupEffect: true });
    expect(fit).toMatchObject({ ok: false, reason: /at least 2 experimental groups \(found 1\)/ });
    // Without the group effect the same data fit, and control rows' groups are ignored.
    expect(fitMixedModel(oneGroup, TP2)).not.toBeNull();
  });
});

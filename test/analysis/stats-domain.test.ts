// The reference vectors of domain.md §4.10 (and the worked numbers of §4.4–§4.5), to the digits
// the brief prints them with.
import { describe as group, expect, it } from "vitest";
import {
  ancova,
  cronbachAlpha,
  hedgesJ,
  holm,
  mannWhitney,
  pairedT,
  pearson,
  rci,
  tTwoSidedP,
  welchT,
  wilcoxonSignedRank,
} from "../../src/analysis/stats/index.js";

group("t distribution p-values", () => {
  it("t = 2.2281388519, df = 10 → 0.0500000000", () => {
    expect(tTwoSidedP(2.2281388519, 10)).toBeCloseTo(0.05, 10);
  });
  it("t = 12.7062047362, df = 1 → 0.05", () => {
    expect(tTwoSidedP(12.7062047362, 1)).toBeCloseTo(0.05, 10);
  });
  it("t = 0.5, df = 3 → 0.6514479648", () => {
    expect(tTwoSidedP(0.5, 3)).toBeCloseTo(0.6514479648, 10);
  });
});

group("paired example", () => {
  const pre = [50, 55, 60, 45, 70, 65, 58, 62, 48, 53];
  const post = [58, 60, 61, 50, 75, 70, 60, 70, 52, 60];
  const r = pairedT(pre, post);

  it("M_d = 5, s_d = 2.3094, t = 6.84653, df = 9, p = 7.5025e-5, CI [3.348, 6.652]", () => {
    expect(r.meanDiff).toBe(5);
    expect(r.sdDiff).toBeCloseTo(2.3094, 4);
    expect(r.t).toBeCloseTo(6.84653, 5);
    expect(r.df).toBe(9);
    expect(r.p! / 7.5025e-5).toBeCloseTo(1, 4);
    expect(r.ci95![0]).toBeCloseTo(3.348, 3);
    expect(r.ci95![1]).toBeCloseTo(6.652, 3);
  });

  it("d_z = 2.1651, d_av = 0.6314, r(pre, post) = 0.9575, J(9) = 0.9143, g_av = 0.5773", () => {
    expect(r.dz).toBeCloseTo(2.1651, 4);
    expect(r.dav).toBeCloseTo(0.6314, 4);
    expect(pearson(pre, post).r).toBeCloseTo(0.9575, 4);
    expect(hedgesJ(9)).toBeCloseTo(0.91429, 5);
    expect(hedgesJ(9)! * r.dav!).toBeCloseTo(0.5773, 4);
  });

  it("is not simple-statistics' tTest (population SD, 7.2169)", () => {
    expect(r.t).not.toBeCloseTo(7.2169, 2);
  });
});

it("Welch example: t = 2.5802, df = 12.4279, p = 0.0235", () => {
  const r = welchT([3, 5, 6, 7, 9, 4, 5], [1, 2, 4, 3, 5, 2, 6, 1]);
  expect(r.t).toBeCloseTo(2.5802, 4);
  expect(r.df).toBeCloseTo(12.4279, 4);
  expect(r.p).toBeCloseTo(0.0235, 4);
});

it("Holm: [.01, .04, .03, .20] → [.04, .09, .09, .20]", () => {
  const adj = holm([0.01, 0.04, 0.03, 0.2]);
  [0.04, 0.09, 0.09, 0.2].forEach((e, i) => expect(adj[i]).toBeCloseTo(e, 12));
});

it("exact signed-rank: W+ = 33, p = 0.0390625", () => {
  const r = wilcoxonSignedRank([1.2, -0.4, 2.5, 3.1, 0.8, 1.9, -0.2, 2.2]);
  expect(r.wPlus).toBe(33);
  expect(r.method).toBe("exact");
  expect(r.p).toBe(0.0390625);
});

it("exact Mann–Whitney: U1 = 26 (U2 = 4), p = 0.051948, rank-biserial r = +0.733", () => {
  const r = mannWhitney([3.1, 5.2, 6.3, 7.4, 9.5], [1.1, 2.2, 4.3, 3.4, 5.5, 2.6]);
  expect(r.u).toBe(26);
  expect(r.n1 * r.n2 - r.u!).toBe(4);
  expect(r.method).toBe("exact");
  expect(r.p).toBeCloseTo(0.051948, 6);
  expect(r.rankBiserial).toBeCloseTo(0.733, 3);
});

it("Cronbach α = 0.9356", () => {
  const a = cronbachAlpha([
    [4, 3, 4, 5],
    [2, 2, 3, 2],
    [5, 4, 5, 5],
    [3, 3, 2, 3],
    [4, 4, 4, 3],
    [1, 2, 1, 2],
  ]);
  expect(a.alpha).toBeCloseTo(0.9356, 4);
  expect(a.n).toBe(6);
  expect(a.k).toBe(4);
});

it("ANCOVA: β1 = 6.3925, SE = 0.34423, t = 18.571, df = 17, β2 = 0.97501", () => {
  const preT = [40, 45, 50, 38, 42, 47, 44, 39, 41, 46];
  const postT = [50, 52, 58, 45, 49, 55, 51, 47, 48, 54];
  const preC = [41, 44, 49, 40, 43, 46, 45, 38, 42, 47];
  const postC = [43, 45, 50, 41, 44, 48, 46, 40, 43, 48];
  const r = ancova(
    [...postT, ...postC],
    [...preT.map(() => 1), ...preC.map(() => 0)],
    [...preT, ...preC],
  );
  expect(r.effect).toBeCloseTo(6.3925, 4);
  expect(r.se).toBeCloseTo(0.34423, 5);
  expect(r.t).toBeCloseTo(18.571, 3);
  expect(r.df).toBe(17);
  expect(r.slope).toBeCloseTo(0.97501, 5);
});

it("RCI: s_pre = 10, r_xx = .85 → S_diff = 5.477, reliable change needs 10.74 points", () => {
  const r = rci({ changes: [10.7, 10.8, -10.8, 0], sdPre: 10, reliability: 0.85 });
  expect(r.sDiff).toBeCloseTo(5.477, 3);
  expect(r.minReliableChange).toBeCloseTo(10.74, 2);
  expect(r.classes).toEqual(["unchanged", "improved", "deteriorated", "unchanged"]);
  expect([r.improved, r.unchanged, r.deteriorated]).toEqual([1, 2, 1]);
});

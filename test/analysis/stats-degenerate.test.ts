// What cannot be computed comes back as null — never NaN, never Infinity, never a throw — and
// the tests' structural properties (symmetries, exact tails) hold.
import { describe as group, expect, it } from "vitest";
import {
  ancova,
  cronbachAlpha,
  describe,
  hedgesG,
  hedgesJ,
  holm,
  mannWhitney,
  morrisDppc2,
  normalCdf,
  pairedT,
  pearson,
  rci,
  tCdf,
  tQuantile,
  tTwoSidedP,
  welchT,
  wilcoxonSignedRank,
} from "../../src/analysis/stats/index.js";

/** Every number reachable in a result is finite. */
function expectNoNonFinite(value: unknown, path = "result"): void {
  if (typeof value === "number") {
    expect(Number.isFinite(value), `${path} = ${value}`).toBe(true);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => expectNoNonFinite(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) expectNoNonFinite(v, `${path}.${k}`);
  }
}

group("descriptives", () => {
  it("mean null for n = 0, sd null for n < 2", () => {
    expect(describe([])).toEqual({ n: 0, mean: null, sd: null });
    expect(describe([4])).toEqual({ n: 1, mean: 4, sd: null });
    expect(describe([2, 2, 2]).sd).toBe(0);
  });
  it("non-finite input gives nulls", () => {
    expect(describe([1, Number.NaN, 3])).toEqual({ n: 3, mean: null, sd: null });
    expect(describe([1, Number.POSITIVE_INFINITY])).toEqual({ n: 2, mean: null, sd: null });
  });
});

group("paired t", () => {
  it("needs pairs of equal length", () => {
    const r = pairedT([1, 2, 3], [1, 2]);
    expect(r.meanDiff).toBeNull();
    expect(r.t).toBeNull();
  });
  it("one pair: mean difference only", () => {
    expect(pairedT([3], [5])).toMatchObject({
      n: 1,
      meanDiff: 2,
      sdDiff: null,
      t: null,
      p: null,
      df: null,
    });
  });
  it("constant differences: no t, p, CI or d_z (R: data are essentially constant)", () => {
    const r = pairedT([1, 4, 9, 2], [3, 6, 11, 4]);
    expect(r).toMatchObject({
      meanDiff: 2,
      sdDiff: 0,
      t: null,
      p: null,
      ci95: null,
      dz: null,
      df: 3,
    });
    expect(r.dav).toBeCloseTo(2 / Math.sqrt(((1 - 4) ** 2 + 0 + 25 + 4) / 3), 12);
  });
  it("no change at all", () => {
    const r = pairedT([5, 6, 7], [5, 6, 7]);
    expect(r).toMatchObject({ meanDiff: 0, t: null, p: null });
  });
  it("constant pre and post: d_av null", () => {
    expect(pairedT([2, 2, 2], [3, 3, 3]).dav).toBeNull();
  });
  it("sign follows post − pre", () => {
    const up = pairedT([1, 2, 3, 4], [2, 4, 4, 7]);
    const down = pairedT([2, 4, 4, 7], [1, 2, 3, 4]);
    expect(up.t!).toBeGreaterThan(0);
    expect(down.t).toBeCloseTo(-up.t!, 12);
    expect(down.p).toBeCloseTo(up.p!, 14);
  });
});

group("Welch t", () => {
  it("needs two values per sample for anything but the difference", () => {
    expect(welchT([1], [2, 3, 4])).toMatchObject({
      diff: -2,
      t: null,
      df: null,
      p: null,
      ci95: null,
    });
    expect(welchT([], [2, 3])).toMatchObject({ diff: null, t: null });
  });
  it("two constant samples: no t", () => {
    expect(welchT([1, 1, 1], [2, 2])).toMatchObject({ diff: -1, se: 0, t: null, p: null });
  });
  it("swapping the samples flips the sign only", () => {
    const a = welchT([1, 3, 4, 8], [2, 2.5, 9, 11, 13]);
    const b = welchT([2, 2.5, 9, 11, 13], [1, 3, 4, 8]);
    expect(b.t).toBeCloseTo(-a.t!, 12);
    expect(b.df).toBeCloseTo(a.df!, 12);
    expect(b.p).toBeCloseTo(a.p!, 14);
    expect(b.ci95![0]).toBeCloseTo(-a.ci95![1], 12);
  });
});

group("ANCOVA", () => {
  const pre = [10, 12, 14, 11, 13, 15];
  const post = [12, 15, 16, 11, 12, 15];
  const arm = [1, 1, 1, 0, 0, 0];
  it("null when it cannot be fitted", () => {
    expect(ancova(post, [1, 1, 1, 1, 1, 1], pre).effect).toBeNull(); // one arm
    expect(ancova(post, arm, [5, 5, 5, 5, 5, 5]).effect).toBeNull(); // constant pre
    expect(
      ancova(
        post,
        arm,
        arm.map((g) => 20 + 5 * g),
      ).effect,
    ).toBeNull(); // collinear
    expect(ancova(post, [1, 1, 1, 0, 0, 2], pre).effect).toBeNull(); // not 0/1
    expect(ancova(post, arm, pre.slice(1)).effect).toBeNull(); // lengths
    expect(ancova([1, 2], [0, 1], [3, 4]).effect).toBeNull(); // n < 3
  });
  it("n = 3 gives coefficients but no inference (df = 0)", () => {
    const r = ancova([5, 9, 4], [1, 1, 0], [2, 4, 3]);
    expect(r.effect).not.toBeNull();
    expect(r).toMatchObject({ se: null, t: null, p: null, ci95: null, df: null });
  });
  it("perfect fit: se 0 and no t", () => {
    const r = ancova([14, 16, 18, 10, 12, 14], arm, [10, 12, 14, 10, 12, 14]);
    expect(r).toMatchObject({ effect: 4, slope: 1, se: 0, t: null, p: null, ci95: null, df: 3 });
  });
  it("shifting pre by a constant changes only the intercept", () => {
    const a = ancova(post, arm, pre);
    const b = ancova(
      post,
      arm,
      pre.map((p) => p + 1000),
    );
    expect(b.effect).toBeCloseTo(a.effect!, 10);
    expect(b.se).toBeCloseTo(a.se!, 10);
    expect(b.adjustedMeans!.arm1).toBeCloseTo(a.adjustedMeans!.arm1, 10);
  });
});

group("rank tests", () => {
  it("signed-rank: all zeros or empty give no p", () => {
    expect(wilcoxonSignedRank([0, 0, 0])).toMatchObject({
      n: 0,
      zeros: 3,
      wPlus: 0,
      p: null,
      method: null,
    });
    expect(wilcoxonSignedRank([])).toMatchObject({ n: 0, p: null });
    expect(wilcoxonSignedRank([1, Number.NaN])).toMatchObject({ wPlus: null, p: null });
  });
  it("signed-rank exact tail: all 20 differences negative → p = 2/2^20", () => {
    const d = Array.from({ length: 20 }, (_, i) => -(i + 1) * 0.5);
    const r = wilcoxonSignedRank(d);
    expect(r.method).toBe("exact");
    expect(r.wPlus).toBe(0);
    expect(r.p).toBe(2 / 2 ** 20);
    expect(r.rankBiserial).toBe(-1);
  });
  it("signed-rank: negating d swaps W+ and W− and keeps p", () => {
    for (const d of [
      [1.5, -2, 3, 4.25, -0.5, 6],
      [1, 1, -2, 3, 0, 3, -3, 4],
    ]) {
      const a = wilcoxonSignedRank(d);
      const b = wilcoxonSignedRank(d.map((x) => -x));
      expect(b.wPlus).toBe(a.wMinus);
      expect(b.p).toBeCloseTo(a.p!, 14);
    }
  });
  it("Mann–Whitney: empty sample or all tied give no p", () => {
    expect(mannWhitney([], [1, 2])).toMatchObject({ u: null, p: null });
    expect(mannWhitney([2, 2], [2, 2, 2])).toMatchObject({ u: 3, p: null, method: null });
    expect(mannWhitney([1], [1])).toMatchObject({ p: null });
  });
  it("Mann–Whitney exact tail: complete separation of 5 vs 6 → p = 2/C(11,5)", () => {
    const r = mannWhitney([10, 11, 12, 13, 14], [1, 2, 3, 4, 5, 6]);
    expect(r.u).toBe(30);
    expect(r.p).toBeCloseTo(2 / 462, 15);
    expect(r.rankBiserial).toBe(1);
  });
  it("Mann–Whitney: swapping samples gives U_y = n1·n2 − U_x and the same p", () => {
    for (const [x, y] of [
      [
        [1.1, 3.5, 2.2, 8.0],
        [0.5, 4.4, 6.1, 7.2, 9.9],
      ],
      [
        [1, 2, 2, 3, 5],
        [2, 3, 3, 4, 6, 6],
      ],
    ] as const) {
      const a = mannWhitney(x, y);
      const b = mannWhitney(y, x);
      expect(b.u).toBe(x.length * y.length - a.u!);
      expect(b.p).toBeCloseTo(a.p!, 14);
    }
  });
});

group("effect sizes", () => {
  it("Hedges g null without a pooled SD", () => {
    expect(hedgesG([1], [2]).g).toBeNull();
    expect(hedgesG([3, 3], [3, 3, 3]).g).toBeNull();
    expect(hedgesG([], [1, 2, 3]).g).toBeNull();
  });
  it("Hedges g allows a sample of one (it adds no variance)", () => {
    const r = hedgesG([4], [1, 2, 3]);
    expect(r.d).toBeCloseTo(2, 12); // (4 − 2)/sqrt(2/2)
    expect(r.j).toBeCloseTo(1 - 3 / (4 * 4 - 9), 15);
  });
  it("J(df) null below df = 1", () => {
    expect(hedgesJ(0)).toBeNull();
    expect(hedgesJ(Number.NaN)).toBeNull();
  });
  it("d_ppc2 null for unpaired arms or constant pre-tests", () => {
    expect(morrisDppc2({ preT: [1, 2], postT: [3], preC: [1, 2], postC: [2, 3] }).d).toBeNull();
    expect(morrisDppc2({ preT: [5, 5], postT: [6, 8], preC: [5, 5], postC: [5, 6] }).d).toBeNull();
    expect(morrisDppc2({ preT: [], postT: [], preC: [1, 2], postC: [2, 3] }).d).toBeNull();
  });
  it("d_ppc2 is positive when the experimental arm gains more", () => {
    const r = morrisDppc2({
      preT: [10, 12, 14],
      postT: [15, 16, 20],
      preC: [11, 12, 13],
      postC: [12, 12, 14],
    });
    expect(r.d!).toBeGreaterThan(0);
    expect(r.cP).toBeCloseTo(1 - 3 / (4 * 4 - 1), 15);
  });
});

group("reliability, RCI, Holm, Pearson", () => {
  it("α null for one item, one complete case, or zero total variance", () => {
    expect(cronbachAlpha([[1], [2], [3]]).alpha).toBeNull();
    expect(
      cronbachAlpha([
        [1, 2],
        [null, 3],
      ]),
    ).toEqual({ alpha: null, n: 1, k: 2 });
    expect(
      cronbachAlpha([
        [2, 2],
        [2, 2],
        [2, 2],
      ]).alpha,
    ).toBeNull();
    expect(cronbachAlpha([]).alpha).toBeNull();
  });
  it("α uses complete cases only (short rows and NaN count as missing)", () => {
    const full = [
      [1, 2, 2],
      [3, 3, 4],
      [4, 5, 5],
      [2, 2, 1],
    ];
    const withGaps = [...full, [5, 5], [1, Number.NaN, 2], [null, 1, 1]];
    expect(cronbachAlpha(withGaps)).toEqual(cronbachAlpha(full));
  });
  it("RCI null for an unusable SD or reliability; missing changes are skipped", () => {
    for (const bad of [
      { sdPre: 0, reliability: 0.8 },
      { sdPre: 5, reliability: 1 },
      { sdPre: 5, reliability: -0.1 },
      { sdPre: Number.NaN, reliability: 0.8 },
    ]) {
      const r = rci({ changes: [1, 2], ...bad });
      expect(r).toMatchObject({ sDiff: null, improved: null, unchanged: null, deteriorated: null });
      expect(r.classes).toEqual([null, null]);
    }
    const r = rci({ changes: [null, 20, -20], sdPre: 5, reliability: 0.8, higherIsBetter: false });
    expect(r.classes).toEqual([null, "deteriorated", "improved"]);
    expect([r.improved, r.unchanged, r.deteriorated]).toEqual([1, 0, 1]);
  });
  it("RCI exactly at 1.96 is not reliable change", () => {
    // S_diff = 10·sqrt(2·0.5) = 10, so a change of 19.6 is RCI = 1.96 on paper (in binary
    // 1.9600000000000002): on the threshold, so not reliable. 19.61 is.
    const r = rci({ changes: [19.6, -19.6, 19.61], sdPre: 10, reliability: 0.5 });
    expect(r.indices[0]).toBeCloseTo(1.96, 12);
    expect(r.classes).toEqual(["unchanged", "unchanged", "improved"]);
  });
  it("Holm: nulls and invalid p pass through and are not counted", () => {
    expect(holm([])).toEqual([]);
    expect(holm([null, null])).toEqual([null, null]);
    expect(holm([0.01, null, Number.NaN, 1.5, 0.02])).toEqual([0.02, null, null, null, 0.02]);
  });
  it("Holm never lowers a p-value and keeps the order of the raw p-values", () => {
    const ps = [0.2, 0.001, 0.04, 0.03, 0.5, 0.011, 0.012];
    const adj = holm(ps) as number[];
    ps.forEach((p, i) => expect(adj[i]).toBeGreaterThanOrEqual(p));
    for (let i = 0; i < ps.length; i++)
      for (let j = 0; j < ps.length; j++)
        if (ps[i]! < ps[j]!) expect(adj[i]).toBeLessThanOrEqual(adj[j]!);
  });
  it("Pearson: no p with two cases, nothing for a constant variable, p = 0 for |r| = 1", () => {
    expect(pearson([1, 2], [3, 5])).toEqual({ r: 1, p: null, n: 2 });
    expect(pearson([1, 2, 3], [4, 4, 4])).toEqual({ r: null, p: null, n: 3 });
    expect(pearson([1, 2, 3], [6, 4, 2])).toEqual({ r: -1, p: 0, n: 3 });
    expect(pearson([1, 2], [1, 2, 3]).r).toBeNull();
  });
});

group("distributions", () => {
  it("reject impossible arguments with null", () => {
    expect(tQuantile(0, 5)).toBeNull();
    expect(tQuantile(1, 5)).toBeNull();
    expect(tQuantile(0.5, 0)).toBeNull();
    expect(tTwoSidedP(1, -1)).toBeNull();
    expect(tTwoSidedP(Number.NaN, 3)).toBeNull();
    expect(tCdf(1, Number.NaN)).toBeNull();
    expect(normalCdf(Number.NaN)).toBeNull();
  });
  it("limits", () => {
    expect(tTwoSidedP(0, 4)).toBe(1);
    expect(tTwoSidedP(Number.POSITIVE_INFINITY, 4)).toBe(0);
    expect(tQuantile(0.5, 7)).toBe(0);
    // Closed forms: Cauchy (df = 1) and df = 2.
    expect(tQuantile(0.9, 1)).toBeCloseTo(Math.tan(Math.PI * 0.4), 12);
    expect(tQuantile(0.9, 2)).toBeCloseTo(0.8 / Math.sqrt(2 * 0.9 * 0.1), 12);
  });
});

it("random and degenerate inputs never produce NaN, Infinity or a throw", () => {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const sample = (): number[] => {
    const n = Math.floor(rand() * 7);
    const kind = Math.floor(rand() * 4);
    return Array.from({ length: n }, () =>
      kind === 0 ? 3 : kind === 1 ? Math.round(rand() * 4) : kind === 2 ? 0 : rand() * 100 - 50,
    );
  };
  for (let i = 0; i < 400; i++) {
    const x = sample();
    const y = sample();
    const same = x.map(() => Math.round(rand() * 3));
    const arm = x.map(() => (rand() < 0.5 ? 1 : 0));
    const results = [
      describe(x),
      pairedT(x, same),
      welchT(x, y),
      ancova(same, arm, x),
      wilcoxonSignedRank(x),
      mannWhitney(x, y),
      hedgesG(x, y),
      morrisDppc2({ preT: x, postT: same, preC: y, postC: y.map((v) => v + 1) }),
      cronbachAlpha([x, same, x.map((v) => v * 2)]),
      rci({ changes: x, sdPre: rand() * 2, reliability: rand() }),
      pearson(x, same),
      holm(x.map((v) => Math.abs(v) / 50)),
    ];
    expectNoNonFinite(results, `case ${i}`);
  }
});

// Rank tests for small samples (domain.md §4.3), reproducing R's wilcox.test defaults:
// two-sided, mu = 0, exact = NULL (exact p when n < 50 and there are no ties or zeros),
// correct = TRUE (continuity correction 0.5·sign(S − E) in the normal approximation).
import { normalTwoSidedP } from "./distributions.js";
import { allFinite, finite, midRanks, tieTerm } from "./numeric.js";

export type RankMethod = "exact" | "normal";

/** Below this size (in every sample) R uses the exact null distribution. */
const EXACT_LIMIT = 50;

/** Counts of subsets of {1..n} by their sum (signed-rank null distribution, times 2^n). */
function signedRankCounts(n: number): number[] {
  const max = (n * (n + 1)) / 2;
  const f = new Array<number>(max + 1).fill(0);
  f[0] = 1;
  for (let k = 1; k <= n; k++) {
    for (let s = (k * (k + 1)) / 2; s >= k; s--) f[s]! += f[s - k]!;
  }
  return f;
}

/** Counts of the Mann–Whitney U over all C(m+n, m) arrangements: N(i,j,u) = N(i−1,j,u−j) + N(i,j−1,u). */
function rankSumCounts(m: number, n: number): number[] {
  // prev[j] holds N(i−1, j, ·); cur[j] is built for i.
  let prev: number[][] = [];
  for (let j = 0; j <= n; j++) prev.push([1]);
  for (let i = 1; i <= m; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= n; j++) {
      const row = new Array<number>(i * j + 1).fill(0);
      const left = cur[j - 1]!;
      for (let u = 0; u < left.length; u++) row[u]! += left[u]!;
      const up = prev[j]!;
      for (let u = 0; u < up.length; u++) row[u + j]! += up[u]!;
      cur.push(row);
    }
    prev = cur;
  }
  return prev[n]!;
}

/** R's exact two-sided p: the tail on the side of the statistic, doubled, capped at 1. */
function exactTwoSided(counts: readonly number[], stat: number, centre: number): number {
  let tail = 0;
  let total = 0;
  for (let s = 0; s < counts.length; s++) {
    const c = counts[s]!;
    total += c;
    if (stat > centre ? s >= stat : s <= stat) tail += c;
  }
  return Math.min(1, (2 * tail) / total);
}

export interface SignedRank {
  /** Sum of the ranks of the positive differences (R's V). */
  wPlus: number | null;
  wMinus: number | null;
  /** Number of non-zero differences used. */
  n: number;
  /** Differences equal to zero, dropped before ranking. */
  zeros: number;
  p: number | null;
  method: RankMethod | null;
  /** Continuity-corrected z (normal method only). */
  z: number | null;
  /** Matched-pairs rank-biserial r = (W+ − W−)/(W+ + W−). */
  rankBiserial: number | null;
}

/**
 * Wilcoxon signed-rank test on paired differences d (pass post − pre), as R's
 * wilcox.test(d) / wilcox.test(post, pre, paired = TRUE).
 * Zeros are dropped; exact p when no ties, no zeros and n < 50, otherwise the normal approximation
 * with tie and continuity corrections.
 * Null rules: everything null (n = 0) when an input is not finite; with no non-zero differences
 * wPlus/wMinus are 0 and p, method, z and rankBiserial are null (R returns p = NaN).
 */
export function wilcoxonSignedRank(d: readonly number[]): SignedRank {
  if (!allFinite(d)) {
    return {
      wPlus: null,
      wMinus: null,
      n: 0,
      zeros: 0,
      p: null,
      method: null,
      z: null,
      rankBiserial: null,
    };
  }
  const nz = d.filter((x) => x !== 0);
  const n = nz.length;
  const zeros = d.length - n;
  const { ranks, tieSizes } = midRanks(nz.map(Math.abs));
  let wPlus = 0;
  nz.forEach((x, i) => {
    if (x > 0) wPlus += ranks[i]!;
  });
  const wMinus = (n * (n + 1)) / 2 - wPlus;
  const base: SignedRank = {
    wPlus,
    wMinus,
    n,
    zeros,
    p: null,
    method: null,
    z: null,
    rankBiserial: null,
  };
  if (n === 0) return base;
  const rankBiserial = (wPlus - wMinus) / (wPlus + wMinus);
  const centre = (n * (n + 1)) / 4;
  const ties = tieSizes.some((t) => t > 1);
  if (n < EXACT_LIMIT && !ties && zeros === 0) {
    const p = exactTwoSided(signedRankCounts(n), wPlus, centre);
    return { ...base, p, method: "exact", rankBiserial };
  }
  const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm(tieSizes) / 48);
  const dev = wPlus - centre;
  const z = finite((dev - 0.5 * Math.sign(dev)) / sigma);
  if (z === null) return { ...base, rankBiserial };
  return { ...base, p: normalTwoSidedP(z), method: "normal", z, rankBiserial };
}

export interface RankSum {
  /** R's W: the Mann–Whitney U of x (pairs with x > y, ties counting ½). */
  u: number | null;
  n1: number;
  n2: number;
  p: number | null;
  method: RankMethod | null;
  /** Continuity-corrected z (normal method only). */
  z: number | null;
  /** Rank-biserial r = 2U/(n1·n2) − 1; positive when x tends to exceed y. */
  rankBiserial: number | null;
}

/**
 * Mann–Whitney U / Wilcoxon rank-sum test, as R's wilcox.test(x, y).
 * Exact p when both samples have fewer than 50 values and there are no ties; otherwise the normal
 * approximation with tie and continuity corrections.
 * Null rules: everything null when an input is not finite or a sample is empty (R stops with
 * "not enough observations"); p, method and z null when all values are tied (R gives NaN).
 */
export function mannWhitney(x: readonly number[], y: readonly number[]): RankSum {
  const n1 = x.length;
  const n2 = y.length;
  const empty: RankSum = { u: null, n1, n2, p: null, method: null, z: null, rankBiserial: null };
  if (n1 === 0 || n2 === 0 || !allFinite(x) || !allFinite(y)) return empty;
  const { ranks, tieSizes } = midRanks([...x, ...y]);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i]!;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const base: RankSum = { ...empty, u, rankBiserial: (2 * u) / (n1 * n2) - 1 };
  const centre = (n1 * n2) / 2;
  const ties = tieSizes.some((t) => t > 1);
  if (n1 < EXACT_LIMIT && n2 < EXACT_LIMIT && !ties) {
    return { ...base, p: exactTwoSided(rankSumCounts(n1, n2), u, centre), method: "exact" };
  }
  const N = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (N + 1 - tieTerm(tieSizes) / (N * (N - 1))));
  const dev = u - centre;
  const z = finite((dev - 0.5 * Math.sign(dev)) / sigma);
  if (z === null) return base;
  return { ...base, p: normalTwoSidedP(z), method: "normal", z };
}

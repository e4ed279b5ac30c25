// Standardised effect sizes (domain.md §4.4, Lakens 2013; Morris 2008).
import { allFinite, finite, mean, sumSquares } from "./numeric.js";

/**
 * Small-sample correction J(df) ≈ 1 − 3/(4·df − 1) (Hedges). With df = n1 + n2 − 2 this is
 * Lakens' 1 − 3/(4(n1+n2) − 9); use df = n − 1 for a paired d_av or d_z.
 * Null for df < 1 (J(1) is 0, so every corrected d would be 0).
 */
export function hedgesJ(df: number): number | null {
  if (!(Number.isFinite(df) && df >= 1)) return null;
  return 1 - 3 / (4 * df - 1);
}

export interface HedgesG {
  n1: number;
  n2: number;
  /** Cohen's d_s = (M_x − M_y)/s_pooled. */
  d: number | null;
  /** J·d_s. */
  g: number | null;
  /** J = 1 − 3/(4(n1+n2) − 9). */
  j: number | null;
}

/**
 * Hedges' g for two independent samples, positive when x has the higher mean.
 * Null rules: all null when a sample is empty, an input is not finite, n1 + n2 < 3 (no pooled
 * df), or the pooled SD is 0. A sample of one contributes no variance but is allowed.
 */
export function hedgesG(x: readonly number[], y: readonly number[]): HedgesG {
  const n1 = x.length;
  const n2 = y.length;
  const empty: HedgesG = { n1, n2, d: null, g: null, j: null };
  if (n1 === 0 || n2 === 0 || n1 + n2 < 3 || !allFinite(x) || !allFinite(y)) return empty;
  const df = n1 + n2 - 2;
  const sp = Math.sqrt((sumSquares(x) + sumSquares(y)) / df);
  if (!(sp > 0)) return empty;
  const d = finite((mean(x) - mean(y)) / sp);
  const j = hedgesJ(df);
  if (d === null || j === null) return empty;
  return { n1, n2, d, g: j * d, j };
}

export interface PrePostControlInput {
  preT: readonly number[];
  postT: readonly number[];
  preC: readonly number[];
  postC: readonly number[];
}

export interface Dppc2 {
  nT: number;
  nC: number;
  /** c_P·[(M_post,T − M_pre,T) − (M_post,C − M_pre,C)]/SD_pre,pooled; positive when T gains more. */
  d: number | null;
  /** c_P = 1 − 3/(4(nT+nC−2) − 1). */
  cP: number | null;
  sdPrePooled: number | null;
}

/**
 * Morris (2008) d_ppc2, the pre-post-control effect size. Pre and post of an arm are the same
 * children in the same order (complete pairs), so nT = preT.length = postT.length.
 * Null rules: all null when pre/post lengths differ within an arm, an arm is empty, an input is
 * not finite, nT + nC < 3, or the pooled pre-test SD is 0.
 */
export function morrisDppc2(input: PrePostControlInput): Dppc2 {
  const { preT, postT, preC, postC } = input;
  const nT = preT.length;
  const nC = preC.length;
  const empty: Dppc2 = { nT, nC, d: null, cP: null, sdPrePooled: null };
  if (postT.length !== nT || postC.length !== nC || nT === 0 || nC === 0 || nT + nC < 3) {
    return empty;
  }
  if (![preT, postT, preC, postC].every(allFinite)) return empty;
  const df = nT + nC - 2;
  const sdPrePooled = Math.sqrt((sumSquares(preT) + sumSquares(preC)) / df);
  if (!(sdPrePooled > 0)) return empty;
  const cP = 1 - 3 / (4 * df - 1);
  const gainDiff = mean(postT) - mean(preT) - (mean(postC) - mean(preC));
  const d = finite((cP * gainDiff) / sdPrePooled);
  return d === null ? empty : { nT, nC, d, cP, sdPrePooled };
}

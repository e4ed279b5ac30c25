// Paired and Welch t-tests (domain.md §4.1, §4.2), two-sided, 95% confidence intervals,
// matching R's t.test(post, pre, paired = TRUE) and t.test(x, y) (Welch is R's default).
import { sampleVariance } from "simple-statistics";
import { tQuantile, tTwoSidedP } from "./distributions.js";
import { EPS, allFinite, finite, mean } from "./numeric.js";

export type Interval = [number, number];

export interface PairedT {
  /** Number of pairs. */
  n: number;
  /** Mean of d = post − pre. */
  meanDiff: number | null;
  /** SD of the differences (n − 1). */
  sdDiff: number | null;
  t: number | null;
  df: number | null;
  p: number | null;
  ci95: Interval | null;
  /** d_z = M_d / s_d. */
  dz: number | null;
  /** d_av = M_d / ((s_pre + s_post) / 2). */
  dav: number | null;
}

function ci(center: number, se: number, df: number): Interval | null {
  const q = tQuantile(0.975, df);
  if (q === null) return null;
  const lo = finite(center - q * se);
  const hi = finite(center + q * se);
  return lo === null || hi === null ? null : [lo, hi];
}

/**
 * Paired t on d = post − pre.
 * Null rules: everything null (n = pre.length) when the lengths differ or an input is not finite;
 * meanDiff null when n = 0; sdDiff, df and dav need n ≥ 2 (dav also s_pre + s_post > 0);
 * t, p, ci95 and dz are null when the differences are constant (SE below 10·ε·|M_d|, the point
 * where R stops with "data are essentially constant").
 */
export function pairedT(pre: readonly number[], post: readonly number[]): PairedT {
  const n = pre.length;
  const empty: PairedT = {
    n,
    meanDiff: null,
    sdDiff: null,
    t: null,
    df: null,
    p: null,
    ci95: null,
    dz: null,
    dav: null,
  };
  if (post.length !== n || !allFinite(pre) || !allFinite(post) || n === 0) return empty;
  const d = pre.map((x, i) => post[i]! - x);
  const md = mean(d);
  if (n < 2) return { ...empty, meanDiff: finite(md) };
  const sd = Math.sqrt(sampleVariance(d));
  const se = sd / Math.sqrt(n);
  const df = n - 1;
  const sAvg = (Math.sqrt(sampleVariance(pre)) + Math.sqrt(sampleVariance(post))) / 2;
  const base = { ...empty, meanDiff: md, sdDiff: sd, df, dav: sAvg > 0 ? finite(md / sAvg) : null };
  if (!(se > 10 * EPS * Math.abs(md))) return base;
  const t = md / se;
  return { ...base, t, p: tTwoSidedP(t, df), ci95: ci(md, se, df), dz: finite(md / sd) };
}

export interface WelchT {
  n1: number;
  n2: number;
  /** mean(x) − mean(y). */
  diff: number | null;
  /** sqrt(s1²/n1 + s2²/n2). */
  se: number | null;
  t: number | null;
  /** Welch–Satterthwaite df (usually fractional). */
  df: number | null;
  p: number | null;
  ci95: Interval | null;
}

/**
 * Welch two-sample t for mean(x) − mean(y).
 * Null rules: everything null when an input is not finite; diff null unless both samples are
 * non-empty; se, t, df, p, ci95 need n ≥ 2 in each sample (as R); t, df, p, ci95 are null when
 * both samples are constant (SE below 10·ε·max(|M_x|, |M_y|), R's "essentially constant").
 */
export function welchT(x: readonly number[], y: readonly number[]): WelchT {
  const n1 = x.length;
  const n2 = y.length;
  const empty: WelchT = { n1, n2, diff: null, se: null, t: null, df: null, p: null, ci95: null };
  if (!allFinite(x) || !allFinite(y) || n1 === 0 || n2 === 0) return empty;
  const mx = mean(x);
  const my = mean(y);
  const diff = mx - my;
  if (n1 < 2 || n2 < 2) return { ...empty, diff: finite(diff) };
  const v1 = sampleVariance(x) / n1;
  const v2 = sampleVariance(y) / n2;
  const se = Math.sqrt(v1 + v2);
  const base = { ...empty, diff, se };
  if (!(se > 10 * EPS * Math.max(Math.abs(mx), Math.abs(my)))) return base;
  const df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1));
  if (!Number.isFinite(df)) return base;
  const t = diff / se;
  return { ...base, t, df, p: tTwoSidedP(t, df), ci95: ci(diff, se, df) };
}

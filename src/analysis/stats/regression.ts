// ANCOVA for a randomised pre/post design (domain.md §4.2): OLS post ~ 1 + arm + pre.
//
// The 3×3 normal equations are solved after centring arm and pre (Frisch–Waugh): the intercept
// drops out, leaving a 2×2 system in centred cross-products, which is far better conditioned
// than XᵀX with raw scores around 50 and gives the same coefficients and (XᵀX)⁻¹ entries.
// Residuals are formed directly, not as Syy − β'Sxy, to avoid cancellation.
import { tQuantile, tTwoSidedP } from "./distributions.js";
import { allFinite, finite, mean } from "./numeric.js";
import type { Interval } from "./t.js";

/** 1 − r²(arm, pre) below this counts as collinear (R's lm drops a column at about 1e-14). */
const SINGULAR_TOL = 1e-10;

export interface Ancova {
  n: number;
  /** Arm coefficient β1: adjusted mean difference, arm 1 minus arm 0. */
  effect: number | null;
  se: number | null;
  t: number | null;
  /** n − 3. */
  df: number | null;
  p: number | null;
  ci95: Interval | null;
  /** Pre-score coefficient β2 (common slope). */
  slope: number | null;
  intercept: number | null;
  /** Adjusted means ȳ_g − β2·(x̄_g − x̄). */
  adjustedMeans: { arm0: number; arm1: number } | null;
}

/**
 * ANCOVA of post on arm (0 = control, 1 = experimental) adjusting for pre.
 * Null rules: everything null when lengths differ, an input is not finite, an arm value is not
 * 0 or 1, n < 3, only one arm is present, pre is constant, or arm and pre are collinear.
 * With n = 3 (no residual df) the coefficients and adjusted means are returned but se, t, df, p
 * and ci95 are null; with a perfect fit (SSE = 0) se is 0 and t, p, ci95 are null.
 */
export function ancova(
  post: readonly number[],
  arm01: readonly number[],
  pre: readonly number[],
): Ancova {
  const n = post.length;
  const empty: Ancova = {
    n,
    effect: null,
    se: null,
    t: null,
    df: null,
    p: null,
    ci95: null,
    slope: null,
    intercept: null,
    adjustedMeans: null,
  };
  if (arm01.length !== n || pre.length !== n || n < 3) return empty;
  if (!allFinite(post) || !allFinite(pre) || !arm01.every((g) => g === 0 || g === 1)) return empty;

  const my = mean(post);
  const mg = mean(arm01);
  const mp = mean(pre);
  let sgg = 0;
  let spp = 0;
  let sgp = 0;
  let sgy = 0;
  let spy = 0;
  for (let i = 0; i < n; i++) {
    const g = arm01[i]! - mg;
    const p = pre[i]! - mp;
    const y = post[i]! - my;
    sgg += g * g;
    spp += p * p;
    sgp += g * p;
    sgy += g * y;
    spy += p * y;
  }
  if (!(sgg > 0 && spp > 0)) return empty;
  const det = sgg * spp - sgp * sgp;
  if (!(det > SINGULAR_TOL * sgg * spp)) return empty;

  const effect = (spp * sgy - sgp * spy) / det;
  const slope = (sgg * spy - sgp * sgy) / det;
  const intercept = my - effect * mg - slope * mp;

  const group = (arm: 0 | 1) => {
    const idx = arm01.flatMap((g, i) => (g === arm ? [i] : []));
    return {
      y: mean(idx.map((i) => post[i]!)),
      x: mean(idx.map((i) => pre[i]!)),
    };
  };
  const g0 = group(0);
  const g1 = group(1);
  const adjustedMeans = {
    arm0: g0.y - slope * (g0.x - mp),
    arm1: g1.y - slope * (g1.x - mp),
  };
  const base: Ancova = { ...empty, effect, slope, intercept, adjustedMeans };

  const df = n - 3;
  if (df < 1) return base;
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const e = post[i]! - intercept - effect * arm01[i]! - slope * pre[i]!;
    sse += e * e;
  }
  // [(XᵀX)⁻¹]_GG equals spp/det for the centred system.
  const se = Math.sqrt(((sse / df) * spp) / det);
  if (!Number.isFinite(se)) return base;
  if (!(se > 0)) return { ...base, se, df };
  const t = effect / se;
  const q = tQuantile(0.975, df);
  return {
    ...base,
    se,
    t: finite(t),
    df,
    p: tTwoSidedP(t, df),
    ci95: q === null ? null : [effect - q * se, effect + q * se],
  };
}

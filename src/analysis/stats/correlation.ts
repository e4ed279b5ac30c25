// Pearson correlation with the usual t-test (R's cor.test defaults).
import { incompleteBeta } from "./distributions.js";
import { allFinite, finite, mean } from "./numeric.js";

export interface Pearson {
  r: number | null;
  /** Two-sided p of t = r·sqrt(df/(1 − r²)), df = n − 2. */
  p: number | null;
  n: number;
}

/**
 * Pearson r and its two-sided p.
 * Null rules: r and p null when lengths differ, an input is not finite, n < 2, or either
 * variable is constant; p also null when n < 3. |r| = 1 gives p = 0.
 */
export function pearson(x: readonly number[], y: readonly number[]): Pearson {
  const n = x.length;
  if (y.length !== n || n < 2 || !allFinite(x) || !allFinite(y)) return { r: null, p: null, n };
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  if (!(sxx > 0 && syy > 0)) return { r: null, p: null, n };
  const raw = finite(sxy / Math.sqrt(sxx * syy));
  if (raw === null) return { r: null, p: null, n };
  const r = Math.max(-1, Math.min(1, raw));
  if (n < 3) return { r, p: null, n };
  // df/(df + t²) = 1 − r², so the t-test p is I_{1−r²}(df/2, 1/2) without forming t.
  const df = n - 2;
  const oneMinusR2 = (1 - r) * (1 + r);
  return { r, p: Math.min(1, incompleteBeta(oneMinusR2, r * r, df / 2, 0.5)), n };
}

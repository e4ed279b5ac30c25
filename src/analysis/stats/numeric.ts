// Small numeric helpers shared by the statistics modules (not re-exported from index.ts).
import { mean as ssMean } from "simple-statistics";

/** Machine epsilon; R's "data are essentially constant" checks are multiples of it. */
export const EPS = Number.EPSILON;

/** A finite number, or null: keeps NaN and ±Infinity out of every result. */
export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function allFinite(xs: readonly number[]): boolean {
  return xs.every((x) => Number.isFinite(x));
}

/** Compensated mean (simple-statistics); the caller guarantees xs is non-empty. */
export function mean(xs: readonly number[]): number {
  return ssMean(xs);
}

/** Sum of squared deviations from the mean (two-pass, so constant data give exactly 0). */
export function sumSquares(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s;
}

export interface Ranking {
  /** Mid-ranks (1-based), in input order; ties share the average rank as in R's rank(). */
  ranks: number[];
  /** Size of every group of tied values (groups of one included). */
  tieSizes: number[];
}

/** R's rank(x, ties.method = "average"); values are tied only when exactly equal. */
export function midRanks(xs: readonly number[]): Ranking {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!);
  const ranks = new Array<number>(xs.length);
  const tieSizes: number[] = [];
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]!] === xs[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = avg;
    tieSizes.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, tieSizes };
}

/** Σ(t³ − t) over tie groups, the tie term of both rank-test variances. */
export function tieTerm(tieSizes: readonly number[]): number {
  return tieSizes.reduce((s, t) => s + (t * t * t - t), 0);
}

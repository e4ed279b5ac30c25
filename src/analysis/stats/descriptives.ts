// Descriptive statistics per arm and time point.
import { sampleVariance } from "simple-statistics";
import { allFinite, finite, mean } from "./numeric.js";

export interface Description {
  n: number;
  /** Null when n = 0. */
  mean: number | null;
  /** Sample SD (divisor n − 1). Null when n < 2. */
  sd: number | null;
}

/**
 * n, mean and sample SD. Null rules: mean null when n = 0; sd null when n < 2. Any non-finite
 * input makes mean and sd null (n is still the array length).
 */
export function describe(xs: readonly number[]): Description {
  const n = xs.length;
  if (n === 0 || !allFinite(xs)) return { n, mean: null, sd: null };
  return {
    n,
    mean: finite(mean(xs)),
    sd: n < 2 ? null : finite(Math.sqrt(sampleVariance(xs))),
  };
}

/** Sample SD, or null when n < 2 or an input is not finite. */
export function sampleSd(xs: readonly number[]): number | null {
  return describe(xs).sd;
}

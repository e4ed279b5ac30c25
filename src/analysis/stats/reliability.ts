// Internal consistency (Cronbach's α, domain.md §4.6) and individual reliable change
// (Jacobson & Truax RCI, §4.5).
import { sampleVariance } from "simple-statistics";
import { finite } from "./numeric.js";

export interface Alpha {
  alpha: number | null;
  /** Complete cases used. */
  n: number;
  /** Items (columns). */
  k: number;
}

function isValue(v: number | null | undefined): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/**
 * Cronbach's α = k/(k−1)·(1 − Σ s_i² / s_X²) over complete cases. Rows are cases, columns items;
 * k is the longest row's length and a row counts only when it has a finite value in all k
 * columns (null, NaN or a short row make it incomplete).
 * Null rules: alpha null when k < 2, fewer than 2 complete cases, or the total score has zero
 * variance. α may be negative; it is returned as is.
 */
export function cronbachAlpha(matrix: readonly (readonly (number | null)[])[]): Alpha {
  const k = matrix.reduce((m, row) => Math.max(m, row.length), 0);
  const rows = matrix.filter(
    (row) => row.length === k && row.every(isValue),
  ) as (readonly number[])[];
  const n = rows.length;
  if (k < 2 || n < 2) return { alpha: null, n, k };
  let itemVar = 0;
  for (let j = 0; j < k; j++) itemVar += sampleVariance(rows.map((r) => r[j]!));
  const totalVar = sampleVariance(rows.map((r) => r.reduce((s, v) => s + v, 0)));
  if (!(totalVar > 0)) return { alpha: null, n, k };
  return { alpha: finite((k / (k - 1)) * (1 - itemVar / totalVar)), n, k };
}

export type ChangeClass = "improved" | "unchanged" | "deteriorated";

export interface RciInput {
  /** Per-child change post − pre (null when a score is missing). */
  changes: readonly (number | null)[];
  /** Pre-test SD (ideally from norms). */
  sdPre: number;
  /** Reliability r_xx, e.g. Cronbach's α or test–retest r. */
  reliability: number;
  /** Direction of "better" on this scale; default true. */
  higherIsBetter?: boolean;
}

export interface Rci {
  /** S_diff = sdPre·sqrt(2(1 − r_xx)). */
  sDiff: number | null;
  /** Smallest raw change that is reliable: 1.96·S_diff. */
  minReliableChange: number | null;
  /** RCI per child, in input order. */
  indices: (number | null)[];
  classes: (ChangeClass | null)[];
  improved: number | null;
  unchanged: number | null;
  deteriorated: number | null;
}

/** |RCI| must exceed this (two-sided p < .05) to count as reliable change. */
export const RCI_THRESHOLD = 1.96;

/**
 * A change that lands on the threshold by hand (19.6 points with S_diff = 10) can come out as
 * 1.9600000000000002 in binary; such ties count as "not exceeding", as they would on paper.
 */
const BOUNDARY_TOLERANCE = 1e-9;

/**
 * Reliable Change Index per child and the counts per class (|RCI| > 1.96 is reliable).
 * Null rules: when sdPre is not a positive number or reliability is outside [0, 1), S_diff, the
 * indices, classes and counts are all null; a null or non-finite change gets a null index and
 * class and is not counted.
 */
export function rci(input: RciInput): Rci {
  const { changes, sdPre, reliability } = input;
  const higherIsBetter = input.higherIsBetter ?? true;
  const valid =
    Number.isFinite(sdPre) &&
    sdPre > 0 &&
    Number.isFinite(reliability) &&
    reliability >= 0 &&
    reliability < 1;
  if (!valid) {
    return {
      sDiff: null,
      minReliableChange: null,
      indices: changes.map(() => null),
      classes: changes.map(() => null),
      improved: null,
      unchanged: null,
      deteriorated: null,
    };
  }
  const sDiff = sdPre * Math.sqrt(2 * (1 - reliability));
  const indices = changes.map((c) => (isValue(c) ? c / sDiff : null));
  const classes = indices.map((r): ChangeClass | null => {
    if (r === null) return null;
    if (Math.abs(r) - RCI_THRESHOLD <= BOUNDARY_TOLERANCE) return "unchanged";
    return r > 0 === higherIsBetter ? "improved" : "deteriorated";
  });
  const count = (c: ChangeClass) => classes.filter((x) => x === c).length;
  return {
    sDiff,
    minReliableChange: RCI_THRESHOLD * sDiff,
    indices,
    classes,
    improved: count("improved"),
    unchanged: count("unchanged"),
    deteriorated: count("deteriorated"),
  };
}

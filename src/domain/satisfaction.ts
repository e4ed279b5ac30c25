// How a session rating is totalled and judged, in one place: the progress table, the export, the
// effect report's satisfaction chart and the facilitators' alerts all use these functions, so a
// total can never mean two things. Pure: items and answers in, numbers out.

/** What these rules need to know about an item (flows' Item satisfies it). */
export interface RatingItem {
  id: string;
  type: "choice" | "number" | "text";
  min: number | null;
  max: number | null;
  options: readonly { value: number }[];
}

/** Answers by item id: a number, or null/absent when skipped or not given. */
export type RatingValues = ReadonlyMap<string, number | null | undefined>;

/** The items a rating is totalled over: every numeric item (a free-text comment is not rated). */
export function ratedItems<T extends Pick<RatingItem, "type">>(items: readonly T[]): T[] {
  return items.filter((i) => i.type !== "text");
}

/**
 * The session-satisfaction total (0–40 for the shipped four 0–10 items): the sum of the rated
 * items' answers, or null when any of them is unanswered (a partial sum would read as a low one).
 */
export function satisfactionTotal(
  items: readonly Pick<RatingItem, "id" | "type">[],
  values: RatingValues,
): number | null {
  let sum = 0;
  for (const it of ratedItems(items)) {
    const v = values.get(it.id);
    if (v === undefined || v === null) return null;
    sum += v;
  }
  return sum;
}

function range(i: RatingItem): [number, number] {
  return i.type === "choice"
    ? [Math.min(...i.options.map((o) => o.value)), Math.max(...i.options.map((o) => o.value))]
    : [i.min ?? Number.NaN, i.max ?? Number.NaN];
}

/**
 * The rated items when every one is a 0–10 item (the format the alert thresholds are written
 * for), else null: an instrument on another scale never raises a low-rating alert.
 */
export function ratingItems<T extends RatingItem>(items: readonly T[]): T[] | null {
  const rated = ratedItems(items);
  if (rated.length === 0) return null;
  return rated.every((i) => {
    const [lo, hi] = range(i);
    return lo === 0 && hi === 10;
  })
    ? rated
    : null;
}

export interface Thresholds {
  satisfactionTotalBelow: number;
  satisfactionItemBelow: number;
  divergence: number;
}

export interface RatingCheck {
  total: number | null;
  max: number;
  low: { itemId: string; value: number }[];
  alert: boolean;
}

/** Low when the total (all items answered) is below the threshold, or any answered item is. */
export function checkRating(
  items: readonly Pick<RatingItem, "id" | "type">[],
  values: RatingValues,
  th: Thresholds,
): RatingCheck {
  const rated = ratedItems(items);
  const total = satisfactionTotal(rated, values);
  const low: RatingCheck["low"] = [];
  for (const it of rated) {
    const v = values.get(it.id);
    if (v !== undefined && v !== null && v < th.satisfactionItemBelow)
      low.push({ itemId: it.id, value: v });
  }
  return {
    total,
    max: rated.length * 10,
    low,
    alert: low.length > 0 || (total !== null && total < th.satisfactionTotalBelow),
  };
}

export interface Divergence {
  ownShare: number;
  membersShare: number;
  mean: number;
  diff: number;
  flagged: boolean;
}

/**
 * Divergence between the facilitator's own rating of the session (on its scale, e.g. 1–5) and the
 * members' mean total, both as shares of their range; null when there is nothing to compare.
 */
export function divergence(
  own: { value: number; min: number; max: number },
  memberTotals: readonly number[],
  maxTotal: number,
  threshold: number,
): Divergence | null {
  if (memberTotals.length === 0 || own.max <= own.min || maxTotal <= 0) return null;
  const ownShare = (own.value - own.min) / (own.max - own.min);
  const mean = memberTotals.reduce((a, b) => a + b, 0) / memberTotals.length;
  const membersShare = mean / maxTotal;
  const diff = ownShare - membersShare;
  // Shares are fractions of small integers: compare with a tolerance so "exactly at the threshold" is not flagged by rounding.
  return { ownShare, membersShare, mean, diff, flagged: Math.abs(diff) > threshold + 1e-9 };
}

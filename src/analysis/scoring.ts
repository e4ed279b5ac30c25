// Scores one completed (or partly completed) response set with its instrument's subscales.
//
// Rules (PedsQL-style, domain.md §1): a reverse-keyed answer v becomes min + max − v; with the
// instrument transform "0-100" every value then becomes (v − min)/(max − min)·100; a subscale
// score is the mean of its answered items, and is null when fewer than minAnsweredFraction of its
// items were answered. The total is the same rule over every scored item (every item that belongs
// to a subscale). Pure: no database, no bot.
import type { Instrument, Item } from "../study/model.js";

/** Answers of one response set by item id; null or absent means not answered. */
export type Answers = Readonly<Record<string, number | null | undefined>>;

export interface ResponseSetScores {
  /** Score per subscale id (null when too few items were answered). */
  subscales: Record<string, number | null>;
  /** Mean over all scored items, or null under the same rule. */
  total: number | null;
}

/** minAnsweredFraction·k is compared with this slack so that 0.7·10 (= 7.000000000000001) means 7. */
const FRACTION_SLACK = 1e-9;

/** Items that enter scores: numeric items that belong to a subscale. */
export function scoredItems(instrument: Instrument): Item[] {
  return instrument.items.filter(
    (it) => it.subscale !== null && it.min !== null && it.max !== null,
  );
}

/**
 * The answer as a number the scale allows, else null. Values outside [min, max] or non-finite
 * values cannot come from the bot's own keyboards; they are treated as unanswered rather than
 * allowed to distort a score.
 */
function answerOf(item: Item, answers: Answers): number | null {
  const v = answers[item.id];
  if (typeof v !== "number" || !Number.isFinite(v)) return null;
  if (item.min === null || item.max === null || v < item.min || v > item.max) return null;
  return v;
}

function reverseKeyed(item: Item, v: number): number {
  return item.reverse ? item.min! + item.max! - v : v;
}

function scaled(instrument: Instrument, item: Item, v: number): number {
  if (instrument.transform !== "0-100") return v;
  return ((v - item.min!) / (item.max! - item.min!)) * 100;
}

/**
 * Reverse-keyed RAW values of the scored items (no 0–100 transform), by item id; null when not
 * answered. This is the input for Cronbach's α: α is computed on the items as answered (after
 * reverse-keying so all items point the same way), the convention in PedsQL validation papers.
 */
export function scoredItemValues(
  instrument: Instrument,
  answers: Answers,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const item of scoredItems(instrument)) {
    const v = answerOf(item, answers);
    out[item.id] = v === null ? null : reverseKeyed(item, v);
  }
  return out;
}

function meanIfEnough(values: (number | null)[], fraction: number): number | null {
  const answered = values.filter((v): v is number => v !== null);
  if (answered.length === 0) return null;
  if (answered.length < fraction * values.length - FRACTION_SLACK) return null;
  return answered.reduce((s, v) => s + v, 0) / answered.length;
}

/**
 * Subscale and total scores of one response set.
 * Null rules: a subscale (or the total) is null when none of its items is answered or fewer than
 * minAnsweredFraction × (its number of items) are; an instrument without scored items has
 * total null and no subscales.
 */
export function scoreResponseSet(instrument: Instrument, answers: Answers): ResponseSetScores {
  const itemValue = new Map<string, number | null>();
  for (const item of scoredItems(instrument)) {
    const v = answerOf(item, answers);
    itemValue.set(item.id, v === null ? null : scaled(instrument, item, reverseKeyed(item, v)));
  }
  const fraction = instrument.minAnsweredFraction;
  const subscales: Record<string, number | null> = {};
  for (const sub of instrument.subscales) {
    const values = sub.items.filter((id) => itemValue.has(id)).map((id) => itemValue.get(id)!);
    subscales[sub.id] = meanIfEnough(values, fraction);
  }
  return { subscales, total: meanIfEnough([...itemValue.values()], fraction) };
}

// Pure progress rules of a questionnaire: which item comes next, which answers are valid, and what
// an answer change does to later items. The machine (machine.ts) only wires these into transitions,
// so they are shared by its guards, by step()'s rejection reasons and by restore().
import { evalExpr } from "../flows/expr.js";
import type { Instrument, Item } from "../flows/model.js";

export type AnswerValue = number | string;
/** null = the respondent skipped the item (optional items only). */
export type Answers = Record<string, AnswerValue | null>;

/** Everything a questionnaire remembers; kept small because it is stored after every answer. */
export interface EngineContext {
  answers: Answers;
  /** Index of the current item; items.length once every visible item has been handled. */
  pos: number;
  /** Indexes of the items shown before the current one, oldest first (for BACK). */
  back: number[];
}

export const TEXT_MAX_LENGTH = 2000;

export type AnswerProblem = "stale" | "invalid" | "not-optional";

/** Instrument facts looked up on every step, computed once per compiled machine. */
export interface Plan {
  items: readonly Item[];
  indexById: ReadonlyMap<string, number>;
  optionValues: ReadonlyArray<ReadonlySet<number>>;
  /** Indexes of items that have a showIf, ascending (skip logic is evaluated only for these). */
  conditional: readonly number[];
}

export function makePlan(instrument: Instrument): Plan {
  const items = instrument.items;
  return {
    items,
    indexById: new Map(items.map((it, i) => [it.id, i])),
    optionValues: items.map((it) => new Set(it.options.map((o) => o.value))),
    conditional: items.flatMap((it, i) => (it.showIf ? [i] : [])),
  };
}

export function isVisible(plan: Plan, index: number, answers: Answers): boolean {
  const showIf = plan.items[index]?.showIf;
  return !showIf || evalExpr(showIf, answers);
}

/** First item at or after `from` that is shown given `answers`; items.length if none. */
export function nextVisible(plan: Plan, from: number, answers: Answers): number {
  let i = from;
  while (i < plan.items.length && !isVisible(plan, i, answers)) i++;
  return i;
}

/** Normalizes a valid answer for the item (texts are trimmed), or returns undefined if invalid. */
export function normalizeAnswer(
  plan: Plan,
  index: number,
  value: unknown,
): AnswerValue | undefined {
  const item = plan.items[index];
  if (!item) return undefined;
  switch (item.type) {
    case "choice":
      return typeof value === "number" && plan.optionValues[index]!.has(value) ? value : undefined;
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
      if (item.min !== null && value < item.min) return undefined;
      if (item.max !== null && value > item.max) return undefined;
      return value;
    case "text": {
      if (typeof value !== "string") return undefined;
      const text = value.trim();
      return text.length > 0 && text.length <= TEXT_MAX_LENGTH ? text : undefined;
    }
  }
}

export function answerProblem(
  plan: Plan,
  ctx: EngineContext,
  itemId: unknown,
  value: unknown,
): AnswerProblem | null {
  if (plan.items[ctx.pos]?.id !== itemId) return "stale";
  return normalizeAnswer(plan, ctx.pos, value) === undefined ? "invalid" : null;
}

export function skipProblem(plan: Plan, ctx: EngineContext, itemId: unknown): AnswerProblem | null {
  const item = plan.items[ctx.pos];
  if (!item || item.id !== itemId) return "stale";
  return item.required ? "not-optional" : null;
}

/**
 * Records the current item's answer (or null for a skip) and moves to the next visible item.
 * Answers to later items that the change hides are removed: they were given under other conditions.
 */
export function record(plan: Plan, ctx: EngineContext, value: AnswerValue | null): EngineContext {
  const id = plan.items[ctx.pos]!.id;
  const answers: Answers = { ...ctx.answers, [id]: value };
  for (const i of plan.conditional) {
    if (i <= ctx.pos) continue;
    const laterId = plan.items[i]!.id;
    // In item order, so a dropped answer also hides the items that depended on it.
    if (laterId in answers && !isVisible(plan, i, answers)) delete answers[laterId];
  }
  return { answers, pos: nextVisible(plan, ctx.pos + 1, answers), back: [...ctx.back, ctx.pos] };
}

/** Returns to the previously shown item; its answer stays in `answers` so it can be shown again. */
export function goBack(plan: Plan, ctx: EngineContext): EngineContext {
  const back = ctx.back.slice();
  // Earlier items never depend on later answers (the loader enforces it); the check only guards
  // hand-built instruments.
  let pos = back.pop();
  while (pos !== undefined && !isVisible(plan, pos, ctx.answers)) pos = back.pop();
  return pos === undefined ? ctx : { answers: ctx.answers, pos, back };
}

export function canGoBack(plan: Plan, ctx: EngineContext): boolean {
  return goBack(plan, ctx) !== ctx;
}

export function initialContext(plan: Plan): EngineContext {
  return { answers: {}, pos: nextVisible(plan, 0, {}), back: [] };
}

/**
 * Rebuilds progress from stored answers: keeps valid answers of existing, visible items (in item
 * order, so skip logic sees the same answers it saw when they were given) and positions at the
 * first visible item without an answer.
 */
export function contextFromAnswers(
  plan: Plan,
  stored: Readonly<Record<string, unknown>>,
): EngineContext {
  const answers: Answers = {};
  const back: number[] = [];
  let pos = plan.items.length;
  plan.items.forEach((item, i) => {
    if (!isVisible(plan, i, answers)) return;
    const raw = Object.hasOwn(stored, item.id) ? stored[item.id] : undefined;
    const value = raw === null ? (item.required ? undefined : null) : normalizeAnswer(plan, i, raw);
    if (value === undefined) {
      if (pos === plan.items.length) pos = i;
      return;
    }
    answers[item.id] = value;
    if (pos === plan.items.length) back.push(i);
  });
  return { answers, pos, back };
}

/** Checks that a context could have been produced by this plan (used on restored snapshots). */
export function isConsistent(plan: Plan, ctx: unknown): ctx is EngineContext {
  if (!ctx || typeof ctx !== "object") return false;
  const { answers, pos, back } = ctx as Partial<EngineContext>;
  const n = plan.items.length;
  if (!answers || typeof answers !== "object" || Array.isArray(answers)) return false;
  if (typeof pos !== "number" || !Number.isInteger(pos) || pos < 0 || pos > n) return false;
  if (pos < n && !isVisible(plan, pos, answers)) return false;
  if (!Array.isArray(back)) return false;
  let prev = -1;
  for (const b of back) {
    if (typeof b !== "number" || !Number.isInteger(b) || b <= prev || b >= pos) return false;
    prev = b;
  }
  const seen: Answers = {};
  for (const [id, value] of Object.entries(answers)) {
    const i = plan.indexById.get(id);
    if (i === undefined) return false;
    const item = plan.items[i]!;
    if (value === null ? item.required : normalizeAnswer(plan, i, value) !== value) return false;
    seen[id] = value;
  }
  // Every kept answer must belong to an item that its earlier answers still show.
  return plan.items.every((item, i) => !(item.id in seen) || isVisible(plan, i, seen));
}

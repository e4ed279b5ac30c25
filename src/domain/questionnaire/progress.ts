// Pure progress rules of a questionnaire: which items are shown, which answers are valid, and what
// an answer change does to later items. The machine (machine.ts) turns them into guards and
// actions of its per-item states; step()'s rejection reasons and restore() use the same rules.
import { evalExpr } from "../../study/expr.js";
import type { Instrument, Item } from "../../study/model.js";

export type AnswerValue = number | string;
/** null = the respondent skipped the item (optional items only). */
export type Answers = Record<string, AnswerValue | null>;

/**
 * Everything a questionnaire remembers besides the state it is in (which names the current item);
 * kept small because it is stored after every answer.
 */
export interface EngineContext {
  answers: Answers;
  /** Indexes of the items shown before the current one, oldest first (for BACK). */
  back: number[];
  /** While paused: index of the item that RESUME returns to; null in every other state. */
  resumeAt: number | null;
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

/** Why an ANSWER for `itemId` cannot be taken while item `index` is shown (null: it can). */
export function answerProblem(
  plan: Plan,
  index: number,
  itemId: unknown,
  value: unknown,
): AnswerProblem | null {
  if (plan.items[index]?.id !== itemId) return "stale";
  return normalizeAnswer(plan, index, value) === undefined ? "invalid" : null;
}

export function skipProblem(plan: Plan, index: number, itemId: unknown): AnswerProblem | null {
  const item = plan.items[index];
  if (!item || item.id !== itemId) return "stale";
  return item.required ? "not-optional" : null;
}

/**
 * Records item `index`'s answer (or null for a skip). Answers to later items that the change hides
 * are removed: they were given under other conditions. Where to go next is the machine's routing.
 */
export function record(
  plan: Plan,
  ctx: EngineContext,
  index: number,
  value: AnswerValue | null,
): EngineContext {
  const answers: Answers = { ...ctx.answers, [plan.items[index]!.id]: value };
  for (const i of plan.conditional) {
    if (i <= index) continue;
    const laterId = plan.items[i]!.id;
    // In item order, so a dropped answer also hides the items that depended on it.
    if (laterId in answers && !isVisible(plan, i, answers)) delete answers[laterId];
  }
  return { answers, back: [...ctx.back, index], resumeAt: null };
}

/** The item BACK returns to: the last previously shown item that is still shown. */
export function backTarget(plan: Plan, ctx: EngineContext): number | undefined {
  // Earlier items never depend on later answers (the loader enforces it), so this is normally the
  // last entry; the visibility check only guards hand-built instruments.
  for (let k = ctx.back.length - 1; k >= 0; k--) {
    if (isVisible(plan, ctx.back[k]!, ctx.answers)) return ctx.back[k];
  }
  return undefined;
}

/** Context after BACK; the returned-to item's answer stays in `answers` so it can be shown again. */
export function goBack(plan: Plan, ctx: EngineContext): EngineContext {
  const target = backTarget(plan, ctx);
  if (target === undefined) return ctx;
  return {
    answers: ctx.answers,
    back: ctx.back.slice(0, ctx.back.lastIndexOf(target)),
    resumeAt: null,
  };
}

export function initialContext(): EngineContext {
  return { answers: {}, back: [], resumeAt: null };
}

/**
 * Rebuilds progress from stored answers: keeps valid answers of existing, visible items (in item
 * order, so skip logic sees the same answers it saw when they were given). `pos` is the first
 * visible item without an answer (items.length if there is none).
 */
export function contextFromAnswers(
  plan: Plan,
  stored: Readonly<Record<string, unknown>>,
): { context: EngineContext; pos: number } {
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
  return { context: { answers, back, resumeAt: null }, pos };
}

/**
 * Checks that a restored context could have been produced by this plan at position `pos` (the
 * current or paused item's index, items.length when done). resumeAt is the caller's to check.
 */
export function isConsistent(plan: Plan, ctx: unknown, pos: number): ctx is EngineContext {
  if (!ctx || typeof ctx !== "object") return false;
  const { answers, back, resumeAt } = ctx as Partial<EngineContext>;
  const n = plan.items.length;
  if (!answers || typeof answers !== "object" || Array.isArray(answers)) return false;
  if (!Number.isInteger(pos) || pos < 0 || pos > n) return false;
  if (pos < n && !isVisible(plan, pos, answers)) return false;
  if (resumeAt !== null && (typeof resumeAt !== "number" || !Number.isInteger(resumeAt)))
    return false;
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

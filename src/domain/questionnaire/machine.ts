// The XState machine an instrument compiles into: one state per item, plus handoff, paused and a
// final done state. Skip logic is routing: answering an item leads straight to the next item when
// that one is always shown, else to a transient route state whose guarded `always` transitions
// pick the first shown item. No timers, invocations or side-effecting actions, so every
// transition is a pure function of snapshot and event.
import { assign, setup } from "xstate";
import {
  answerProblem,
  backTarget,
  goBack,
  initialContext,
  isVisible,
  normalizeAnswer,
  record,
  skipProblem,
  type AnswerValue,
  type EngineContext,
  type Plan,
} from "./progress.js";

export type EngineEvent =
  | { type: "ANSWER"; itemId: string; value: AnswerValue }
  | { type: "SKIP"; itemId: string }
  | { type: "BACK" }
  | { type: "PAUSE" }
  | { type: "RESUME" }
  /** The child has taken the phone (handoff step of child-report instruments). */
  | { type: "READY" };

/** A state a questionnaire can rest in (route states are transient and never stored). */
export type StateName = "handoff" | "paused" | "done" | `item_${string}`;

/** What a state means to a respondent: every item_<id> state is "asking". */
export type Phase = "handoff" | "asking" | "paused" | "done";

export function itemState(itemId: string): `item_${string}` {
  return `item_${itemId}`;
}

function routeState(itemId: string): string {
  return `route_${itemId}`;
}

// Item ids become state keys; "." and "#" would be read as XState paths and ids.
const STATE_KEY_PART = /^[A-Za-z0-9_-]+$/;

type At = { index: number };

export function buildMachine(plan: Plan, id: string, handoff: boolean) {
  const { items } = plan;
  const n = items.length;
  for (const [i, item] of items.entries()) {
    if (!STATE_KEY_PART.test(item.id)) throw new Error(`item id "${item.id}" cannot name a state`);
    if (plan.indexById.get(item.id) !== i) throw new Error(`duplicate item id "${item.id}"`);
  }
  const names = items.map((it) => itemState(it.id));
  const at = (index: number) => ({ index });
  /** Where the search for the first shown item at or after `j` starts. */
  const entry = (j: number): string =>
    j >= n ? "done" : items[j]!.showIf ? routeState(items[j]!.id) : names[j]!;

  const engine = setup({
    types: {} as { context: EngineContext; events: EngineEvent },
    guards: {
      validAnswer: ({ event }, { index }: At) =>
        event.type === "ANSWER" && answerProblem(plan, index, event.itemId, event.value) === null,
      skippable: ({ event }, { index }: At) =>
        event.type === "SKIP" && skipProblem(plan, index, event.itemId) === null,
      shown: ({ context }, { index }: At) => isVisible(plan, index, context.answers),
      backTo: ({ context }, { index }: At) => backTarget(plan, context) === index,
      resumesAt: ({ context }, { index }: At) => context.resumeAt === index,
    },
    actions: {
      recordAnswer: assign(({ context, event }, { index }: At) =>
        event.type === "ANSWER"
          ? record(plan, context, index, normalizeAnswer(plan, index, event.value)!)
          : context,
      ),
      recordSkip: assign(({ context }, { index }: At) => record(plan, context, index, null)),
      goBack: assign(({ context }) => goBack(plan, context)),
      pauseAt: assign((_, { index }: At) => ({ resumeAt: index })),
      resume: assign({ resumeAt: null }),
    },
  });

  type StateConfig = NonNullable<Parameters<typeof engine.createMachine>[0]["states"]>[string];
  const states: Record<string, StateConfig> = {};
  if (handoff) states.handoff = { on: { READY: entry(0) } };

  items.forEach((item, i) => {
    if (item.showIf) {
      // The run of conditional items starting here, then the first item that is always shown.
      const candidates: Array<{ guard?: { type: "shown"; params: At }; target: string }> = [];
      let j = i;
      for (; j < n && items[j]!.showIf; j++) {
        candidates.push({ guard: { type: "shown", params: at(j) }, target: names[j]! });
      }
      candidates.push({ target: entry(j) });
      states[routeState(item.id)] = { always: candidates };
    }
    // Earlier items, nearest first: BACK nearly always returns to the one just before.
    const back = names
      .slice(0, i)
      .map((target, j) => ({
        guard: { type: "backTo" as const, params: at(j) },
        target,
        actions: "goBack" as const,
      }))
      .reverse();
    states[names[i]!] = {
      on: {
        ANSWER: {
          guard: { type: "validAnswer", params: at(i) },
          target: entry(i + 1),
          actions: { type: "recordAnswer", params: at(i) },
        },
        // Required items have no SKIP transition at all.
        ...(item.required
          ? {}
          : {
              SKIP: {
                guard: { type: "skippable" as const, params: at(i) },
                target: entry(i + 1),
                actions: { type: "recordSkip" as const, params: at(i) },
              },
            }),
        BACK: back,
        PAUSE: { target: "paused", actions: { type: "pauseAt", params: at(i) } },
      },
    };
  });

  states.paused = {
    on: {
      RESUME: names.map((target, k) => ({
        guard: { type: "resumesAt" as const, params: at(k) },
        target,
        actions: "resume" as const,
      })),
    },
  };
  states.done = { type: "final" };

  return engine.createMachine({
    id,
    // entry(0) may be a route state: an instrument whose items are all hidden is done at once.
    initial: handoff ? "handoff" : entry(0),
    context: initialContext,
    states,
  });
}

export type QuestionnaireMachine = ReturnType<typeof buildMachine>;

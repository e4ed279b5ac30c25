// The XState machine an instrument compiles into. Item-by-item progress lives in context
// (progress.ts); the states are the phases a respondent can be in. No timers, invocations or
// side-effecting actions, so every transition is a pure function of snapshot and event.
import { assign, setup } from "xstate";
import {
  answerProblem,
  canGoBack,
  goBack,
  initialContext,
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

export type Phase = "handoff" | "asking" | "paused" | "done";
export const PHASES: readonly Phase[] = ["handoff", "asking", "paused", "done"];

export function buildMachine(plan: Plan, id: string, handoff: boolean) {
  return setup({
    types: {} as { context: EngineContext; events: EngineEvent },
    guards: {
      validAnswer: ({ context, event }) =>
        event.type === "ANSWER" && answerProblem(plan, context, event.itemId, event.value) === null,
      skippable: ({ context, event }) =>
        event.type === "SKIP" && skipProblem(plan, context, event.itemId) === null,
      hasPrevious: ({ context }) => canGoBack(plan, context),
      allHandled: ({ context }) => context.pos >= plan.items.length,
    },
    actions: {
      recordAnswer: assign(({ context, event }) =>
        event.type === "ANSWER"
          ? record(plan, context, normalizeAnswer(plan, context.pos, event.value)!)
          : context,
      ),
      recordSkip: assign(({ context }) => record(plan, context, null)),
      goBack: assign(({ context }) => goBack(plan, context)),
    },
  }).createMachine({
    id,
    initial: handoff ? "handoff" : "asking",
    context: () => initialContext(plan),
    states: {
      handoff: { on: { READY: "asking" } },
      asking: {
        // Also taken on entry, so an instrument whose items are all hidden finishes at once.
        always: { guard: "allHandled", target: "done" },
        on: {
          ANSWER: { guard: "validAnswer", actions: "recordAnswer" },
          SKIP: { guard: "skippable", actions: "recordSkip" },
          BACK: { guard: "hasPrevious", actions: "goBack" },
          PAUSE: "paused",
        },
      },
      paused: { on: { RESUME: "asking" } },
      done: { type: "final" },
    },
  });
}

export type QuestionnaireMachine = ReturnType<typeof buildMachine>;

// A compiled instrument: pure functions from a stored snapshot and an event to the next snapshot,
// plus what the bot needs to store and show. Callers persist the returned state (plain JSON) with
// the answer in one transaction, together with machineVersion.
import { createActor, type ActorScope } from "xstate";
import type { Instrument, Item } from "../../study/model.js";
import {
  buildMachine,
  itemState,
  type EngineEvent,
  type Phase,
  type QuestionnaireMachine,
  type StateName,
} from "./machine.js";
import {
  answerProblem,
  backTarget,
  contextFromAnswers,
  isConsistent,
  makePlan,
  normalizeAnswer,
  skipProblem,
  type AnswerValue,
  type Answers,
  type EngineContext,
  type Plan,
} from "./progress.js";

/** XState's persisted snapshot of a questionnaire machine; JSON-safe as it is. */
export interface PersistedState {
  status: "active" | "done";
  /** "handoff", "item_<item id>" (one state per item), "paused" or "done". */
  value: StateName;
  context: EngineContext;
  historyValue: Record<string, never>;
  children: Record<string, never>;
}

export type RejectReason = "stale" | "invalid" | "not-optional" | "paused" | "finished" | "no-back";

/** What an accepted step changed; "answered"/"skipped" are what the caller writes to the database. */
export type StepEffect =
  | { type: "answered"; itemId: string; value: AnswerValue; dropped: string[] }
  | { type: "skipped"; itemId: string; dropped: string[] }
  | { type: "back"; itemId: string }
  | { type: "paused"; itemId: string }
  | { type: "resumed"; itemId: string }
  | { type: "ready" };

export interface StepResult {
  state: PersistedState;
  accepted: boolean;
  reason?: RejectReason;
  effect?: StepEffect;
  /** True when this step finished the questionnaire (the response can be marked complete). */
  completed: boolean;
}

export type View =
  | { kind: "handoff" }
  | {
      kind: "item";
      item: Item;
      /** 0-based position in the instrument. */
      index: number;
      /** 1-based position in the instrument, for "question 3 of 12". */
      number: number;
      total: number;
      /** Whether BACK would be accepted (for showing a back button). */
      canGoBack: boolean;
      /** The saved answer when the item is shown again (after BACK); null = it was skipped. */
      answer?: AnswerValue | null;
    }
  | { kind: "paused"; itemId: string; number: number; total: number }
  | { kind: "done" };

export type { EngineEvent };

type Snapshot = ReturnType<QuestionnaireMachine["resolveState"]>;

export class Questionnaire {
  readonly machine: QuestionnaireMachine;
  private readonly plan: Plan;
  /** Item index of each item_<id> state. */
  private readonly itemIndex: ReadonlyMap<string, number>;
  /** One inert scope per machine: creating one per call (as xstate's transition() does) dominates step cost. */
  private readonly scope: ActorScope<Snapshot, EngineEvent>;
  private readonly initial: PersistedState;

  constructor(
    readonly instrument: Instrument,
    readonly machineId: string,
    readonly machineVersion: string,
    readonly handoff: boolean,
  ) {
    this.plan = makePlan(instrument);
    this.machine = buildMachine(this.plan, machineId, handoff);
    this.itemIndex = new Map(instrument.items.map((it, i) => [itemState(it.id), i]));
    this.scope = inertScope(this.machine);
    this.initial = this.persist(this.machine.getInitialSnapshot(this.scope));
  }

  start(): PersistedState {
    // A copy: the cached initial state is shared by every respondent of this instrument.
    return structuredClone(this.initial);
  }

  step(state: PersistedState, event: EngineEvent): StepResult {
    const reason = this.rejection(state, event);
    if (reason) return { state, accepted: false, reason, completed: false };
    const before = this.machine.resolveState({ value: state.value, context: state.context });
    const after = this.machine.transition(before, event, this.scope);
    // The guards repeat the checks above; an unchanged snapshot means they disagreed.
    if (after === before) return { state, accepted: false, reason: "stale", completed: false };
    const next = this.persist(after);
    return {
      state: next,
      accepted: true,
      effect: this.effectOf(state, next, event),
      completed: next.value === "done",
    };
  }

  view(state: PersistedState): View {
    const total = this.plan.items.length;
    const phase = this.phaseOf(state.value);
    switch (phase) {
      case "handoff":
      case "done":
        return { kind: phase };
      case "paused": {
        const pos = state.context.resumeAt!;
        return { kind: "paused", itemId: this.plan.items[pos]!.id, number: pos + 1, total };
      }
      case "asking": {
        const pos = this.itemIndex.get(state.value)!;
        const item = this.plan.items[pos]!;
        const view: View = {
          kind: "item",
          item,
          index: pos,
          number: pos + 1,
          total,
          canGoBack: backTarget(this.plan, state.context) !== undefined,
        };
        if (Object.hasOwn(state.context.answers, item.id))
          view.answer = state.context.answers[item.id];
        return view;
      }
    }
  }

  answers(state: PersistedState): Answers {
    return { ...state.context.answers };
  }

  /**
   * Loads a stored snapshot. A snapshot of this machine version that agrees with the stored answers
   * is used as is; anything else (older version or engine shape, corrupt JSON, answers that
   * disagree) is rebuilt from the answers, positioned at the first unanswered visible item.
   * Never throws.
   */
  restore(
    json: string | null | undefined,
    storedMachineVersion: string | null | undefined,
    answersFromDb: Readonly<Record<string, unknown>>,
  ): PersistedState {
    if (storedMachineVersion === this.machineVersion && typeof json === "string") {
      const stored = this.validStored(json);
      if (stored && sameAnswers(stored.context.answers, answersFromDb)) return stored;
    }
    return this.positionFromAnswers(answersFromDb);
  }

  /** A state holding the given answers (invalid, hidden or unknown ones left out), at the first unanswered item. */
  positionFromAnswers(answersFromDb: Readonly<Record<string, unknown>>): PersistedState {
    const { context, pos } = contextFromAnswers(this.plan, answersFromDb);
    // Nothing answered yet: start over, including the handoff to the child.
    if (Object.keys(context.answers).length === 0) return this.start();
    const value = pos < this.plan.items.length ? itemState(this.plan.items[pos]!.id) : "done";
    return this.persist(this.machine.resolveState({ value, context }));
  }

  private phaseOf(value: string): Phase {
    if (value === "handoff" || value === "paused" || value === "done") return value;
    return "asking";
  }

  private persist(snapshot: Snapshot): PersistedState {
    // Only the fields that survive JSON, so a state equals its own JSON round trip. A flat
    // machine's value is a state name; the context holds no actors (nothing to serialize).
    return {
      status: snapshot.status === "done" ? "done" : "active",
      // The machine is flat, so its value is always a state name.
      value: snapshot.value as unknown as StateName,
      context: snapshot.context,
      historyValue: {},
      children: {},
    };
  }

  private rejection(state: PersistedState, event: EngineEvent): RejectReason | null {
    switch (state.value) {
      case "done":
        return "finished";
      case "paused":
        return event.type === "RESUME" ? null : "paused";
      case "handoff":
        return event.type === "READY" ? null : event.type === "BACK" ? "no-back" : "stale";
    }
    const pos = this.itemIndex.get(state.value);
    if (pos === undefined) return "invalid";
    switch (event.type) {
      case "ANSWER":
        return answerProblem(this.plan, pos, event.itemId, event.value);
      case "SKIP":
        return skipProblem(this.plan, pos, event.itemId);
      case "BACK":
        return backTarget(this.plan, state.context) === undefined ? "no-back" : null;
      case "PAUSE":
        return null;
      case "RESUME":
      case "READY":
        return "stale";
      default:
        return "invalid";
    }
  }

  private effectOf(before: PersistedState, after: PersistedState, event: EngineEvent): StepEffect {
    const dropped = () =>
      Object.keys(before.context.answers).filter((id) => !Object.hasOwn(after.context.answers, id));
    switch (event.type) {
      case "ANSWER":
        return {
          type: "answered",
          itemId: event.itemId,
          value: normalizeAnswer(this.plan, this.itemIndex.get(before.value)!, event.value)!,
          dropped: dropped(),
        };
      case "SKIP":
        return { type: "skipped", itemId: event.itemId, dropped: dropped() };
      case "BACK":
        return { type: "back", itemId: this.itemIdOf(after.value) };
      case "PAUSE":
        return { type: "paused", itemId: this.itemIdOf(before.value) };
      case "RESUME":
        return { type: "resumed", itemId: this.itemIdOf(after.value) };
      case "READY":
        return { type: "ready" };
    }
  }

  private itemIdOf(value: StateName): string {
    return this.plan.items[this.itemIndex.get(value)!]!.id;
  }

  private validStored(json: string): PersistedState | null {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return null;
    }
    if (!parsed || typeof parsed !== "object") return null;
    const { value, status, context } = parsed as Record<string, unknown>;
    if (typeof value !== "string" || !context || typeof context !== "object") return null;
    const n = this.plan.items.length;
    const { resumeAt } = context as Partial<EngineContext>;
    let pos: number | undefined;
    let ok = status === "active";
    switch (value) {
      case "done":
        pos = n;
        ok = status === "done";
        break;
      case "paused":
        pos = typeof resumeAt === "number" && resumeAt < n ? resumeAt : undefined;
        break;
      case "handoff":
        // Nothing can have happened before the child took the phone; there is no current item
        // whose visibility could be checked.
        pos = n;
        ok &&=
          this.handoff &&
          Array.isArray((context as EngineContext).back) &&
          (context as EngineContext).back.length === 0 &&
          Object.keys((context as EngineContext).answers ?? {}).length === 0;
        break;
      default:
        pos = this.itemIndex.get(value);
    }
    if (!ok || pos === undefined) return null;
    if ((value === "paused") !== (resumeAt !== null)) return null;
    if (!isConsistent(this.plan, context, pos)) return null;
    return {
      status: status as PersistedState["status"],
      value: value as StateName,
      context: { answers: context.answers, back: context.back, resumeAt: context.resumeAt },
      historyValue: {},
      children: {},
    };
  }
}

function inertScope(machine: QuestionnaireMachine): ActorScope<Snapshot, EngineEvent> {
  // Never started: the machine has no actions, timers or children that would use it.
  const self = createActor(machine);
  const noop = () => {};
  return {
    self,
    id: "",
    sessionId: "",
    system: self.system,
    logger: noop,
    defer: noop,
    emit: noop,
    stopChild: noop,
    actionExecutor: noop,
  };
}

function sameAnswers(a: Answers, b: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

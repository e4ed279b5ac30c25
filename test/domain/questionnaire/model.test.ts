// Model-based tests: xstate/graph enumerates the compiled machine's reachable states, and every
// path is replayed through the public API (step on JSON-reloaded state) as the system under test.
import { describe, expect, it } from "vitest";
import { getAdjacencyMap, getShortestPaths, createTestModel } from "xstate/graph";
import { createActor } from "xstate";
import { evalExpr } from "../../../src/study/expr.js";
import type { Item } from "../../../src/study/model.js";
import {
  compileQuestionnaire,
  type EngineEvent,
  type PersistedState,
  type Questionnaire,
} from "../../../src/domain/questionnaire/index.js";
import { choice, makeInstrument, num, text } from "./fixtures.js";

const two = [0, 1].map((value) => ({ value, label: { en: `option ${value}` } }));

function smallQuestionnaire(): Questionnaire {
  return compileQuestionnaire(
    makeInstrument([
      choice("a", { options: two, max: 1 }),
      choice("b", { options: two, max: 1, showIf: "a == 1", required: false }),
      num("c", 1, 3, { required: false }),
      text("d", { showIf: "answered(b)" }),
    ]),
    { handoff: true },
  );
}

type Snap = { value: unknown; context: PersistedState["context"]; matches(v: string): boolean };

/** The item a snapshot is at (or, when paused, returns to); undefined in handoff and done. */
function itemOf(q: Questionnaire, snap: Snap): Item | undefined {
  const items = q.instrument.items;
  if (snap.value === "paused") return items[snap.context.resumeAt!];
  return items.find((it) => snap.value === `item_${it.id}`);
}

/** The events a respondent (or a stale button) can send in a state; values kept finite for the graph. */
function eventsFor(q: Questionnaire, snap: Snap): EngineEvent[] {
  const items = q.instrument.items;
  const item = itemOf(q, snap);
  const stale: EngineEvent = {
    type: "ANSWER",
    itemId: items[(items.indexOf(item ?? items[0]!) + 1) % items.length]!.id,
    value: 0,
  };
  if (snap.matches("handoff")) return [{ type: "READY" }, { type: "BACK" }, stale];
  if (snap.matches("paused")) return [{ type: "RESUME" }, { type: "PAUSE" }, stale];
  if (!item) return [];
  const values: Array<number | string> =
    item.type === "choice"
      ? item.options.map((o) => o.value)
      : item.type === "number"
        ? [item.min!, item.max!]
        : ["ok"];
  const invalid = item.type === "text" ? " " : 99;
  return [
    ...values.map((value): EngineEvent => ({ type: "ANSWER", itemId: item.id, value })),
    { type: "ANSWER", itemId: item.id, value: invalid },
    { type: "SKIP", itemId: item.id },
    { type: "BACK" },
    { type: "PAUSE" },
    { type: "RESUME" },
    stale,
  ];
}

/** Reference: the last value sent for each item, kept only if the final answers still show the item. */
function expectedAnswers(q: Questionnaire, sent: Map<string, number | string | null>) {
  const out: Record<string, number | string | null> = {};
  for (const item of q.instrument.items) {
    if (!sent.has(item.id)) continue;
    if (item.showIf && !evalExpr(item.showIf, out)) continue;
    out[item.id] = sent.get(item.id)!;
  }
  return out;
}

/** Drives the public API like the bot: reload the stored JSON, step, store JSON. */
class Respondent {
  stored: string;
  sent = new Map<string, number | string | null>();
  constructor(private q: Questionnaire) {
    this.stored = JSON.stringify(q.start());
  }
  get state(): PersistedState {
    return JSON.parse(this.stored) as PersistedState;
  }
  send(event: EngineEvent) {
    const r = this.q.step(this.state, event);
    if (r.accepted) {
      if (event.type === "ANSWER") this.sent.set(event.itemId, event.value);
      if (event.type === "SKIP") this.sent.set(event.itemId, null);
    }
    this.stored = JSON.stringify(r.state);
    return r;
  }
  /** Answers whatever is asked with its first allowed value until done. */
  finish(limit: number) {
    for (let i = 0; i < limit; i++) {
      const view = this.q.view(this.state);
      if (view.kind === "done") return;
      if (view.kind === "handoff") this.send({ type: "READY" });
      else if (view.kind === "paused") this.send({ type: "RESUME" });
      else {
        const it = view.item;
        const value =
          it.type === "choice" ? it.options[0]!.value : it.type === "number" ? it.min! : "fine";
        expect(this.send({ type: "ANSWER", itemId: it.id, value }).accepted).toBe(true);
      }
    }
  }
}

describe("model-based: every reachable state of a small compiled machine", () => {
  const q = smallQuestionnaire();
  const events = (s: Snap) => eventsFor(q, s);

  it("rejected events leave the state as it is in every reachable state", () => {
    const adjacency = getAdjacencyMap(q.machine, { events });
    const states = Object.values(adjacency);
    expect(states.length).toBeGreaterThan(30);
    let checked = 0;
    for (const { state, transitions } of states) {
      const persisted = q.machine.getPersistedSnapshot(state) as unknown as PersistedState;
      for (const { event, state: next } of Object.values(transitions) as Array<{
        event: EngineEvent;
        state: typeof state;
      }>) {
        const r = q.step(JSON.parse(JSON.stringify(persisted)) as PersistedState, event);
        const unchanged =
          next.value === state.value &&
          JSON.stringify(next.context) === JSON.stringify(state.context);
        // The machine and step() agree on which events do something.
        expect(r.accepted, `${JSON.stringify(event)} in ${JSON.stringify(persisted)}`).toBe(
          !unchanged,
        );
        if (!r.accepted) {
          expect(r.state).toEqual(persisted);
          checked++;
        } else {
          expect(r.state.value).toEqual(next.value);
          expect(r.state.context).toEqual(next.context);
        }
      }
    }
    expect(checked).toBeGreaterThan(states.length);
  });

  it("from every reachable state the questionnaire can be finished, keeping what was sent", () => {
    const paths = getShortestPaths(q.machine, { events });
    expect(paths.length).toBeGreaterThan(30);
    const limit = 2 * q.instrument.items.length + 2;
    for (const path of paths) {
      const who = new Respondent(q);
      for (const step of path.steps.slice(1)) {
        expect(
          who.send(step.event).accepted,
          path.steps.map((s) => JSON.stringify(s.event)).join(" → "),
        ).toBe(true);
      }
      expect(who.state.context).toEqual(path.state.context);
      who.finish(limit);
      expect(q.view(who.state)).toEqual({ kind: "done" });
      expect(q.answers(who.state)).toEqual(expectedAnswers(q, who.sent));
    }
  });

  it("every path to a done state stores exactly the answers sent along it", async () => {
    const model = createTestModel(q.machine, { events });
    const paths = model.getShortestPaths({ toState: (s) => s.matches("done") });
    // Distinct done states = distinct final answer sets; each needs its own path.
    expect(paths.length).toBeGreaterThan(5);
    for (const path of paths) {
      const who = new Respondent(q);
      // The executors are typed with the event type only; the step carries the whole event.
      const send = ({ event }: { event: { type: string } }) => {
        expect(who.send(event as EngineEvent).accepted).toBe(true);
      };
      await path.test({
        events: { ANSWER: send, SKIP: send, BACK: send, PAUSE: send, RESUME: send, READY: send },
        states: {
          handoff: () => expect(q.view(who.state).kind).toBe("handoff"),
          paused: (snap) =>
            expect(q.view(who.state)).toMatchObject({
              kind: "paused",
              itemId: itemOf(q, snap)!.id,
            }),
          // One state per item: each is checked against the view the bot would show.
          ...Object.fromEntries(
            q.instrument.items.map((item, index) => [
              `item_${item.id}`,
              () => expect(q.view(who.state)).toMatchObject({ kind: "item", item, index }),
            ]),
          ),
          done: (snap) => {
            expect(q.view(who.state)).toEqual({ kind: "done" });
            expect(q.answers(who.state)).toEqual(snap.context.answers);
            expect(q.answers(who.state)).toEqual(expectedAnswers(q, who.sent));
          },
        },
      });
      expect(q.view(who.state)).toEqual({ kind: "done" });
    }
  });
});

describe("compiled shape: one state per item", () => {
  const q = smallQuestionnaire();
  const nodes = q.machine.root.states;
  const targets = (key: string, event: EngineEvent["type"]) =>
    (nodes[key]!.on[event] ?? []).flatMap((t) => (t.target ?? []).map((n) => n.key));

  it("has a state per item with its own guarded transitions, and no timers or side effects", () => {
    // Route states stand before conditional items (b, d); they are transient, never rested in.
    expect(Object.keys(nodes)).toEqual([
      "handoff",
      "item_a",
      "route_b",
      "item_b",
      "item_c",
      "route_d",
      "item_d",
      "paused",
      "done",
    ]);
    // a is required (no SKIP) and first (nothing to go BACK to).
    expect(nodes.item_a!.ownEvents.sort()).toEqual(["ANSWER", "PAUSE"]);
    for (const key of ["item_b", "item_c", "item_d"]) {
      expect(nodes[key]!.ownEvents.sort()).toEqual(["ANSWER", "BACK", "PAUSE", "SKIP"]);
      expect(nodes[key]!.on.ANSWER!.every((t) => t.guard !== undefined)).toBe(true);
    }
    expect(targets("handoff", "READY")).toEqual(["item_a"]);
    expect(targets("item_a", "ANSWER")).toEqual(["route_b"]);
    expect(targets("item_b", "SKIP")).toEqual(["item_c"]);
    expect(targets("item_c", "ANSWER")).toEqual(["route_d"]);
    expect(targets("item_d", "ANSWER")).toEqual(["done"]);
    expect(targets("item_d", "BACK")).toEqual(["item_c", "item_b", "item_a"]);
    expect(targets("paused", "RESUME")).toEqual(["item_a", "item_b", "item_c", "item_d"]);
    const always = (key: string) =>
      nodes[key]!.always!.map((t) => [t.guard !== undefined, t.target!.map((n) => n.key)]);
    expect(always("route_b")).toEqual([
      [true, ["item_b"]],
      [false, ["item_c"]],
    ]);
    expect(always("route_d")).toEqual([
      [true, ["item_d"]],
      [false, ["done"]],
    ]);
    expect(nodes.done!.type).toBe("final");
    for (const node of Object.values(nodes)) {
      expect(node.after).toEqual([]);
      expect(node.invoke).toEqual([]);
      expect(node.entry).toEqual([]);
      expect(node.exit).toEqual([]);
    }
  });

  it("its reachable transitions between states are exactly what the skip logic allows", () => {
    const adjacency = getAdjacencyMap(q.machine, { events: (s: Snap) => eventsFor(q, s) });
    const edges = new Set<string>();
    const resting = new Set<unknown>();
    for (const { state, transitions } of Object.values(adjacency)) {
      resting.add(state.value);
      for (const { event, state: next } of Object.values(transitions) as Array<{
        event: EngineEvent;
        state: typeof state;
      }>) {
        const unchanged =
          next.value === state.value &&
          JSON.stringify(next.context) === JSON.stringify(state.context);
        if (!unchanged) edges.add(`${String(state.value)} ${event.type} ${String(next.value)}`);
      }
    }
    expect([...resting].sort()).toEqual(
      ["done", "handoff", "item_a", "item_b", "item_c", "item_d", "paused"].sort(),
    );
    expect([...edges].sort()).toEqual(
      [
        "handoff READY item_a",
        // b is shown only after a == 1.
        "item_a ANSWER item_b",
        "item_a ANSWER item_c",
        "item_a PAUSE paused",
        "item_b ANSWER item_c",
        "item_b SKIP item_c",
        "item_b BACK item_a",
        "item_b PAUSE paused",
        // d is shown only when b was answered (not skipped, not hidden).
        "item_c ANSWER item_d",
        "item_c ANSWER done",
        "item_c SKIP item_d",
        "item_c SKIP done",
        // BACK from c returns to b when it was shown, else to a.
        "item_c BACK item_b",
        "item_c BACK item_a",
        "item_c PAUSE paused",
        "item_d ANSWER done",
        "item_d SKIP done",
        "item_d BACK item_c",
        "item_d PAUSE paused",
        "paused RESUME item_a",
        "paused RESUME item_b",
        "paused RESUME item_c",
        "paused RESUME item_d",
      ].sort(),
    );
  });

  it("runs as a plain XState actor too", () => {
    const actor = createActor(q.machine).start();
    const value = () => actor.getSnapshot().value;
    expect(value()).toBe("handoff");
    actor.send({ type: "READY" });
    expect(value()).toBe("item_a");
    actor.send({ type: "ANSWER", itemId: "a", value: 0 });
    expect(value()).toBe("item_c");
    actor.send({ type: "PAUSE" });
    expect(value()).toBe("paused");
    actor.send({ type: "ANSWER", itemId: "c", value: 2 });
    expect(value()).toBe("paused");
    actor.send({ type: "RESUME" });
    expect(value()).toBe("item_c");
    actor.send({ type: "ANSWER", itemId: "c", value: 2 });
    expect(actor.getSnapshot().status).toBe("done");
    expect(actor.getSnapshot().context.answers).toEqual({ a: 0, c: 2 });
    actor.stop();
  });

  it("refuses item ids that cannot name a state", () => {
    expect(() => compileQuestionnaire(makeInstrument([choice("a.b")]))).toThrow(/cannot name/);
    expect(() => compileQuestionnaire(makeInstrument([choice("x"), choice("x")]))).toThrow(
      /duplicate/,
    );
  });
});

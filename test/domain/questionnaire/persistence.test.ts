import { describe, expect, it } from "vitest";
import {
  compileQuestionnaire,
  type EngineEvent,
  type PersistedState,
  type Questionnaire,
} from "../../../src/domain/questionnaire/index.js";
import { choice, makeInstrument, num, text } from "./fixtures.js";

const items = [
  choice("a"),
  choice("b", { showIf: "a >= 1", required: false }),
  num("c", 1, 5, { showIf: "b == 2" }),
  text("d"),
  choice("e"),
];

/** Small deterministic PRNG so the event mix is the same on every run. */
function rng(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

function randomEvent(q: Questionnaire, s: PersistedState, rand: () => number): EngineEvent {
  const view = q.view(s);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const ids = q.instrument.items.map((it) => it.id);
  const r = rand();
  if (view.kind === "handoff") return r < 0.8 ? { type: "READY" } : { type: "BACK" };
  if (view.kind === "paused")
    return r < 0.7 ? { type: "RESUME" } : { type: "ANSWER", itemId: view.itemId, value: 1 };
  if (view.kind !== "item") return { type: "BACK" };
  const item = view.item;
  // BACK is frequent so that earlier answers get changed and later ones dropped.
  if (r < 0.25) return { type: "BACK" };
  if (r < 0.3) return { type: "PAUSE" };
  if (r < 0.35) return { type: "SKIP", itemId: item.id };
  if (r < 0.4) return { type: "ANSWER", itemId: pick(ids), value: 1 };
  if (r < 0.45) return { type: "ANSWER", itemId: item.id, value: 99 };
  const value =
    item.type === "text"
      ? pick(["yes", " no ", ""])
      : item.type === "number"
        ? pick([1, 3, 5])
        : pick([0, 1, 2]);
  return { type: "ANSWER", itemId: item.id, value };
}

describe("persisted state", () => {
  it.each([false, true])(
    "stepping from its JSON equals continuing in memory (handoff: %s)",
    (handoff) => {
      const q = compileQuestionnaire(makeInstrument(items), { handoff });
      const seen = { finished: 0, rejected: 0, dropped: 0, back: 0 };
      for (let seed = 1; seed <= 60; seed++) {
        const rand = rng(seed);
        let memory = q.start();
        let stored = JSON.stringify(memory);
        for (let i = 0; i < 60 && q.view(memory).kind !== "done"; i++) {
          const event = randomEvent(q, memory, rand);
          const fromMemory = q.step(memory, event);
          const fromJson = q.step(JSON.parse(stored) as PersistedState, event);
          expect(fromJson).toEqual(fromMemory);
          expect(JSON.parse(JSON.stringify(fromMemory.state))).toEqual(fromMemory.state);
          if (!fromMemory.accepted) seen.rejected++;
          if (fromMemory.completed) seen.finished++;
          if (fromMemory.effect?.type === "back") seen.back++;
          if (
            fromMemory.effect &&
            "dropped" in fromMemory.effect &&
            fromMemory.effect.dropped.length
          )
            seen.dropped++;
          memory = fromMemory.state;
          stored = JSON.stringify(fromJson.state);
          // What the bot does on the next update: restore from the row, with the answers table beside it.
          expect(q.restore(stored, q.machineVersion, q.answers(memory))).toEqual(memory);
        }
      }
      // The walks exercised what they are meant to compare.
      expect(seen.finished).toBeGreaterThan(10);
      expect(seen.rejected).toBeGreaterThan(10);
      expect(seen.back).toBeGreaterThan(10);
      expect(seen.dropped).toBeGreaterThan(0);
    },
  );

  it("restores a stored state of the same version exactly, including pause and BACK position", () => {
    const q = compileQuestionnaire(makeInstrument(items));
    let s = q.start();
    for (const ev of [
      { type: "ANSWER", itemId: "a", value: 1 },
      { type: "ANSWER", itemId: "b", value: 0 },
      { type: "ANSWER", itemId: "d", value: "x" },
      { type: "BACK" },
      { type: "PAUSE" },
    ] as EngineEvent[]) {
      s = q.step(s, ev).state;
    }
    const restored = q.restore(JSON.stringify(s), q.machineVersion, { a: 1, b: 0, d: "x" });
    expect(restored).toEqual(s);
    expect(q.view(restored)).toEqual({ kind: "paused", itemId: "d", number: 4, total: 5 });
  });

  it("rebuilds from the answers when the version differs or the JSON is corrupt", () => {
    const q = compileQuestionnaire(makeInstrument(items));
    let s = q.start();
    s = q.step(s, { type: "ANSWER", itemId: "a", value: 1 }).state;
    s = q.step(s, { type: "PAUSE" }).state;
    const json = JSON.stringify(s);
    const answers = { a: 1, b: 2 };
    const inputs: Array<[string | null | undefined, string | null | undefined]> = [
      [json, "e0.older.direct"],
      [json, null],
      ["{not json", q.machineVersion],
      ["null", q.machineVersion],
      ['"asking"', q.machineVersion],
      [null, q.machineVersion],
      [undefined, undefined],
      [JSON.stringify({ ...s, value: "elsewhere" }), q.machineVersion],
      [JSON.stringify({ ...s, context: { ...s.context, resumeAt: 17 } }), q.machineVersion],
      [JSON.stringify({ ...s, context: { ...s.context, answers: { a: 7 } } }), q.machineVersion],
      [JSON.stringify({ ...s, context: { ...s.context, back: "x" } }), q.machineVersion],
      // Valid in itself, but the answers table knows more (b was answered): the table wins.
      [json, q.machineVersion],
    ];
    for (const [stored, version] of inputs) {
      const r = q.restore(stored, version, answers);
      expect(q.view(r), String(stored)).toMatchObject({ kind: "item", item: { id: "c" } });
      expect(q.answers(r)).toEqual(answers);
      // It continues from there like any other state.
      const next = q.step(r, { type: "ANSWER", itemId: "c", value: 5 });
      expect(q.view(next.state)).toMatchObject({ kind: "item", item: { id: "d" } });
      expect(q.step(next.state, { type: "BACK" }).effect).toEqual({ type: "back", itemId: "c" });
    }
  });

  it("rebuilds stored states that do not fit the machine even when the answers agree", () => {
    const q = compileQuestionnaire(makeInstrument(items));
    const paused = q.step(q.step(q.start(), { type: "ANSWER", itemId: "a", value: 1 }).state, {
      type: "PAUSE",
    }).state;
    expect(paused.value).toBe("paused");
    const answers = { a: 1 };
    expect(q.restore(JSON.stringify(paused), q.machineVersion, answers)).toEqual(paused);
    const ctx = paused.context;
    const broken: unknown[] = [
      { ...paused, value: "elsewhere" },
      { ...paused, value: "item_zz" },
      // Route states are transient: a snapshot never rests in one.
      { ...paused, value: "route_b" },
      { ...paused, context: { ...ctx, resumeAt: 17 } },
      { ...paused, context: { ...ctx, resumeAt: null } },
      { ...paused, value: "item_b" },
      // c is hidden while b is unanswered.
      { ...paused, value: "item_c", context: { ...ctx, resumeAt: null } },
      { ...paused, context: { ...ctx, resumeAt: 2 } },
      { ...paused, context: { ...ctx, back: [0, 0] } },
      { ...paused, context: { ...ctx, back: "x" } },
      { ...paused, value: "done", context: { ...ctx, resumeAt: null } },
      { ...paused, value: "handoff", context: { ...ctx, resumeAt: null } },
      // The engine-1 shape (phase states, position in context) under the current version.
      { status: "active", value: "asking", context: { answers, pos: 1, back: [0] } },
    ];
    for (const stored of broken) {
      const r = q.restore(JSON.stringify(stored), q.machineVersion, answers);
      expect(r, JSON.stringify(stored)).toEqual(q.positionFromAnswers(answers));
      expect(q.view(r)).toMatchObject({ kind: "item", item: { id: "b" } });
    }
  });

  it("migrates engine-1 snapshots: continues at the first unanswered item, answers kept", () => {
    const q = compileQuestionnaire(makeInstrument(items));
    expect(q.machineVersion).toMatch(/^e2\./);
    const v1Version = q.machineVersion.replace(/^e2\./, "e1.");
    const v1Snapshot = JSON.stringify({
      status: "active",
      value: "paused",
      context: { answers: { a: 1, b: 0, d: "x" }, pos: 3, back: [0, 1] },
      historyValue: {},
      children: {},
    });
    const r = q.restore(v1Snapshot, v1Version, { a: 1, b: 0, d: "x" });
    expect(q.answers(r)).toEqual({ a: 1, b: 0, d: "x" });
    expect(r.value).toBe("item_e");
    expect(q.view(r)).toMatchObject({ kind: "item", item: { id: "e" }, canGoBack: true });
    expect(q.step(r, { type: "BACK" }).effect).toEqual({ type: "back", itemId: "d" });
    const done = q.step(r, { type: "ANSWER", itemId: "e", value: 0 });
    expect(done.completed).toBe(true);
    expect(q.answers(done.state)).toEqual({ a: 1, b: 0, d: "x", e: 0 });
  });

  it("keeps answers of an older instrument version that still fit and ignores the rest", () => {
    const older = compileQuestionnaire(
      makeInstrument([choice("a"), choice("gone"), choice("b"), text("d")]),
    );
    let s = older.start();
    for (const [itemId, value] of [
      ["a", 1],
      ["gone", 2],
      ["b", 1],
    ] as const) {
      s = older.step(s, { type: "ANSWER", itemId, value }).state;
    }
    const newer = compileQuestionnaire(makeInstrument(items));
    const r = newer.restore(JSON.stringify(s), older.machineVersion, older.answers(s));
    expect(newer.answers(r)).toEqual({ a: 1, b: 1 });
    // b=1 hides c, so the first unanswered visible item is d.
    expect(newer.view(r)).toMatchObject({ kind: "item", item: { id: "d" } });
    // Values that no longer fit the item are dropped so the item is asked again.
    const refit = newer.positionFromAnswers({ a: 9, b: 1, d: "  " });
    expect(newer.answers(refit)).toEqual({});
    expect(newer.view(refit)).toMatchObject({ kind: "item", item: { id: "a" } });
  });

  it("positions at the first unanswered item, or done when everything is answered", () => {
    const q = compileQuestionnaire(makeInstrument(items));
    expect(q.positionFromAnswers({})).toEqual(q.start());
    const mid = q.positionFromAnswers({ a: 0, e: 2 });
    expect(q.view(mid)).toMatchObject({ kind: "item", item: { id: "d" } });
    expect(q.step(mid, { type: "BACK" }).effect).toEqual({ type: "back", itemId: "a" });
    const skipped = q.positionFromAnswers({ a: 2, b: null });
    expect(q.view(skipped)).toMatchObject({ kind: "item", item: { id: "d" } });
    const done = q.positionFromAnswers({ a: 0, d: null, e: 1 });
    expect(q.view(done)).toEqual({ kind: "done" });
    expect(done.status).toBe("done");

    const child = compileQuestionnaire(makeInstrument(items), { handoff: true });
    expect(child.view(child.positionFromAnswers({}))).toEqual({ kind: "handoff" });
    expect(child.view(child.restore("garbage", "old", {}))).toEqual({ kind: "handoff" });
    // Already started: the child has the phone, so no second handoff.
    expect(child.view(child.positionFromAnswers({ a: 1 }))).toMatchObject({
      kind: "item",
      item: { id: "b" },
    });
  });

  it("a stored handoff state is only valid for a handoff machine", () => {
    const child = compileQuestionnaire(makeInstrument(items), { handoff: true });
    const json = JSON.stringify(child.start());
    expect(child.restore(json, child.machineVersion, {})).toEqual(child.start());
    const parent = compileQuestionnaire(child.instrument, { handoff: false });
    expect(parent.view(parent.restore(json, parent.machineVersion, {}))).toMatchObject({
      kind: "item",
    });
  });
});

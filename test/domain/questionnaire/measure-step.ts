// Measures step() cost at items 1, 10 and 25 of a 30-item instrument, and at item 4, whose answer
// leads through a route state because item 5 has skip logic (not a test: no asserts).
// Run: npx tsx test/domain/questionnaire/measure-step.ts
import { transition } from "xstate";
import {
  compileQuestionnaire,
  type PersistedState,
} from "../../../src/domain/questionnaire/index.js";
import { choice, makeInstrument } from "./fixtures.js";

const items = Array.from({ length: 30 }, (_, i) =>
  // A few items carry skip logic so the visibility pass has work to do.
  choice(`q${i + 1}`, i % 5 === 4 ? { showIf: `q${i} >= 0` } : {}),
);
const q = compileQuestionnaire(makeInstrument(items));
const positions = [1, 10, 25, 4];

function stateAt(n: number): PersistedState {
  let s = q.start();
  for (let i = 1; i < n; i++) s = q.step(s, { type: "ANSWER", itemId: `q${i}`, value: 1 }).state;
  return s;
}

function time(label: string, iterations: number, fn: () => void) {
  for (let i = 0; i < Math.min(2000, iterations); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  console.log(`${label.padEnd(58)} ${(ns / 1000).toFixed(2).padStart(8)} µs`);
}

const N = 20_000;
for (const n of positions) {
  const state = stateAt(n);
  const json = JSON.stringify(state);
  const answers = q.answers(state);
  const event = { type: "ANSWER", itemId: `q${n}`, value: 2 } as const;
  time(`item ${n}: step()`, N, () => q.step(state, event));
  time(`item ${n}: restore(json) + step() + JSON.stringify`, N, () => {
    const s = q.restore(json, q.machineVersion, answers);
    JSON.stringify(q.step(s, event).state);
  });
  time(`item ${n}: rejected (stale) step()`, N, () =>
    q.step(state, { type: "ANSWER", itemId: "nope", value: 1 }),
  );
  // For comparison: xstate's own transition() builds a fresh actor scope on every call.
  time(`item ${n}: xstate transition() + getPersistedSnapshot`, N / 4, () => {
    const snap = q.machine.resolveState({ value: state.value, context: state.context });
    q.machine.getPersistedSnapshot(transition(q.machine, snap, event)[0]);
  });
  // A bare handler: validate, copy the answers map, move on.
  time(`item ${n}: bare handler (validate + copy + JSON)`, N, () => {
    const { value, context: ctx } = JSON.parse(json) as PersistedState;
    if (value !== `item_q${n}` || ![0, 1, 2].includes(event.value)) throw new Error("bad");
    JSON.stringify({
      value: `item_q${n + 1}`,
      context: {
        ...ctx,
        answers: { ...ctx.answers, [event.itemId]: event.value },
        back: [...ctx.back, n - 1],
      },
    });
  });
}

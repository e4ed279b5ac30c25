// A conversation of one step with no stored state: a confirmation whose buttons act whenever they
// are pressed (withdrawal: "Yes" withdraws once; a second "Yes" finds the family withdrawn and
// changes nothing). The runtime's other half: pure step → effects and the processed update in one
// transaction (only when the step writes) → the adapter presents the rest of the effects.
import type { Tx } from "../db/client.js";
import type { Db } from "../db/client.js";
import { commitEffects } from "../usecases/conversation-step.js";
import { commitNothing, type AlsoCommit } from "../usecases/commit.js";
import type { Screen } from "./kind.js";

export interface OneStepKind<In, Fx> {
  kind: string;
  machineVersion: string;
  /** The pure step: the effects of an input, in the order they are carried out. */
  step(input: In): Fx[];
  /** Whether the effects write anything (then they commit with the processed update). */
  writes(effects: readonly Fx[]): boolean;
  /** Writes the effects inside the step's transaction (through use cases). */
  apply(tx: Tx, effects: readonly Fx[]): Promise<void>;
  view(effect: Fx): Screen | null;
}

/** Steps and commits; returns the effects for the adapter to present (writes are done). */
export async function runOneStep<In, Fx>(
  kind: OneStepKind<In, Fx>,
  db: Db,
  input: In,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<Fx[]> {
  const effects = kind.step(input);
  if (kind.writes(effects)) await commitEffects(db, (tx) => kind.apply(tx, effects), alsoCommit);
  return effects;
}

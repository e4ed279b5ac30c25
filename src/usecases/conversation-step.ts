// The transaction of a conversation step (src/conversations/runtime.ts): the state row's
// compare-and-set, the kind's effects (written through use cases) and the processed update
// commit together or not at all. A lost compare-and-set rolls everything back as a stale press.
import type { Db, Tx } from "../db/client.js";
import { commitConversationStep, openConversation } from "../store/conversations.js";
import { commitNothing, type AlsoCommit } from "./commit.js";

/** Another process (or a redelivered press) stepped this conversation first. */
export class StalePress extends Error {
  constructor() {
    super("the conversation moved on before this step could commit");
    this.name = "StalePress";
  }
}

export interface StepWrite {
  stateId: number;
  expectedNonce: number;
  nonce: number;
  snapshot: string;
  machineVersion: string;
  finished: boolean;
}

export type ApplyEffects = (tx: Tx) => Promise<void>;

/**
 * Commits one step: the compare-and-set first (so nothing is written for a press that lost the
 * race), then the effects, then `alsoCommit` (the processed update). "stale" when the CAS lost;
 * any error an effect throws rolls the whole step back and propagates.
 */
export async function commitStep(
  db: Db,
  write: StepWrite,
  effects: ApplyEffects,
  now: Date,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<"committed" | "stale"> {
  try {
    await db.$transaction(async (tx) => {
      const moved = await commitConversationStep(tx, { ...write, now });
      if (!moved) throw new StalePress();
      await effects(tx);
      await alsoCommit(tx);
    });
    return "committed";
  } catch (e) {
    if (e instanceof StalePress) return "stale";
    throw e;
  }
}

/** Starts (or restarts) a conversation with the effects of its start, in one transaction. */
export async function startConversation(
  db: Db,
  open: {
    accountId: number;
    kind: string;
    machineId: string;
    machineVersion: string;
    snapshot: string;
    responseSetId?: number | null;
  },
  effects: ApplyEffects,
  now: Date,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<{ id: number; nonce: number }> {
  return db.$transaction(async (tx) => {
    const row = await openConversation(tx, { ...open, now });
    await effects(tx);
    await alsoCommit(tx);
    return row;
  });
}

/** Effects of a step with no stored state (a one-message confirmation), in one transaction. */
export async function commitEffects(
  db: Db,
  effects: ApplyEffects,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<void> {
  await db.$transaction(async (tx) => {
    await effects(tx);
    await alsoCommit(tx);
  });
}

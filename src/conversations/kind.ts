// What a conversation kind is to the runtime (src/conversations/runtime.ts): a pure machine step,
// a view of a state (text and a plain button list: the Telegram adapter renders it and encodes
// each button's operation with the conversation's nonce), and the effects a step writes inside
// the step's transaction, through use cases. The runtime owns loading, the press check, the
// transaction and presenting; a kind never sees grammY or opens a transaction.
import type { Tx } from "../db/client.js";
import type { ConversationRow } from "../store/conversations.js";

/** A button as a kind offers it: its label and the operation (with an argument) it presses. */
export interface Button {
  text: string;
  op: string;
  arg?: string | number;
}

/** What the chat shows for a state: HTML text (every flow or user string escaped) and buttons. */
export interface Screen {
  html: string;
  buttons: Button[][];
}

/** How a kind's step came out: the next state with its effects, or why the input was refused. */
export type KindStep<S, Fx, R> = { ok: true; state: S; effects: Fx[] } | { ok: false; reason: R };

export interface ConversationKind<S, In, Fx, R> {
  /** ConversationState.kind: one conversation of each kind per account. */
  kind: string;
  machineId: string;
  /** Rows written by another machine version are not continued (treated as absent). */
  machineVersion: string;
  /** The state from its stored JSON, or null when this machine cannot continue it. */
  parse(snapshot: string): S | null;
  /**
   * Kinds whose machine depends on the row (a questionnaire's instrument) read it themselves,
   * migrating a snapshot of an older machine version; replaces the version check and `parse`.
   */
  restore?(row: ConversationRow): Promise<S | null>;
  /** The machine version a state runs on (written with each step; checked against button tags). */
  versionOf?(state: S): string;
  machineIdOf?(state: S): string;
  serialize?(state: S): string;
  /** A state that ends the conversation: its row is deleted in the step's transaction. */
  finished(state: S): boolean;
  /** The pure step: no database, no clock, no Telegram. */
  step(state: S, input: In): KindStep<S, Fx, R>;
  /**
   * Writes the step's effects inside its transaction (through use cases). Throwing
   * `new StepRejected(reason)` rolls the whole step back and refuses the input with that reason.
   */
  apply?(tx: Tx, effects: readonly Fx[], step: { before: S; after: S }): Promise<void>;
  view(state: S): Screen | Promise<Screen>;
}

/** Thrown by a kind's `apply` when a check against the database refuses the step (rolled back). */
export class StepRejected<R> extends Error {
  constructor(readonly reason: R) {
    super(`step refused: ${String(reason)}`);
    this.name = "StepRejected";
  }
}

/** Where a conversation is shown: the Telegram adapter's implementation encodes button data. */
export interface Presenter {
  /** Sends the screen as a new message whose buttons carry `nonce`; returns its message id. */
  send(screen: Screen, nonce: number): Promise<number>;
  /** Replaces a message's text and buttons in place. */
  edit(messageId: number, screen: Screen, nonce: number): Promise<void>;
  /** Removes a message's buttons (its text stays as a record). */
  strip(messageId: number): Promise<void>;
}

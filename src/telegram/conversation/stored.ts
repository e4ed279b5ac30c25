// A multi-step conversation (session log, note) kept in ConversationState: one row per account
// and kind, holding the pure machine's state as JSON beside a nonce and the message whose buttons
// are live. A row from another machine version or that does not parse is treated as absent.
import type { Tx } from "../../db/client.js";
import { encodeCallback } from "../callback-data.js";

export interface StoredConversation<S> {
  id: number;
  nonce: number;
  messageId: number | null;
  state: S;
}

export interface ConversationStore<S> {
  load(db: Tx, accountId: number): Promise<StoredConversation<S> | null>;
  /**
   * The conversation a button press belongs to, or null when the press is stale: it must carry
   * the current nonce and come from the message whose buttons are live.
   */
  loadForPress(
    db: Tx,
    accountId: number,
    press: { nonce: number; messageId: number | undefined },
  ): Promise<StoredConversation<S> | null>;
  /** Saves the state; a finished state deletes the row (returned with id 0). */
  save(
    db: Tx,
    accountId: number,
    state: S,
    extra?: { nonce?: number; messageId?: number | null },
  ): Promise<StoredConversation<S>>;
}

export function conversationStore<S>(opts: {
  kind: string;
  machineId: string;
  version: string;
  /** The state from its JSON, or null when it is not one this machine can continue. */
  parse(snapshot: string): S | null;
  /** States that end the conversation (nothing to store). */
  finished(state: S): boolean;
}): ConversationStore<S> {
  const { kind } = opts;
  return {
    async load(db, accountId) {
      const row = await db.conversationState.findUnique({
        where: { accountId_kind: { accountId, kind } },
      });
      if (!row || row.machineVersion !== opts.version) return null;
      const state = opts.parse(row.snapshot);
      if (state === null || opts.finished(state)) return null;
      return { id: row.id, nonce: row.nonce, messageId: row.messageId, state };
    },
    async loadForPress(db, accountId, press) {
      const conv = await this.load(db, accountId);
      if (!conv || press.nonce !== conv.nonce) return null;
      if (conv.messageId !== null && press.messageId !== conv.messageId) return null;
      return conv;
    },
    async save(db, accountId, state, extra = {}) {
      if (opts.finished(state)) {
        await db.conversationState.deleteMany({ where: { accountId, kind } });
        return { id: 0, nonce: extra.nonce ?? 0, messageId: null, state };
      }
      const data = {
        machineId: opts.machineId,
        machineVersion: opts.version,
        snapshot: JSON.stringify(state),
        ...extra,
      };
      const row = await db.conversationState.upsert({
        where: { accountId_kind: { accountId, kind } },
        create: { accountId, kind, responseSetId: null, ...data },
        update: data,
      });
      return { id: row.id, nonce: row.nonce, messageId: row.messageId, state };
    },
  };
}

/** Callback data for a feature's buttons, bound to the conversation's nonce. */
export function featureCallback(feature: string) {
  return (nonce: number, op: string, arg?: string | number): string =>
    encodeCallback({
      kind: "x",
      feature,
      parts: [String(nonce), op, ...(arg === undefined ? [] : [String(arg)])],
    });
}

/** A button's numeric argument (an id or an index), or null when it is missing or not a number. */
export function numericArg(arg: string | undefined): number | null {
  return arg !== undefined && /^\d{1,9}$/.test(arg) ? Number(arg) : null;
}

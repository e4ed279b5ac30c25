// One runtime for every multi-step conversation: load → check the press (nonce, machine version,
// message) → the kind's pure step → commit the state row (compare-and-set), the step's effects
// and the processed update in one transaction (src/usecases/conversation-step.ts) → present.
//
// A press is live only when it carries the row's current nonce, comes from the message whose
// buttons are live (any message while none is bound: a crash between a step's commit and its new
// message), and the row was written by this machine version (and, for kinds that tag their
// buttons, carries that version's tag). The commit moves the nonce with `WHERE id = ? AND
// nonce = ?`: a press that lost a race against another process or a redelivery changes nothing.
import type { Db } from "../db/client.js";
import { pressIsLive } from "../domain/conversations/press.js";
import { commitNothing, type AlsoCommit } from "../usecases/commit.js";
import { commitStep, startConversation, type ApplyEffects } from "../usecases/conversation-step.js";
import {
  bindConversationMessage,
  bumpConversationNonce,
  conversationRow,
} from "../store/conversations.js";
import { StepRejected, type ConversationKind, type Presenter } from "./kind.js";

export interface Conversation<S> {
  id: number;
  nonce: number;
  /** The message whose buttons are live; null between a step's commit and its new message. */
  messageId: number | null;
  state: S;
}

/** What a button press carries back: the nonce and machine tag it was sent with, its message. */
export interface PressCheck {
  nonce: number;
  messageId: number | undefined;
  /** The machine version's tag, for kinds whose buttons carry one. */
  tag?: string;
}

export type Outcome<S, Fx, R> =
  /** No live conversation, or the press was for another nonce, message or machine version. */
  | { status: "stale" }
  /** The step refused the input (the state is unchanged). */
  | { status: "rejected"; reason: R; conv: Conversation<S> }
  | {
      status: "stepped";
      before: Conversation<S>;
      /** The committed conversation: the new nonce, no message bound yet. */
      conv: Conversation<S>;
      effects: Fx[];
      finished: boolean;
    };

export interface RuntimeDeps {
  db: Db;
  now(): Date;
}

export interface Runtime<S, In, Fx, R> {
  readonly kind: ConversationKind<S, In, Fx, R>;
  /** The account's live conversation of this kind, or null (none, another version, unreadable). */
  load(accountId: number): Promise<Conversation<S> | null>;
  /** Starts (or restarts) the conversation; `effects` commit with it. Not yet shown. */
  start(
    accountId: number,
    state: S,
    opts?: { effects?: ApplyEffects; alsoCommit?: AlsoCommit; responseSetId?: number | null },
  ): Promise<Conversation<S>>;
  /** A button press: checked, stepped, committed. */
  press(
    accountId: number,
    press: PressCheck,
    input: In,
    alsoCommit?: AlsoCommit,
  ): Promise<Outcome<S, Fx, R>>;
  /**
   * Input that carries no nonce (typed text): stepped against the state as loaded, committed by
   * the same compare-and-set (a concurrent step makes it stale). Stale also when nothing is open.
   */
  input(accountId: number, input: In, alsoCommit?: AlsoCommit): Promise<Outcome<S, Fx, R>>;
  /**
   * Steps a conversation the caller loaded (and checked) itself; committed against its nonce, so
   * a step that committed since the load makes this one stale.
   */
  step(conv: Conversation<S>, input: In, alsoCommit?: AlsoCommit): Promise<Outcome<S, Fx, R>>;
  /**
   * Shows the conversation: edits `edit` in place, or removes the buttons of `replacing` and sends
   * a new message; then binds the message to the conversation's nonce.
   */
  present(
    conv: Conversation<S>,
    presenter: Presenter,
    opts?: { edit?: number; replacing?: number | null },
  ): Promise<Conversation<S>>;
  /** Shows the conversation again without a step: the nonce moves, so older buttons are stale. */
  reshow(conv: Conversation<S>, presenter: Presenter): Promise<Conversation<S>>;
}

export function conversationRuntime<S, In, Fx, R>(
  kind: ConversationKind<S, In, Fx, R>,
  deps: RuntimeDeps,
): Runtime<S, In, Fx, R> {
  const serialize = kind.serialize ?? ((st: S) => JSON.stringify(st));

  const versionOf = (st: S) => kind.versionOf?.(st) ?? kind.machineVersion;

  async function load(accountId: number): Promise<Conversation<S> | null> {
    const row = await conversationRow(deps.db, accountId, kind.kind);
    if (!row) return null;
    let state: S | null;
    if (kind.restore) state = await kind.restore(row);
    else state = row.machineVersion === kind.machineVersion ? kind.parse(row.snapshot) : null;
    if (state === null || kind.finished(state)) return null;
    return { id: row.id, nonce: row.nonce, messageId: row.messageId, state };
  }

  async function step(
    before: Conversation<S>,
    input: In,
    alsoCommit: AlsoCommit,
  ): Promise<Outcome<S, Fx, R>> {
    const r = kind.step(before.state, input);
    if (!r.ok) return { status: "rejected", reason: r.reason, conv: before };
    const finished = kind.finished(r.state);
    const nonce = before.nonce + 1;
    try {
      const committed = await commitStep(
        deps.db,
        {
          stateId: before.id,
          expectedNonce: before.nonce,
          nonce,
          snapshot: serialize(r.state),
          machineVersion: versionOf(r.state),
          finished,
        },
        async (tx) => {
          if (kind.apply) await kind.apply(tx, r.effects, { before: before.state, after: r.state });
        },
        deps.now(),
        alsoCommit,
      );
      if (committed === "stale") return { status: "stale" };
    } catch (e) {
      if (e instanceof StepRejected)
        return { status: "rejected", reason: e.reason as R, conv: before };
      throw e;
    }
    return {
      status: "stepped",
      before,
      conv: { id: finished ? 0 : before.id, nonce, messageId: null, state: r.state },
      effects: r.effects,
      finished,
    };
  }

  const runtime: Runtime<S, In, Fx, R> = {
    kind,
    load,
    async start(accountId, state, opts = {}) {
      const row = await startConversation(
        deps.db,
        {
          accountId,
          kind: kind.kind,
          machineId: kind.machineIdOf?.(state) ?? kind.machineId,
          machineVersion: versionOf(state),
          snapshot: serialize(state),
          responseSetId: opts.responseSetId ?? null,
        },
        opts.effects ?? (async () => {}),
        deps.now(),
        opts.alsoCommit ?? commitNothing,
      );
      return { id: row.id, nonce: row.nonce, messageId: null, state };
    },
    async press(accountId, press, input, alsoCommit = commitNothing) {
      const conv = await load(accountId);
      if (!conv || !pressIsLive(conv, press)) return { status: "stale" };
      if (press.tag !== undefined && press.tag !== versionTag(versionOf(conv.state)))
        return { status: "stale" };
      return step(conv, input, alsoCommit);
    },
    async input(accountId, input, alsoCommit = commitNothing) {
      const conv = await load(accountId);
      if (!conv) return { status: "stale" };
      return step(conv, input, alsoCommit);
    },
    step: (conv, input, alsoCommit = commitNothing) => step(conv, input, alsoCommit),
    async present(conv, presenter, opts = {}) {
      const screen = await kind.view(conv.state);
      let messageId: number;
      if (opts.edit !== undefined) {
        await presenter.edit(opts.edit, screen, conv.nonce);
        messageId = opts.edit;
      } else {
        if (opts.replacing) await presenter.strip(opts.replacing);
        messageId = await presenter.send(screen, conv.nonce);
      }
      const bound = await bindConversationMessage(deps.db, {
        stateId: conv.id,
        nonce: conv.nonce,
        messageId,
        now: deps.now(),
      });
      // Unbound: a step committed meanwhile (its own message follows); these buttons are stale.
      return bound ? { ...conv, messageId } : conv;
    },
    async reshow(conv, presenter) {
      const moved = await bumpConversationNonce(deps.db, {
        stateId: conv.id,
        expectedNonce: conv.nonce,
        now: deps.now(),
      });
      // Not moved: a step committed meanwhile and presents its own message.
      if (!moved) return conv;
      const fresh = { ...conv, nonce: conv.nonce + 1, messageId: null };
      return runtime.present(fresh, presenter, { replacing: conv.messageId });
    },
  };
  return runtime;
}

/** Short tag of a machine version, carried in callback data so a press for a changed machine is refused. */
export function versionTag(machineVersion: string): string {
  let h = 0;
  for (let i = 0; i < machineVersion.length; i++)
    h = (Math.imul(h, 31) + machineVersion.charCodeAt(i)) >>> 0;
  return h.toString(36).padStart(6, "0").slice(-6);
}

// The rows of every conversation kind (ConversationState: one per account and kind). A step moves
// a row only by compare-and-set: `WHERE id = ? AND nonce = ?`, and the caller checks that exactly
// one row changed; otherwise another process (or a redelivered press) stepped first. Raw SQL: it
// runs for every button press (see src/store/questionnaire.ts for the cost of Prisma model calls).
import type { Tx } from "../db/client.js";

export interface ConversationRow {
  id: number;
  nonce: number;
  messageId: number | null;
  responseSetId: number | null;
  machineVersion: string;
  snapshot: string;
}

export async function conversationRow(
  db: Tx,
  accountId: number,
  kind: string,
): Promise<ConversationRow | null> {
  const [row] = await db.$queryRaw<ConversationRow[]>`
    SELECT "id", "nonce", "messageId", "responseSetId", "machineVersion", "snapshot" FROM "ConversationState"
     WHERE "accountId" = ${accountId} AND "kind" = ${kind}`;
  return row ?? null;
}

/**
 * Starts (or restarts) an account's conversation of a kind. An existing row is replaced and its
 * nonce moves on, so buttons sent for the conversation it replaces are stale.
 */
export async function openConversation(
  tx: Tx,
  c: {
    accountId: number;
    kind: string;
    machineId: string;
    machineVersion: string;
    snapshot: string;
    responseSetId?: number | null;
    now: Date;
  },
): Promise<{ id: number; nonce: number }> {
  const responseSetId = c.responseSetId ?? null;
  await tx.$executeRaw`INSERT INTO "ConversationState" ("accountId", "kind", "machineId", "machineVersion", "snapshot", "responseSetId", "messageId", "nonce", "updatedAt")
      VALUES (${c.accountId}, ${c.kind}, ${c.machineId}, ${c.machineVersion}, ${c.snapshot}, ${responseSetId}, NULL, 1, ${c.now})
      ON CONFLICT ("accountId", "kind") DO UPDATE SET "machineId" = excluded."machineId", "machineVersion" = excluded."machineVersion",
        "snapshot" = excluded."snapshot", "responseSetId" = excluded."responseSetId", "messageId" = NULL,
        "nonce" = "ConversationState"."nonce" + 1, "updatedAt" = excluded."updatedAt"`;
  const row = await conversationRow(tx, c.accountId, c.kind);
  return { id: row!.id, nonce: row!.nonce };
}

/**
 * Compare-and-set of a conversation step: moves the state (and its nonce) only if the nonce is
 * still the one the press was checked against; a finished conversation's row is deleted under the
 * same condition. False when another process (or a redelivered press) stepped first: the caller
 * then rolls back and treats the press as stale.
 */
export async function commitConversationStep(
  tx: Tx,
  step: {
    stateId: number;
    expectedNonce: number;
    nonce: number;
    snapshot: string;
    machineVersion: string;
    now: Date;
    /** The conversation ended: its row goes. */
    finished?: boolean;
  },
): Promise<boolean> {
  const changed = step.finished
    ? await tx.$executeRaw`DELETE FROM "ConversationState" WHERE "id" = ${step.stateId} AND "nonce" = ${step.expectedNonce}`
    : await tx.$executeRaw`UPDATE "ConversationState" SET "snapshot" = ${step.snapshot}, "machineVersion" = ${step.machineVersion},
      "nonce" = ${step.nonce}, "messageId" = NULL, "updatedAt" = ${step.now}
    WHERE "id" = ${step.stateId} AND "nonce" = ${step.expectedNonce}`;
  return changed === 1;
}

/**
 * Moves the nonce without a step (the conversation is shown again): every button sent before is
 * stale from now on. False when the row moved meanwhile.
 */
export async function bumpConversationNonce(
  db: Tx,
  c: { stateId: number; expectedNonce: number; now: Date },
): Promise<boolean> {
  const changed =
    await db.$executeRaw`UPDATE "ConversationState" SET "nonce" = ${c.expectedNonce + 1}, "messageId" = NULL, "updatedAt" = ${c.now}
    WHERE "id" = ${c.stateId} AND "nonce" = ${c.expectedNonce}`;
  return changed === 1;
}

/** The message that now carries the conversation's live buttons. */
export async function setConversationMessage(
  db: Tx,
  stateId: number,
  messageId: number,
  now: Date,
): Promise<void> {
  await db.$executeRaw`UPDATE "ConversationState" SET "messageId" = ${messageId}, "updatedAt" = ${now} WHERE "id" = ${stateId}`;
}

/**
 * Binds the message only while the row still has the nonce its buttons carry (a step that
 * committed meanwhile keeps its own, newer binding).
 */
export async function bindConversationMessage(
  db: Tx,
  c: { stateId: number; nonce: number; messageId: number; now: Date },
): Promise<boolean> {
  const changed =
    await db.$executeRaw`UPDATE "ConversationState" SET "messageId" = ${c.messageId}, "updatedAt" = ${c.now}
    WHERE "id" = ${c.stateId} AND "nonce" = ${c.nonce}`;
  return changed === 1;
}

export async function deleteConversation(db: Tx, accountId: number, kind: string): Promise<void> {
  await db.$executeRaw`DELETE FROM "ConversationState" WHERE "accountId" = ${accountId} AND "kind" = ${kind}`;
}

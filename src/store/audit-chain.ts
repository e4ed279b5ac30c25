// The audit chain's rows: the head (one row, the last event's seq and hash) and the events.
// Raw SQL on purpose: every write (each answer) is audited, and Prisma's query builder costs
// ~0.3–0.4 ms of CPU per call against ~0.1 ms for raw SQL. The event row is the one
// `auditEvent.create` would write (a Date parameter is stored in the same ISO form).
import type { Tx } from "../db/client.js";

/**
 * Advances the head and returns the new event's seq with the previous event's hash. It is the
 * first statement of every audited write: on SQLite the transaction already holds the write lock,
 * on an engine with row locks this row is where concurrent writers queue, so no two events share
 * a seq. RETURNING gives the hash before it is replaced.
 */
export async function advanceAuditHead(tx: Tx): Promise<{ seq: number; prevHash: string }> {
  const [head] = await tx.$queryRaw<
    { seq: number | bigint; hash: string }[]
  >`UPDATE "AuditHead" SET "seq" = "seq" + 1 WHERE "id" = 1 RETURNING "seq", "hash"`;
  if (!head) throw new Error("the audit chain has no head row (migration 0002_audit_head)");
  return { seq: Number(head.seq), prevHash: head.hash };
}

export interface AuditRow {
  seq: number;
  at: Date;
  actorAccountId: number | null;
  actor: string;
  action: string;
  entity: string;
  entityId: string | null;
  data: string;
  prevHash: string;
  hash: string;
}

/** Writes the event and makes it the head. */
export async function appendAuditEvent(tx: Tx, e: AuditRow): Promise<void> {
  await tx.$executeRaw`INSERT INTO "AuditEvent" ("seq", "at", "actorAccountId", "actor", "action", "entity", "entityId", "data", "prevHash", "hash")
    VALUES (${e.seq}, ${e.at}, ${e.actorAccountId}, ${e.actor}, ${e.action}, ${e.entity}, ${e.entityId}, ${e.data}, ${e.prevHash}, ${e.hash})`;
  await tx.$executeRaw`UPDATE "AuditHead" SET "hash" = ${e.hash} WHERE "id" = 1`;
}

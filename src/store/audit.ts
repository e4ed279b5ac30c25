// Append-only, hash-chained audit trail (ICH E6 ALCOA: attributable, contemporaneous,
// changes traceable without obscuring the original). Each event's hash covers its content
// and the previous event's hash, so editing or deleting any row breaks the chain at that row.
import { createHash } from "node:crypto";
import type { Tx } from "../db/client.js";
import { advanceAuditHead, appendAuditEvent } from "./audit-chain.js";

export const GENESIS_HASH = "0".repeat(64);

export type AuditActor =
  | { kind: "account"; accountId: number }
  | { kind: "cli" }
  | { kind: "system" }
  | { kind: "import" };

export interface AuditInput {
  actor: AuditActor;
  action: string;
  entity: string;
  entityId?: string | number | null;
  data?: Record<string, unknown>;
  at?: Date;
}

interface HashedFields {
  seq: number;
  at: string;
  actor: string;
  actorAccountId: number | null;
  action: string;
  entity: string;
  entityId: string | null;
  data: string;
}

export function eventHash(prevHash: string, f: HashedFields): string {
  const canonical = JSON.stringify([
    f.seq,
    f.at,
    f.actor,
    f.actorAccountId,
    f.action,
    f.entity,
    f.entityId,
    f.data,
  ]);
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}

/**
 * Appends one event inside the caller's transaction (the write and its audit commit together).
 * The rows themselves are the store's (src/store/audit-chain.ts).
 */
export async function audit(tx: Tx, input: AuditInput): Promise<void> {
  const { seq, prevHash } = await advanceAuditHead(tx);
  const at = input.at ?? new Date();
  const fields: HashedFields = {
    seq,
    at: at.toISOString(),
    actor: input.actor.kind,
    actorAccountId: input.actor.kind === "account" ? input.actor.accountId : null,
    action: input.action,
    entity: input.entity,
    entityId:
      input.entityId === undefined || input.entityId === null ? null : String(input.entityId),
    data: JSON.stringify(input.data ?? {}),
  };
  await appendAuditEvent(tx, { ...fields, at, prevHash, hash: eventHash(prevHash, fields) });
}

export interface ChainVerdict {
  ok: boolean;
  events: number;
  /** The first event whose link is broken (its seq), and why. */
  brokenAt?: { seq: number; reason: string };
}

/** Walks the whole chain in seq order and reports the first broken link. */
export async function verifyAuditChain(db: Tx): Promise<ChainVerdict> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  const pageSize = 5000;
  let cursor = 0;
  for (;;) {
    const page = await db.auditEvent.findMany({
      where: { seq: { gt: cursor } },
      orderBy: { seq: "asc" },
      take: pageSize,
    });
    if (page.length === 0) break;
    for (const e of page) {
      if (e.seq !== expectedSeq) {
        return {
          ok: false,
          events: count,
          brokenAt: { seq: expectedSeq, reason: "event missing" },
        };
      }
      if (e.prevHash !== prevHash) {
        return {
          ok: false,
          events: count,
          brokenAt: { seq: e.seq, reason: "previous-hash link broken" },
        };
      }
      const h = eventHash(prevHash, {
        seq: e.seq,
        at: e.at.toISOString(),
        actor: e.actor,
        actorAccountId: e.actorAccountId,
        action: e.action,
        entity: e.entity,
        entityId: e.entityId,
        data: e.data,
      });
      if (h !== e.hash) {
        return {
          ok: false,
          events: count,
          brokenAt: { seq: e.seq, reason: "content does not match its hash" },
        };
      }
      prevHash = e.hash;
      expectedSeq++;
      count++;
      cursor = e.seq;
    }
  }
  // The head names the last event written: a chain cut off at its end is caught here.
  const head = await db.auditHead.findUnique({ where: { id: 1 } });
  if (head && (head.seq !== count || head.hash !== prevHash)) {
    return {
      ok: false,
      events: count,
      brokenAt: {
        seq: count + 1,
        reason: `the chain's head is event ${head.seq} but the last event is ${count} (events removed from the end)`,
      },
    };
  }
  return { ok: true, events: count };
}

// The long-polling inbox (InboxUpdate): every update received is written here before the offset
// that confirms it to Telegram advances, and leaves once it was handled. Same statements on both
// engines.
import type { Db } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";

export interface InboxRow {
  updateId: number;
  payload: string;
  attempts: number;
}

/** Writes a batch of received updates in one statement (an update already there stays as it is). */
export async function storeInboxUpdates(
  db: Db,
  updates: readonly { update_id: number }[],
  now: Date,
): Promise<void> {
  if (updates.length === 0) return;
  const rows = updates.map(
    (u) => Prisma.sql`(${u.update_id}, ${JSON.stringify(u)}, ${now}, 0, NULL)`,
  );
  await db.$executeRaw`INSERT INTO "InboxUpdate" ("updateId", "payload", "receivedAt", "attempts", "retryAt")
    VALUES ${Prisma.join(rows)} ON CONFLICT ("updateId") DO NOTHING`;
}

/** Updates waiting to be handled (none whose retry is not due yet), oldest first. */
export async function inboxDue(db: Db, now: Date, limit: number): Promise<InboxRow[]> {
  const rows = await db.$queryRaw<
    { updateId: bigint | number; payload: string; attempts: number }[]
  >`
    SELECT "updateId", "payload", "attempts" FROM "InboxUpdate"
     WHERE "retryAt" IS NULL OR "retryAt" <= ${now}
     ORDER BY "updateId" LIMIT ${limit}`;
  return rows.map((r) => ({
    updateId: Number(r.updateId),
    payload: r.payload,
    attempts: Number(r.attempts),
  }));
}

/** How many updates wait in the inbox (health, tests). */
export async function inboxDepth(db: Db): Promise<number> {
  return db.inboxUpdate.count();
}

/** The update was handled: it leaves the inbox. */
export async function removeFromInbox(db: Db, updateId: number): Promise<void> {
  await db.$executeRaw`DELETE FROM "InboxUpdate" WHERE "updateId" = ${updateId}`;
}

/** A failed attempt: counted, and not tried again before `retryAt`. */
export async function deferInboxUpdate(db: Db, updateId: number, retryAt: Date): Promise<number> {
  const [row] = await db.$queryRaw<{ attempts: number }[]>`
    UPDATE "InboxUpdate" SET "attempts" = "attempts" + 1, "retryAt" = ${retryAt}
     WHERE "updateId" = ${updateId} RETURNING "attempts"`;
  return row ? Number(row.attempts) : 0;
}

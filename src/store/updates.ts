// Telegram updates already handled (exactly-once). Raw SQL: this runs for every update, and a
// Prisma findUnique costs about 3× its CPU.
import type { Tx } from "../db/client.js";

export async function wasProcessed(db: Tx, updateId: number): Promise<boolean> {
  const seen = await db.$queryRaw<
    unknown[]
  >`SELECT 1 FROM "ProcessedUpdate" WHERE "updateId" = ${updateId} LIMIT 1`;
  return seen.length > 0;
}

/** Records the update as handled; inside the transaction of its effects when there is one. */
export async function recordProcessed(db: Tx, updateId: number, at: Date): Promise<void> {
  await db.$executeRaw`INSERT INTO "ProcessedUpdate" ("updateId", "processedAt") VALUES (${updateId}, ${at}) ON CONFLICT ("updateId") DO NOTHING`;
}

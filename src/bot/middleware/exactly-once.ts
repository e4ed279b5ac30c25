// Telegram delivers at least once (and redelivers after a crash). Every update id is recorded;
// handlers that write record it inside their own transaction, so "answer saved" and "update
// processed" commit together. A duplicate is dropped, but its callback query is still answered.
import type { MiddlewareFn } from "grammy";
import type { Tx } from "../../db/client.js";
import type { CircleContext } from "../context.js";

async function record(db: Tx, updateId: number): Promise<void> {
  await db.$executeRaw`INSERT OR IGNORE INTO "ProcessedUpdate" ("updateId", "processedAt") VALUES (${updateId}, ${new Date().toISOString()})`;
}

export function exactlyOnce(): MiddlewareFn<CircleContext> {
  return async (ctx, next) => {
    const { s } = ctx.circle;
    const updateId = ctx.update.update_id;
    // Raw SQL: this runs for every update, and a Prisma findUnique costs about 3× its CPU.
    const seen = await s.db.$queryRaw<
      unknown[]
    >`SELECT 1 FROM "ProcessedUpdate" WHERE "updateId" = ${updateId} LIMIT 1`;
    if (seen.length > 0) {
      if (ctx.callbackQuery) await s.messenger.toast(ctx.callbackQuery.id);
      return;
    }
    ctx.circle.markProcessed = async (tx) => {
      await record(tx, updateId);
      ctx.circle.processed = true;
    };
    await next();
    if (!ctx.circle.processed) await record(s.db, updateId);
  };
}

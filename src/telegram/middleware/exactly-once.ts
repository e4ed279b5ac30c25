// Telegram delivers at least once (and redelivers after a crash). Every update id is recorded;
// handlers that write record it inside their own transaction, so "answer saved" and "update
// processed" commit together. A duplicate is dropped, but its callback query is still answered.
import type { MiddlewareFn } from "grammy";
import type { Tx } from "../../db/client.js";
import { recordProcessed, wasProcessed } from "../../store/updates.js";
import type { CircleContext } from "../context.js";

const record = (db: Tx, updateId: number) => recordProcessed(db, updateId, new Date());

export function exactlyOnce(): MiddlewareFn<CircleContext> {
  return async (ctx, next) => {
    const { s } = ctx.circle;
    const updateId = ctx.update.update_id;
    if (await wasProcessed(s.db, updateId)) {
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

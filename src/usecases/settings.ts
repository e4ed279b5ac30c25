import { randomBytes } from "node:crypto";
import type { Tx } from "../db/client.js";

export async function getSetting(db: Tx, key: string): Promise<string | null> {
  return (await db.setting.findUnique({ where: { key } }))?.value ?? null;
}

export async function setSetting(db: Tx, key: string, value: string): Promise<void> {
  await db.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
}

/** A random value created once and kept (e.g. the HMAC key for throttling, a randomisation seed). */
export async function getOrCreateSecret(db: Tx, key: string): Promise<string> {
  const existing = await getSetting(db, key);
  if (existing) return existing;
  const value = randomBytes(32).toString("hex");
  // Insert-or-ignore: if two processes race, both end up reading the same stored value.
  await db.setting.upsert({ where: { key }, create: { key, value }, update: {} });
  return (await getSetting(db, key))!;
}

// One update of a chat at a time across bot instances. Within one process grammY's sequentialize
// orders a chat's updates; with several instances behind one webhook URL, two updates of the same
// chat may arrive at two processes at once. On PostgreSQL the handling of an update holds a
// session advisory lock keyed by its chat on a connection of its own: the other instance waits
// for it, and a killed instance's lock goes with its connection. On SQLite (one file, one bot
// process) sequentialize is all there is to it; data stay correct across processes through the
// IMMEDIATE transactions and the conversations' compare-and-set either way.
import { postgresLockPoolOf, type Db } from "../db/client.js";

export async function withChatLock<T>(
  db: Db,
  chatKey: string | null,
  fn: () => Promise<T>,
): Promise<T> {
  const pool = postgresLockPoolOf(db);
  if (!pool || chatKey === null) return fn();
  const client = await pool.connect();
  let locked = false;
  try {
    await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [`chat:${chatKey}`]);
    locked = true;
    return await fn();
  } finally {
    if (locked) {
      try {
        await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [
          `chat:${chatKey}`,
        ]);
        client.release();
      } catch {
        // A connection that cannot unlock is not given back: closing it releases the lock.
        client.release(true);
      }
    } else client.release(true);
  }
}

// The job table's two statements that Prisma's query API cannot express: inserting many rows
// while skipping dedupe keys that exist, and claiming due jobs atomically. Both are plain SQL
// that SQLite and PostgreSQL run alike (quoted identifiers, ON CONFLICT, UPDATE … RETURNING);
// PostgreSQL's claim also skips rows another instance has locked (FOR UPDATE SKIP LOCKED).
import { Prisma, type Job } from "../generated/prisma/client.js";
import { engineOf, type Db, type Tx } from "../db/client.js";

export interface NewJobRow {
  kind: string;
  dueAt: Date;
  /** JSON text. */
  payload: string;
  dedupeKey: string | null;
}

/** Rows per INSERT: a first planning pass over a large study enqueues thousands. */
const INSERT_BATCH = 150;

/**
 * Inserts the rows, many per statement; a row whose dedupe key exists already (another process
 * enqueued it meanwhile) is skipped. Returns how many were inserted.
 */
export async function insertJobsSkippingDuplicates(
  db: Tx,
  rows: readonly NewJobRow[],
  createdAt: Date,
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const values = rows
      .slice(i, i + INSERT_BATCH)
      .map((j) => Prisma.sql`(${j.kind}, ${j.dueAt}, ${j.payload}, ${j.dedupeKey}, ${createdAt})`);
    inserted +=
      await db.$executeRaw`INSERT INTO "Job" ("kind", "dueAt", "payload", "dedupeKey", "createdAt")
      VALUES ${Prisma.join(values)} ON CONFLICT ("dedupeKey") DO NOTHING`;
  }
  return inserted;
}

/**
 * Claims up to `limit` due jobs, oldest due first, in one UPDATE … RETURNING statement: it sets
 * the lease and counts the attempt, so two processes never hold the same job. The outer WHERE
 * repeats the "claimable" test so that a database that re-checks a row after waiting for another
 * claimer's lock (PostgreSQL) skips a row that claimer took. Returns the claimed rows as they are
 * now, in due order.
 */
export async function claimDueJobRows(
  db: Db,
  now: Date,
  lockedUntil: Date,
  limit: number,
): Promise<Job[]> {
  // PostgreSQL: rows another instance is claiming right now are skipped, not waited for (SQLite
  // runs the statement alone: the file's write lock).
  const skipLocked =
    engineOf(db) === "postgres" ? Prisma.sql`FOR UPDATE SKIP LOCKED` : Prisma.empty;
  const rows = await db.$queryRaw<{ id: number | bigint }[]>`
    UPDATE "Job" SET "lockedUntil" = ${lockedUntil}, "attempts" = "attempts" + 1
    WHERE "id" IN (
      SELECT "id" FROM "Job"
      WHERE "doneAt" IS NULL AND "dueAt" <= ${now} AND ("lockedUntil" IS NULL OR "lockedUntil" <= ${now})
      ORDER BY "dueAt", "id" LIMIT ${limit} ${skipLocked}
    )
    AND "doneAt" IS NULL AND ("lockedUntil" IS NULL OR "lockedUntil" <= ${now})
    RETURNING "id"`;
  if (rows.length === 0) return [];
  return db.job.findMany({
    where: { id: { in: rows.map((r) => Number(r.id)) } },
    orderBy: [{ dueAt: "asc" }, { id: "asc" }],
  });
}

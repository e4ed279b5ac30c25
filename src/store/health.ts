// What the webhook's /healthz reports: can the database be queried, has it every committed
// migration, and how deep is the scheduler's queue. Through the Prisma client and one portable
// query (`_prisma_migrations` has the same shape on SQLite and PostgreSQL).
import type { Db } from "../db/client.js";
import { engineOf } from "../db/client.js";
import { APPLIED_MIGRATIONS_SQL, committedMigrations, compareMigrations } from "../db/status.js";

export interface Health {
  /** Database reachable and migrations current (the queue is reported, not judged). */
  ok: boolean;
  database: "reachable" | "unreachable";
  /** "unknown": the database has migrations this code does not know (a newer Circle wrote it). */
  migrations: "current" | "pending" | "unknown" | null;
  pendingMigrations: string[];
  /** Jobs due now and not done (reminders, announcements, alerts), and how late the oldest is. */
  queue: { due: number; oldestDueAgeSeconds: number | null } | null;
  /** Why the database is unreachable, when it is. */
  error?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () => fail(new Error(`the database did not answer within ${ms / 1000} s`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function checkHealth(db: Db, now: Date, timeoutMs = 5_000): Promise<Health> {
  try {
    return await withTimeout(
      (async (): Promise<Health> => {
        const rows = await db.$queryRawUnsafe<{ name: string }[]>(APPLIED_MIGRATIONS_SQL);
        const m = compareMigrations(
          rows.map((r) => r.name),
          committedMigrations(engineOf(db)),
        );
        const where = { doneAt: null, dueAt: { lte: now } };
        const [due, oldest] = await Promise.all([
          db.job.count({ where }),
          db.job.findFirst({ where, orderBy: { dueAt: "asc" }, select: { dueAt: true } }),
        ]);
        const migrations = m.pending.length ? "pending" : m.unknown.length ? "unknown" : "current";
        return {
          ok: migrations === "current",
          database: "reachable",
          migrations,
          pendingMigrations: m.pending,
          queue: {
            due,
            oldestDueAgeSeconds: oldest
              ? Math.max(0, Math.round((now.getTime() - oldest.dueAt.getTime()) / 1000))
              : null,
          },
        };
      })(),
      timeoutMs,
    );
  } catch (e) {
    return {
      ok: false,
      database: "unreachable",
      migrations: null,
      pendingMigrations: [],
      queue: null,
      error: e instanceof Error ? e.message : String(e),
    };
  }
}

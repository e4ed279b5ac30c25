// The scheduler's planning reads, as prepared statements (src/store/sql.ts: on SQLite on the bot's
// own connection, on PostgreSQL on the pool). The planner runs every minute over the whole study;
// through Prisma a 5,000-family pass materialised ~25,000 objects and took seconds, here it reads
// compact rows in a few milliseconds. Each function returns plain values, the same facts Prisma
// would return.
import { engineOf, type Db } from "../db/client.js";
import { boolOf, dateOf, dollarPlaceholders, queryRows, type Statement } from "./sql.js";

const all = <T>(db: Db, sql: Statement, ...params: unknown[]): Promise<T[]> =>
  queryRows<T>(db, sql, params);

/**
 * A statement with `IN (<json list>)`: a list of any length as one parameter (a JSON array), read
 * by SQLite's json_each and PostgreSQL's json_array_elements_text.
 */
const withJsonList = (sql: string, type: "int" | "text"): Statement => ({
  sqlite: sql.replace("<json list>", "SELECT value FROM json_each(?)"),
  postgres: dollarPlaceholders(
    sql.replace("<json list>", `SELECT (json_array_elements_text(?::json))::${type}`),
  ),
});

export interface OpenFamilySet {
  id: number;
  participantId: number;
  slot: string;
  respondent: string;
  status: string;
  createdAt: Date;
  startedAt: Date | null;
}

/**
 * Unfinished parent and child questionnaires of every consented family that has an active
 * parent chat: the families a reminder can reach.
 */
export async function openFamilySets(db: Db): Promise<OpenFamilySet[]> {
  const rows = await all<Record<string, unknown>>(
    db,
    `SELECT rs."id" AS "id", rs."participantId" AS "participantId", rs."slot" AS "slot",
            rs."respondent" AS "respondent", rs."status" AS "status",
            rs."createdAt" AS "createdAt", rs."startedAt" AS "startedAt"
       FROM "ResponseSet" rs JOIN "Participant" p ON p."id" = rs."participantId"
      WHERE rs."status" <> 'complete' AND rs."respondent" IN ('parent', 'child')
        AND p."status" = 'consented'
        AND EXISTS (SELECT 1 FROM "Account" a
                     WHERE a."participantId" = p."id" AND a."role" = 'parent'
                       AND a."active" = TRUE AND a."chatId" IS NOT NULL)
      ORDER BY rs."id"`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    participantId: Number(r.participantId),
    slot: String(r.slot),
    respondent: String(r.respondent),
    status: String(r.status),
    createdAt: dateOf(r.createdAt)!,
    startedAt: dateOf(r.startedAt),
  }));
}

export interface JobFacts {
  id: number;
  dedupeKey: string | null;
  doneAt: Date | null;
  lastError: string | null;
}

/** The jobs of one kind (without payloads), oldest first. */
export async function jobsOfKind(db: Db, kind: string): Promise<JobFacts[]> {
  const rows = await all<Record<string, unknown>>(
    db,
    `SELECT "id" AS "id", "dedupeKey" AS "dedupeKey", "doneAt" AS "doneAt", "lastError" AS "lastError"
       FROM "Job" WHERE "kind" = ? ORDER BY "id"`,
    kind,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    dedupeKey: r.dedupeKey === null ? null : String(r.dedupeKey),
    doneAt: dateOf(r.doneAt),
    lastError: r.lastError === null ? null : String(r.lastError),
  }));
}

/** The time of each listed family's latest answer on its own (parent or child) questionnaires. */
export async function lastFamilyAnswers(
  db: Db,
  participantIds: readonly number[],
): Promise<Map<number, Date>> {
  const out = new Map<number, Date>();
  // One statement with one parameter, whatever the number of families.
  const rows = await all<{ participantId: number; last: string | null }>(
    db,
    withJsonList(
      `SELECT rs."participantId" AS "participantId", MAX(a."answeredAt") AS "last"
         FROM "ResponseSet" rs JOIN "Answer" a ON a."responseSetId" = rs."id"
        WHERE rs."respondent" IN ('parent', 'child')
          AND rs."participantId" IN (<json list>)
        GROUP BY rs."participantId"`,
      "int",
    ),
    JSON.stringify(participantIds),
  );
  for (const r of rows) {
    const at = dateOf(r.last);
    if (at) out.set(Number(r.participantId), at);
  }
  return out;
}

export interface StartedTimepointSet {
  id: number;
  timepoint: string;
  instrumentId: string;
  startedAt: Date;
  participant: { id: number; code: string; enrolledAt: Date; groupId: number | null };
}

/** Every started questionnaire of a timepoint, with its participant (window checks). */
export async function startedTimepointSets(db: Db): Promise<StartedTimepointSet[]> {
  const rows = await all<Record<string, unknown>>(
    db,
    `SELECT rs."id" AS "id", rs."timepoint" AS "timepoint", rs."instrumentId" AS "instrumentId",
            rs."startedAt" AS "startedAt", p."id" AS "participantId", p."code" AS "code",
            p."enrolledAt" AS "enrolledAt", p."groupId" AS "groupId"
       FROM "ResponseSet" rs JOIN "Participant" p ON p."id" = rs."participantId"
      WHERE rs."startedAt" IS NOT NULL AND rs."timepoint" IS NOT NULL
      ORDER BY rs."id"`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    timepoint: String(r.timepoint),
    instrumentId: String(r.instrumentId),
    startedAt: dateOf(r.startedAt)!,
    participant: {
      id: Number(r.participantId),
      code: String(r.code),
      enrolledAt: dateOf(r.enrolledAt)!,
      groupId: r.groupId === null ? null : Number(r.groupId),
    },
  }));
}

/** Which of these dedupe keys already have a job (one statement, whatever their number). */
export async function existingJobKeys(db: Db, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await all<{ dedupeKey: string }>(
    db,
    withJsonList(
      `SELECT "dedupeKey" AS "dedupeKey" FROM "Job" WHERE "dedupeKey" IN (<json list>)`,
      "text",
    ),
    JSON.stringify(keys),
  );
  return new Set(rows.map((r) => r.dedupeKey));
}

/** Every dedupe key that starts with `prefix` (a range scan of the unique index). */
export async function jobKeysWithPrefix(db: Db, prefix: string): Promise<string[]> {
  // SQLite compares text bytewise: the keys from the prefix up to the smallest string above every
  // key with it (the prefix with its last char bumped). PostgreSQL compares by the database's
  // collation, where that range is not the prefix's keys: starts_with says exactly what is meant.
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const rows =
    engineOf(db) === "postgres"
      ? await all<{ dedupeKey: string }>(
          db,
          `SELECT "dedupeKey" AS "dedupeKey" FROM "Job" WHERE starts_with("dedupeKey", ?)`,
          prefix,
        )
      : await all<{ dedupeKey: string }>(
          db,
          `SELECT "dedupeKey" AS "dedupeKey" FROM "Job" WHERE "dedupeKey" >= ? AND "dedupeKey" < ?`,
          prefix,
          end,
        );
  return rows.map((r) => r.dedupeKey);
}

export interface ConsentFacts {
  id: number;
  code: string;
  status: string;
  /** Consent and assent decisions, oldest first. */
  consents: { kind: string; decision: string }[];
  /** Has any answer, and any answered through the bot. */
  hasAnswers: boolean;
  viaBot: boolean;
  /** Observations that are not skipped, and notes. */
  observations: number;
  notes: number;
}

/** Per participant, what the "data without consent" check needs (five aggregate statements). */
export async function consentFacts(db: Db): Promise<ConsentFacts[]> {
  const byId = new Map<number, ConsentFacts>();
  for (const p of await all<{ id: number; code: string; status: string }>(
    db,
    `SELECT "id" AS "id", "code" AS "code", "status" AS "status" FROM "Participant" ORDER BY "id"`,
  ))
    byId.set(p.id, {
      id: p.id,
      code: p.code,
      status: p.status,
      consents: [],
      hasAnswers: false,
      viaBot: false,
      observations: 0,
      notes: 0,
    });
  for (const c of await all<{ participantId: number; kind: string; decision: string }>(
    db,
    `SELECT "participantId" AS "participantId", "kind" AS "kind", "decision" AS "decision" FROM "Consent" ORDER BY "id"`,
  ))
    byId.get(c.participantId)?.consents.push({ kind: c.kind, decision: c.decision });
  for (const r of await all<{ participantId: number; hasAnswers: number; viaBot: number }>(
    db,
    `SELECT rs."participantId" AS "participantId",
            MAX(CASE WHEN EXISTS (SELECT 1 FROM "Answer" a WHERE a."responseSetId" = rs."id") THEN 1 ELSE 0 END) AS "hasAnswers",
            MAX(CASE WHEN EXISTS (SELECT 1 FROM "Answer" a WHERE a."responseSetId" = rs."id" AND a."source" = 'telegram') THEN 1 ELSE 0 END) AS "viaBot"
       FROM "ResponseSet" rs WHERE rs."participantId" IS NOT NULL GROUP BY rs."participantId"`,
  )) {
    const p = byId.get(r.participantId);
    if (!p) continue;
    p.hasAnswers = boolOf(r.hasAnswers);
    p.viaBot = boolOf(r.viaBot);
  }
  for (const r of await all<{ participantId: number; n: number }>(
    db,
    `SELECT "participantId" AS "participantId", COUNT(*) AS "n" FROM "Observation" WHERE "skipped" = FALSE GROUP BY "participantId"`,
  )) {
    const p = byId.get(r.participantId);
    if (p) p.observations = r.n;
  }
  for (const r of await all<{ participantId: number; n: number }>(
    db,
    `SELECT "participantId" AS "participantId", COUNT(*) AS "n" FROM "Note" GROUP BY "participantId"`,
  )) {
    const p = byId.get(r.participantId);
    if (p) p.notes = r.n;
  }
  return [...byId.values()];
}

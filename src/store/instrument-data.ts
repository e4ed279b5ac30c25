// The effect report's bulk reads. A 10k-participant study has over a million answer rows and an
// ORM object per row is too slow: the database packs each response set's answers into one string,
// so the driver hands over one row per response set (see src/analysis/dataset.ts for the format).
import type { Tx } from "../db/client.js";
import { dollarPlaceholders, txRows } from "./sql.js";

export interface PackedResponseSet {
  id: number;
  participantId: number;
  slot: string;
  /** "itemId␟quote(value)␟skipped" per answer, joined by ␞; null without answers. */
  answers: string | null;
}

/**
 * One page of an instrument's response sets (by id, after `after`) with their answers packed.
 * quote() renders a REAL with as many digits as it takes to read back the same double; a
 * correlated subquery per response set streams in index order (a GROUP BY over the join would
 * sort through a temporary B-tree first).
 */
export async function packedResponseSets(
  db: Tx,
  q: {
    instrumentId: string;
    respondent: string;
    slots: readonly string[];
    after: number;
    limit: number;
  },
): Promise<PackedResponseSet[]> {
  const slots = q.slots.map(() => "?").join(",");
  const rows = await txRows<PackedResponseSet>(
    db,
    {
      sqlite: `SELECT rs."id" AS "id", rs."participantId" AS "participantId", rs."slot" AS "slot",
            (SELECT group_concat(a."itemId" || char(31) || quote(a."value") || char(31) || (CASE WHEN a."skipped" THEN 1 ELSE 0 END), char(30))
               FROM "Answer" a WHERE a."responseSetId" = rs."id") AS "answers"
       FROM "ResponseSet" rs
      WHERE rs."instrumentId" = ? AND rs."respondent" = ? AND rs."participantId" IS NOT NULL
        AND rs."slot" IN (${slots}) AND rs."id" > ?
      ORDER BY rs."id" LIMIT ${Math.floor(q.limit)}`,
      // float8's text output is the shortest that reads back as the same double (PostgreSQL 12+).
      postgres:
        dollarPlaceholders(`SELECT rs."id" AS "id", rs."participantId" AS "participantId", rs."slot" AS "slot",
            (SELECT string_agg(a."itemId" || chr(31) || COALESCE(a."value"::text, 'NULL') || chr(31) || (CASE WHEN a."skipped" THEN '1' ELSE '0' END), chr(30) ORDER BY a."id")
               FROM "Answer" a WHERE a."responseSetId" = rs."id") AS "answers"
       FROM "ResponseSet" rs
      WHERE rs."instrumentId" = ? AND rs."respondent" = ? AND rs."participantId" IS NOT NULL
        AND rs."slot" IN (${slots}) AND rs."id" > ?
      ORDER BY rs."id" LIMIT ${Math.floor(q.limit)}`),
    },
    [q.instrumentId, q.respondent, ...q.slots, q.after],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), participantId: Number(r.participantId) }));
}

/** Sessions attended per participant (participants with attendance records only). */
export async function attendedCounts(db: Tx): Promise<Map<number, number>> {
  const rows = await txRows<{ participantId: number; attended: number }>(
    db,
    `SELECT "participantId" AS "participantId", SUM(CASE WHEN "present" THEN 1 ELSE 0 END) AS "attended" FROM "Attendance" GROUP BY "participantId"`,
  );
  return new Map(rows.map((r) => [Number(r.participantId), Number(r.attended)]));
}

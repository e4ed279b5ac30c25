// Reads what the effect report needs for one instrument: per participant, the answers at each
// timepoint, plus arm, gender and sessions attended. One pass over the answers with raw SQL, because
// a 10k-participant study has over a million answer rows and an ORM object per row is too slow.
import type { Db } from "../db/client.js";
import type { Instrument } from "../flows/model.js";

export interface ParticipantData {
  code: string;
  arm: string | null;
  gender: string;
  ageYears: number;
  /** timepoint → item → numeric value (null = skipped) */
  answers: Map<string, Map<string, number | null>>;
  /** Sessions attended, or null when the participant has no attendance records. */
  attended: number | null;
}

interface AnswerRow {
  participantId: number;
  slot: string;
  itemId: string;
  value: number | null;
  skipped: number | boolean;
}

export async function loadInstrumentData(db: Db, instrument: Instrument, timepoints: string[]): Promise<ParticipantData[]> {
  const participants = await db.participant.findMany({ select: { id: true, code: true, arm: true, gender: true, ageYears: true }, orderBy: { code: "asc" } });
  const byId = new Map<number, ParticipantData>();
  for (const p of participants) byId.set(p.id, { code: p.code, arm: p.arm, gender: p.gender, ageYears: p.ageYears, answers: new Map(), attended: null });
  const rows = await db.$queryRawUnsafe<AnswerRow[]>(
    `SELECT rs."participantId" AS participantId, rs."slot" AS slot, a."itemId" AS itemId, a."value" AS value, a."skipped" AS skipped
       FROM "Answer" a JOIN "ResponseSet" rs ON rs."id" = a."responseSetId"
      WHERE rs."instrumentId" = ? AND rs."respondent" = ? AND rs."participantId" IS NOT NULL
        AND rs."slot" IN (${timepoints.map(() => "?").join(",")})`,
    instrument.id,
    instrument.respondent,
    ...timepoints,
  );
  for (const r of rows) {
    const p = byId.get(Number(r.participantId));
    if (!p) continue;
    let tp = p.answers.get(r.slot);
    if (!tp) p.answers.set(r.slot, (tp = new Map()));
    const skipped = r.skipped === true || r.skipped === 1;
    tp.set(r.itemId, skipped || r.value === null ? null : Number(r.value));
  }
  const attendance = await db.$queryRawUnsafe<{ participantId: number; attended: number }[]>(
    `SELECT "participantId" AS participantId, SUM(CASE WHEN "present" THEN 1 ELSE 0 END) AS attended FROM "Attendance" GROUP BY "participantId"`,
  );
  for (const a of attendance) {
    const p = byId.get(Number(a.participantId));
    if (p) p.attended = Number(a.attended);
  }
  return [...byId.values()];
}

// Reads what the effect report needs for one instrument: per participant, the answers at each
// timepoint, plus arm, gender and sessions attended. One pass over the answers with raw SQL, because
// a 10k-participant study has over a million answer rows and an ORM object per row is too slow;
// SQLite packs each response set's answers into one string, so the driver hands over one row per
// response set (10k participants: 20k rows instead of 1.2M; about 5× faster, a quarter of the peak
// memory — see `npm run bench`).
import { readSnapshot, type Db, type Tx } from "../db/client.js";
import { attendedCounts, packedResponseSets } from "../store/instrument-data.js";
import type { Instrument } from "../study/model.js";

export interface ParticipantData {
  code: string;
  arm: string | null;
  gender: string;
  ageYears: number;
  /**
   * timepoint → numeric values in the instrument's item order, NaN where unanswered or skipped.
   * Typed arrays keep a 10k-participant study's 1.2M answers in ~10 MB instead of ~50 MB of
   * objects; `answersRecord` gives the plain record scoring takes, one participant at a time.
   */
  answers: Map<string, Float64Array>;
  /** Sessions attended, or null when the participant has no attendance records. */
  attended: number | null;
}

const ANSWER_SEP = "\x1e";
const FIELD_SEP = "\x1f";

/**
 * A value rendered by SQLite's quote(): "NULL", a number that reads back as exactly the stored
 * double, or a quoted string (not written by Circle; read as Number() would read the raw value).
 */
function quotedValue(q: string): number | null {
  if (q === "NULL") return null;
  if (q.startsWith("'")) return Number(q.slice(1, -1).replaceAll("''", "'"));
  return Number(q);
}

/**
 * Reads in one snapshot on the read-only connection: every page belongs to the same moment, and a
 * 10k-participant report blocks no writer.
 */
export async function loadInstrumentData(
  db: Db,
  instrument: Instrument,
  timepoints: string[],
): Promise<ParticipantData[]> {
  return readSnapshot(db, (tx) => readInstrumentData(tx, instrument, timepoints));
}

async function readInstrumentData(
  db: Tx,
  instrument: Instrument,
  timepoints: string[],
): Promise<ParticipantData[]> {
  const participants = await db.participant.findMany({
    select: { id: true, code: true, arm: true, gender: true, ageYears: true },
    orderBy: { code: "asc" },
  });
  const byId = new Map<number, ParticipantData>();
  for (const p of participants)
    byId.set(p.id, {
      code: p.code,
      arm: p.arm,
      gender: p.gender,
      ageYears: p.ageYears,
      answers: new Map(),
      attended: null,
    });
  const itemIndex = new Map(instrument.items.map((it, i) => [it.id, i]));
  // Pages of response sets keep the driver's transient rows small (peak memory at 10k participants).
  const PAGE = 1000;
  for (let after = 0; ;) {
    const rows = await packedResponseSets(db, {
      instrumentId: instrument.id,
      respondent: instrument.respondent,
      slots: timepoints,
      after,
      limit: PAGE,
    });
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.id;
    for (const r of rows) {
      const p = byId.get(r.participantId);
      if (!p || r.answers === null) continue;
      let tp = p.answers.get(r.slot);
      if (!tp) p.answers.set(r.slot, (tp = new Float64Array(instrument.items.length).fill(NaN)));
      // indexOf/slice rather than split: no intermediate arrays for a million answers.
      const s = r.answers;
      for (let start = 0; start < s.length;) {
        let end = s.indexOf(ANSWER_SEP, start);
        if (end < 0) end = s.length;
        const f1 = s.indexOf(FIELD_SEP, start);
        const f2 = s.indexOf(FIELD_SEP, f1 + 1);
        const skipped = s.slice(f2 + 1, end) === "1";
        const index = itemIndex.get(s.slice(start, f1));
        const value = skipped ? null : quotedValue(s.slice(f1 + 1, f2));
        if (index !== undefined && value !== null) tp[index] = value;
        start = end + 1;
      }
    }
    if (rows.length < PAGE) break;
    // better-sqlite3 is synchronous: let the bot's chats in between pages.
    await new Promise<void>((r) => setImmediate(r));
  }
  for (const [participantId, attended] of await attendedCounts(db)) {
    const p = byId.get(participantId);
    if (p) p.attended = attended;
  }
  return [...byId.values()];
}

/** The record scoring takes (item id → value) from a participant's typed answers. */
export function answersRecord(
  instrument: Instrument,
  values: Float64Array,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v)) out[instrument.items[i]!.id] = v;
  }
  return out;
}

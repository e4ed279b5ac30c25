// Generates a finished study straight into SQLite for the report benchmark: N participants
// (half experimental, half control), pre and post answers to every item of one instrument
// (about 1% skipped), and attendance at six sessions for the experimental arm. One transaction
// with synchronous OFF: this is setup, not the thing measured.
import Database from "better-sqlite3";
import { migrateDatabase } from "../src/db/migrate.js";
import { sqlitePath } from "../src/db/url.js";
import type { Instrument } from "../src/study/model.js";
import { responseSetKey } from "../src/usecases/assignments.js";

/** Small deterministic PRNG (mulberry32), so every run generates the same study. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedStudy {
  participants: number;
  answers: number;
  ms: number;
}

export function generateStudy(
  url: string,
  instrument: Instrument,
  participants: number,
): GeneratedStudy {
  const t0 = performance.now();
  migrateDatabase(url);
  const sql = new Database(sqlitePath(url));
  sql.pragma("journal_mode = WAL");
  sql.pragma("synchronous = OFF");
  const random = rng(20261127);
  const at = "2026-01-15T09:00:00.000+00:00";
  const insertGroup = sql.prepare(`INSERT INTO "Group" (name, arm, createdAt) VALUES (?, ?, ?)`);
  const insertSession = sql.prepare(
    `INSERT INTO "GroupSession" (groupId, number, heldOn, status, createdAt) VALUES (?, ?, ?, 'closed', ?)`,
  );
  const insertParticipant = sql.prepare(
    `INSERT INTO "Participant" (code, arm, gender, ageYears, groupId, status, enrolledAt, createdAt) VALUES (?, ?, ?, ?, ?, 'consented', ?, ?)`,
  );
  const insertSet = sql.prepare(
    `INSERT INTO "ResponseSet" (key, participantId, slot, timepoint, instrumentId, instrumentVersion, instrumentHash, respondent, status, source, startedAt, completedAt, createdAt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'complete', 'telegram', ?, ?, ?)`,
  );
  const insertAnswer = sql.prepare(
    `INSERT INTO "Answer" (responseSetId, itemId, value, text, skipped, instrumentHash, respondent, childAnswered, source, accountId, answeredAt)
     VALUES (?, ?, ?, NULL, ?, ?, ?, 0, 'telegram', NULL, ?)`,
  );
  const insertAttendance = sql.prepare(
    `INSERT INTO "Attendance" (sessionId, participantId, present) VALUES (?, ?, ?)`,
  );
  let answers = 0;
  sql.transaction(() => {
    const groupId = Number(
      insertGroup.run("bench-experimental", "experimental", at).lastInsertRowid,
    );
    const sessions = [1, 2, 3, 4, 5, 6].map((n) =>
      Number(insertSession.run(groupId, n, at, at).lastInsertRowid),
    );
    for (let i = 0; i < participants; i++) {
      const arm = i % 2 === 0 ? "experimental" : "control";
      const code = `BR${String(i + 1).padStart(6, "0")}`;
      const pid = Number(
        insertParticipant.run(
          code,
          arm,
          random() < 0.5 ? "male" : "female",
          5 + Math.floor(random() * 10),
          arm === "experimental" ? groupId : null,
          at,
          at,
        ).lastInsertRowid,
      );
      const trait = (random() - 0.5) * 2;
      for (const slot of ["pre", "post"]) {
        const key = responseSetKey({
          participantId: pid,
          sessionId: null,
          slot,
          instrumentId: instrument.id,
          respondent: instrument.respondent,
        });
        const rsId = Number(
          insertSet.run(
            key,
            pid,
            slot,
            slot,
            instrument.id,
            instrument.version,
            instrument.hash,
            instrument.respondent,
            at,
            at,
            at,
          ).lastInsertRowid,
        );
        const gain = slot === "post" && arm === "experimental" ? 0.4 : 0;
        for (const item of instrument.items) {
          const skipped = random() < 0.01;
          const raw = 3 + trait + gain + (random() - 0.5) * 2.5;
          let v = Math.min(5, Math.max(1, Math.round(raw)));
          if (item.reverse) v = 6 - v;
          insertAnswer.run(
            rsId,
            item.id,
            skipped ? null : v,
            skipped ? 1 : 0,
            instrument.hash,
            instrument.respondent,
            at,
          );
          answers++;
        }
      }
      if (arm === "experimental")
        for (const s of sessions) insertAttendance.run(s, pid, random() < 0.8 ? 1 : 0);
    }
  })();
  sql.pragma("wal_checkpoint(TRUNCATE)");
  sql.close();
  return { participants, answers, ms: performance.now() - t0 };
}

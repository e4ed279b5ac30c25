// (e) The scheduler's planning pass at 1k and 5k families: the first pass (enqueues every
// reminder) and a steady-state pass (nothing new to enqueue, what runs every minute), with the
// number of database queries each pass made.
//
// The study is generated straight into SQLite: N consented families with a parent chat, the pre
// questionnaires assigned (a third not started, a third half answered, a third complete), and
// groups of ten with six dated sessions, half of them held and closed.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/env.js";
import { openDatabase, queryCount } from "../src/db/client.js";
import { migrateDatabase } from "../src/db/migrate.js";
import { sqlitePath } from "../src/db/url.js";
import type { LoadedFlows } from "../src/study/model.js";
import { loadFlows } from "../src/study/load.js";
import type { PlanDeps } from "../src/notify/ports.js";
import { planJobs } from "../src/scheduler/planner.js";
import { responseSetKey } from "../src/usecases/assignments.js";

export interface PlannerResult {
  families: number;
  firstMs: number;
  firstQueries: number;
  firstJobs: number;
  steadyMs: number;
  steadyQueries: number;
  steadyJobs: number;
}

const NOW = new Date("2030-03-04T09:00:00Z");

function generate(url: string, flows: LoadedFlows, families: number): void {
  migrateDatabase(url);
  const sql = new Database(sqlitePath(url));
  sql.pragma("journal_mode = WAL");
  sql.pragma("synchronous = OFF");
  const at = new Date(NOW.getTime() - 10 * 86_400_000).toISOString();
  const ins = (text: string) => sql.prepare(text);
  const group = ins(`INSERT INTO "Group" (name, arm, createdAt) VALUES (?, ?, ?)`);
  const session = ins(
    `INSERT INTO "GroupSession" (groupId, number, plannedOn, heldOn, status, createdAt) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const participant = ins(
    `INSERT INTO "Participant" (code, arm, gender, ageYears, groupId, status, enrolledAt, createdAt) VALUES (?, ?, ?, ?, ?, 'consented', ?, ?)`,
  );
  const account = ins(
    `INSERT INTO "Account" (telegramUserId, chatId, role, participantId, createdAt, active) VALUES (?, ?, 'parent', ?, ?, 1)`,
  );
  const consent = ins(
    `INSERT INTO "Consent" (participantId, kind, version, recordedByRole, decision, at) VALUES (?, ?, '1.0', 'parent', 'agree', ?)`,
  );
  const set = ins(
    `INSERT INTO "ResponseSet" (key, participantId, slot, timepoint, instrumentId, instrumentVersion, instrumentHash, respondent, status, source, startedAt, completedAt, createdAt)
     VALUES (?, ?, 'pre', 'pre', ?, ?, ?, ?, ?, 'telegram', ?, ?, ?)`,
  );
  const answer = ins(
    `INSERT INTO "Answer" (responseSetId, itemId, value, text, skipped, instrumentHash, respondent, childAnswered, source, accountId, answeredAt)
     VALUES (?, ?, ?, NULL, 0, ?, ?, 0, 'telegram', NULL, ?)`,
  );
  const pre = flows.study.assignments.timepoints.find((a) => a.timepoint === "pre")!;
  const instruments = [
    ...pre.parent.map((id) => flows.instruments.get(id)!),
    ...(pre.child ?? []).map((id) => flows.instruments.get(id)!),
  ];
  sql.transaction(() => {
    let groupId = 0;
    for (let i = 0; i < families; i++) {
      if (i % 10 === 0) {
        groupId = Number(group.run(`bench-${i / 10}`, "experimental", at).lastInsertRowid);
        for (let n = 1; n <= 6; n++) {
          const day = new Date(NOW.getTime() + (n - 4) * 7 * 86_400_000).toISOString();
          const held = n <= 3;
          session.run(groupId, n, day, held ? day : null, held ? "closed" : "planned", at);
        }
      }
      const pid = Number(
        participant.run(
          `BP${String(i).padStart(6, "0")}`,
          "experimental",
          i % 2 ? "male" : "female",
          8,
          groupId,
          at,
          at,
        ).lastInsertRowid,
      );
      account.run(String(900_000_000 + i), String(900_000_000 + i), pid, at);
      consent.run(pid, "consent", at);
      consent.run(pid, "assent", at);
      const stage = i % 3; // 0 not started, 1 half answered, 2 complete
      for (const instrument of instruments) {
        const key = responseSetKey({
          participantId: pid,
          sessionId: null,
          slot: "pre",
          instrumentId: instrument.id,
          respondent: instrument.respondent,
        });
        const status = stage === 0 ? "pending" : stage === 1 ? "in_progress" : "complete";
        const rs = Number(
          set.run(
            key,
            pid,
            instrument.id,
            instrument.version,
            instrument.hash,
            instrument.respondent,
            status,
            stage === 0 ? null : at,
            stage === 2 ? at : null,
            at,
          ).lastInsertRowid,
        );
        const items = instrument.items.filter((it) => it.options.length > 0);
        const answered =
          stage === 0 ? 0 : stage === 1 ? Math.floor(items.length / 2) : items.length;
        for (const it of items.slice(0, answered))
          answer.run(rs, it.id, it.options[0]!.value, instrument.hash, instrument.respondent, at);
      }
    }
  })();
  sql.pragma("wal_checkpoint(TRUNCATE)");
  sql.close();
}

export async function measurePlanner(sizes: number[]): Promise<PlannerResult[]> {
  const loaded = loadFlows({ flowsDir: "flows" });
  if (!loaded.ok) throw new Error(loaded.errors.join("\n"));
  const flows = loaded.flows;
  const out: PlannerResult[] = [];
  for (const families of sizes) {
    const dir = mkdtempSync(join(tmpdir(), "circle-bench-planner-"));
    try {
      const url = `file:${join(dir, "circle.db")}`;
      generate(url, flows, families);
      const db = await openDatabase(url);
      const config = loadConfig({ BOT_TOKEN: "1:BENCH", DATABASE_URL: url });
      const s: PlanDeps = { db, flows, config };
      const pass = async () => {
        const q0 = queryCount(db);
        const t0 = performance.now();
        const jobs = await planJobs(s, NOW);
        return { ms: performance.now() - t0, queries: queryCount(db) - q0, jobs };
      };
      const first = await pass();
      // A few steady passes; the median is what a minute of the scheduler costs.
      const steady = [await pass(), await pass(), await pass()].sort((a, b) => a.ms - b.ms)[1]!;
      out.push({
        families,
        firstMs: first.ms,
        firstQueries: first.queries,
        firstJobs: first.jobs,
        steadyMs: steady.ms,
        steadyQueries: steady.queries,
        steadyJobs: steady.jobs,
      });
      await db.$disconnect();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

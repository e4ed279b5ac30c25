// `circle import <answers.csv>`: paper questionnaires into the database, all or nothing. The file
// is checked against the flows first (src/analysis/import.ts, pure); then one transaction reads
// what is stored for the file's participants, checks the rows against it and, only when no row
// has a problem, writes them with their audit events. Checking and writing in one transaction
// keeps the import idempotent and all-or-nothing while the bot or another import writes too.
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import type { LoadedFlows } from "../study/model.js";
import {
  checkImportFile,
  importCodes,
  importErrors,
  planImport,
  storedSetKeys,
  type ImportPlan,
} from "../analysis/import.js";
import { responseSetKey } from "./assignments.js";

export interface ImportOptions {
  /** How the file is named in messages ("answers.csv:12: …"). */
  file: string;
  actor: AuditActor;
  now?: Date;
}

export interface ImportSummary {
  rows: number;
  participantsCreated: number;
  responseSetsCreated: number;
  responseSetsUpdated: number;
  answersImported: number;
  answersUnchanged: number;
}

export type ImportResult = { ok: true; summary: ImportSummary } | { ok: false; errors: string[] };

export async function importAnswers(
  db: Db,
  flows: LoadedFlows,
  text: string,
  opts: ImportOptions,
): Promise<ImportResult> {
  const checked = checkImportFile(flows, text);
  if (!checked.readable) return { ok: false, errors: importErrors(opts.file, checked.problems) };
  const { rows, problems } = checked;
  const now = opts.now ?? new Date();
  const summary = await db.$transaction(
    async (tx) => {
      const participants = await tx.participant.findMany({
        where: { code: { in: importCodes(rows) } },
      });
      const sets = await tx.responseSet.findMany({
        where: { key: { in: storedSetKeys(rows, participants) } },
        include: { answers: true },
      });
      const plan = planImport(flows, rows, { participants, sets }, problems);
      // Nothing has been written yet: a file with problems leaves an empty transaction.
      if (problems.length > 0) return null;
      return writeImport(
        tx,
        flows,
        plan,
        { ...opts, now },
        { rows: checked.dataRows, sha256: checked.sha256 },
      );
    },
    { timeout: 300_000, maxWait: 30_000 },
  );
  return summary ? { ok: true, summary } : { ok: false, errors: importErrors(opts.file, problems) };
}

async function writeImport(
  tx: Tx,
  flows: LoadedFlows,
  plan: ImportPlan,
  opts: ImportOptions & { now: Date },
  file: { rows: number; sha256: string },
): Promise<ImportSummary> {
  const { actor, now } = opts;
  const participantIds = new Map(plan.participantIds);
  for (const np of plan.newParticipants) {
    const p = await tx.participant.create({
      data: {
        code: np.code,
        arm: np.arm,
        gender: np.gender,
        ageYears: np.ageYears,
        status: np.status,
        enrolledAt: now,
        createdAt: now,
      },
    });
    participantIds.set(np.code, p.id);
    await audit(tx, {
      actor,
      action: "participant.add",
      entity: "Participant",
      entityId: p.id,
      at: now,
      data: {
        code: p.code,
        arm: p.arm,
        gender: p.gender,
        ageYears: p.ageYears,
        group: null,
        status: p.status,
        via: "import",
      },
    });
  }

  let created = 0;
  let updated = 0;
  let imported = 0;
  for (const s of plan.sets) {
    const ins = s.instrument;
    const status = s.complete ? "complete" : "in_progress";
    let id: number;
    if (s.existing) {
      id = s.existing.id;
      await tx.responseSet.update({
        where: { id },
        data: {
          status,
          source: "import",
          startedAt: s.existing.startedAt ?? now,
          completedAt: s.complete ? (s.existing.completedAt ?? now) : null,
        },
      });
      updated++;
    } else {
      const participantId = participantIds.get(s.code)!;
      const rs = await tx.responseSet.create({
        data: {
          key: responseSetKey({
            participantId,
            sessionId: null,
            slot: s.timepoint,
            instrumentId: ins.id,
            respondent: ins.respondent,
          }),
          participantId,
          sessionId: null,
          slot: s.timepoint,
          timepoint: s.timepoint,
          instrumentId: ins.id,
          instrumentVersion: ins.version,
          instrumentHash: ins.hash,
          respondent: ins.respondent,
          status,
          source: "import",
          startedAt: now,
          completedAt: s.complete ? now : null,
          createdAt: now,
        },
      });
      id = rs.id;
      created++;
    }
    await tx.answer.createMany({
      data: s.newAnswers.map(({ item, value }) => ({
        responseSetId: id,
        itemId: item.id,
        value: value.kind === "number" ? value.v : null,
        text: value.kind === "text" ? value.t : null,
        skipped: value.kind === "skip",
        instrumentHash: ins.hash,
        respondent: ins.respondent,
        childAnswered: ins.respondent === "child",
        source: "import",
        answeredAt: now,
      })),
    });
    imported += s.newAnswers.length;
  }

  const summary: ImportSummary = {
    rows: file.rows,
    participantsCreated: plan.newParticipants.length,
    responseSetsCreated: created,
    responseSetsUpdated: updated,
    answersImported: imported,
    answersUnchanged: plan.unchanged,
  };
  await audit(tx, {
    actor,
    action: "import",
    entity: "Import",
    entityId: file.sha256.slice(0, 16),
    at: now,
    data: { file: baseName(opts.file), sha256: file.sha256, flows: flows.study.id, ...summary },
  });
  return summary;
}

/** Only the file name goes into the audit trail: paths can carry a user's home directory. */
function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

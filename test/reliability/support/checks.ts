// What "nothing lost, nothing doubled, nothing corrupted" means in the database, checked after a
// reliability run against what the scripted families saw acknowledged.
import { engineOf, type Db } from "../../../src/db/client.js";
import type { LoadedFlows } from "../../../src/study/model.js";
import { verifyAuditChain } from "../../../src/store/audit.js";
import type { Family } from "./family.js";

export interface StoreSummary {
  answers: number;
  responseSets: number;
  auditEvents: number;
  processedUpdates: number;
}

/**
 * The database itself (on SQLite: the file is intact, in WAL mode, its foreign keys hold; on
 * PostgreSQL the server enforces the keys), and the audit hash chain is unbroken.
 */
export async function checkStore(db: Db): Promise<string[]> {
  const problems: string[] = [];
  if (engineOf(db) === "postgres") {
    const chain = await verifyAuditChain(db);
    if (!chain.ok) problems.push(`audit chain broken at ${JSON.stringify(chain.brokenAt)}`);
    return problems;
  }
  const integrity =
    await db.$queryRawUnsafe<{ integrity_check: string }[]>("PRAGMA integrity_check");
  if (integrity.map((r) => r.integrity_check).join() !== "ok")
    problems.push(`integrity_check: ${JSON.stringify(integrity)}`);
  const foreign = await db.$queryRawUnsafe<unknown[]>("PRAGMA foreign_key_check");
  if (foreign.length) problems.push(`foreign_key_check: ${foreign.length} violations`);
  const mode = await db.$queryRawUnsafe<{ journal_mode: string }[]>("PRAGMA journal_mode");
  if (mode[0]?.journal_mode !== "wal") problems.push(`journal_mode is ${mode[0]?.journal_mode}`);
  const chain = await verifyAuditChain(db);
  if (!chain.ok) problems.push(`audit chain broken at ${JSON.stringify(chain.brokenAt)}`);
  return problems;
}

export async function storeSummary(db: Db): Promise<StoreSummary> {
  return {
    answers: await db.answer.count(),
    responseSets: await db.responseSet.count(),
    auditEvents: await db.auditEvent.count(),
    processedUpdates: await db.processedUpdate.count(),
  };
}

/**
 * Per family: the stored answers are exactly the acknowledged ones (item and value), each saved
 * once (one row, one "answer.save" audit event, no corrections), consent and assent recorded
 * once, and every response set consistent: status vs answers, instrument hash, the snapshot of
 * the open conversation agreeing with the answer rows.
 */
export async function checkFamilies(
  db: Db,
  flows: LoadedFlows,
  families: Family[],
): Promise<string[]> {
  const problems: string[] = [];
  const saves = new Map<string, number>();
  for (const e of await db.auditEvent.findMany({
    where: { action: { in: ["answer.save", "answer.correct", "answer.drop-hidden"] } },
  })) {
    const id = e.entityId ?? "?";
    if (e.action !== "answer.save") problems.push(`unexpected audit ${e.action} for ${id}`);
    else saves.set(id, (saves.get(id) ?? 0) + 1);
  }
  for (const f of families) {
    const code = f.o.participant;
    const p = await db.participant.findUnique({
      where: { code },
      include: { responseSets: { include: { answers: true } }, consents: true },
    });
    if (!p) {
      problems.push(`${code}: participant missing`);
      continue;
    }
    const accounts = await db.account.findMany({ where: { participantId: p.id } });
    const enrolled = f.pos >= 1;
    if (accounts.length !== (enrolled ? 1 : 0))
      problems.push(`${code}: ${accounts.length} accounts`);
    const consents = p.consents.filter((c) => c.kind === "consent");
    const assents = p.consents.filter((c) => c.kind === "assent");
    if (consents.length !== (f.pos >= 2 ? 1 : 0))
      problems.push(`${code}: ${consents.length} consent rows at step ${f.pos}`);
    if (assents.length !== (f.pos >= 3 ? 1 : 0))
      problems.push(`${code}: ${assents.length} assent rows at step ${f.pos}`);
    if (f.pos >= 3 && p.status !== "consented")
      problems.push(`${code}: status ${p.status} after assent`);

    const seen = new Set<string>();
    for (const rs of p.responseSets) {
      const where = `${code} ${rs.instrumentId}/${rs.respondent}`;
      const instrument = flows.instruments.get(rs.instrumentId);
      if (!instrument) {
        problems.push(`${where}: unknown instrument`);
        continue;
      }
      seen.add(rs.instrumentId);
      if (rs.instrumentHash !== instrument.hash)
        problems.push(`${where}: set hash ${rs.instrumentHash} ≠ ${instrument.hash}`);
      const expected = f.acked.get(rs.instrumentId) ?? new Map<string, number>();
      const stored = new Map<string, number | null>();
      for (const a of rs.answers) {
        if (stored.has(a.itemId)) problems.push(`${where}: two rows for ${a.itemId}`);
        stored.set(a.itemId, a.skipped ? null : a.value);
        if (a.instrumentHash !== instrument.hash)
          problems.push(`${where} ${a.itemId}: answer hash differs`);
        if (a.respondent !== rs.respondent || a.childAnswered !== (rs.respondent === "child"))
          problems.push(`${where} ${a.itemId}: respondent fields wrong`);
        const n = saves.get(`${rs.id}:${a.itemId}`) ?? 0;
        if (n !== 1) problems.push(`${where} ${a.itemId}: ${n} answer.save audit events`);
      }
      for (const [item, value] of expected) {
        if (!stored.has(item)) problems.push(`${where}: acknowledged ${item}=${value} is missing`);
        else if (stored.get(item) !== value)
          problems.push(`${where}: ${item} stored ${stored.get(item)}, acknowledged ${value}`);
      }
      for (const item of stored.keys())
        if (!expected.has(item)) problems.push(`${where}: ${item} stored but never acknowledged`);
      const total = instrument.items.length;
      const complete = rs.answers.length === total;
      if (complete !== (rs.status === "complete"))
        problems.push(`${where}: status ${rs.status} with ${rs.answers.length}/${total} answers`);
      if (complete !== (rs.completedAt !== null))
        problems.push(
          `${where}: completedAt ${String(rs.completedAt)} with ${rs.answers.length}/${total}`,
        );
      if (rs.answers.length > 0 && (rs.status === "pending" || rs.startedAt === null))
        problems.push(`${where}: answers but status ${rs.status}`);
    }
    for (const instrumentId of f.acked.keys())
      if (!seen.has(instrumentId)) problems.push(`${code}: no response set for ${instrumentId}`);

    // The open questionnaire's snapshot was written with its answer in one transaction: they agree.
    for (const account of accounts) {
      const conv = await db.conversationState.findUnique({
        where: { accountId_kind: { accountId: account.id, kind: "questionnaire" } },
      });
      if (!conv?.responseSetId) continue;
      const rs = p.responseSets.find((r) => r.id === conv.responseSetId);
      if (!rs) {
        problems.push(`${code}: conversation points at another family's set`);
        continue;
      }
      let snapshot: { context?: { answers?: Record<string, unknown> } };
      try {
        snapshot = JSON.parse(conv.snapshot) as typeof snapshot;
      } catch {
        problems.push(`${code}: snapshot is not JSON`);
        continue;
      }
      const inSnapshot = snapshot.context?.answers ?? {};
      const inRows = Object.fromEntries(
        rs.answers.map((a) => [a.itemId, a.skipped ? null : a.value]),
      );
      if (JSON.stringify(sortKeys(inSnapshot)) !== JSON.stringify(sortKeys(inRows))) {
        problems.push(
          `${code}: snapshot answers ${JSON.stringify(inSnapshot)} ≠ rows ${JSON.stringify(inRows)}`,
        );
      }
    }
  }
  return problems;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

// Withdrawal (from the bot or the CLI): stops every prompt for the participant at once (their
// conversations end, unasked questionnaires go), records the time, and keeps or deletes the
// research data as the study file says. One audited transaction; idempotent. It never affects
// the child's care.
import type { Db, Tx } from "../db/client.js";
import { audit, type AuditActor } from "../store/audit.js";
import { withdrawalPlan, type WithdrawalPolicy } from "../domain/conversations/withdrawal.js";
import { commitNothing, type AlsoCommit } from "./commit.js";

/** Withdraws a participant; false when they had already withdrawn (nothing changes then). */
export async function withdrawParticipant(
  db: Db,
  participantId: number,
  policy: WithdrawalPolicy,
  actor: AuditActor,
  now: Date,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const done = await withdrawParticipantIn(tx, participantId, policy, actor, now);
    await alsoCommit(tx);
    return done;
  });
}

/** The withdrawal inside the caller's transaction (a conversation step's). */
export async function withdrawParticipantIn(
  tx: Tx,
  participantId: number,
  policy: WithdrawalPolicy,
  actor: AuditActor,
  now: Date,
): Promise<boolean> {
  const p = await tx.participant.findUniqueOrThrow({ where: { id: participantId } });
  const plan = withdrawalPlan(p.status, policy);
  if (!plan) return false;
  await tx.participant.update({
    where: { id: participantId },
    data: { status: plan.status, withdrawnAt: now },
  });
  const accounts = await tx.account.findMany({ where: { participantId }, select: { id: true } });
  await tx.conversationState.deleteMany({
    where: { accountId: { in: accounts.map((a) => a.id) } },
  });
  let deleted: Record<string, number> = {};
  if (plan.erase === "all") {
    const sets = await tx.responseSet.findMany({
      where: { participantId },
      select: { id: true },
    });
    const answers = await tx.answer.deleteMany({
      where: { responseSetId: { in: sets.map((x) => x.id) } },
    });
    const rs = await tx.responseSet.deleteMany({ where: { participantId } });
    const obs = await tx.observation.deleteMany({ where: { participantId } });
    const notes = await tx.note.deleteMany({ where: { participantId } });
    deleted = {
      answers: answers.count,
      responseSets: rs.count,
      observations: obs.count,
      notes: notes.count,
    };
  } else {
    await tx.responseSet.deleteMany({ where: { participantId, status: "pending" } });
  }
  await audit(tx, {
    actor,
    action: "participant.withdraw",
    entity: "Participant",
    entityId: participantId,
    at: now,
    data: { code: p.code, policy, deleted },
  });
  return true;
}

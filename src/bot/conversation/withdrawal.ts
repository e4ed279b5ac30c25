// Withdrawal: stops every prompt for the participant at once, records the time, and keeps or
// deletes the research data as the study file says. Audited; it never affects the child's care.
import type { Account } from "../../generated/prisma/client.js";
import type { Db } from "../../db/client.js";
import { audit, type AuditActor } from "../../audit/log.js";
import { t } from "../../flows/model.js";
import { encodeCallback } from "../callback-data.js";
import { localeOf, type Services } from "../services.js";
import type { MarkProcessed } from "./questionnaire.js";

export async function askWithdraw(s: Services, account: Account): Promise<void> {
  const locale = localeOf(s, account);
  if (account.role !== "parent" || !account.participantId) {
    await s.messenger.send(account.chatId!, s.tr(locale, "withdraw-not-parent"));
    return;
  }
  const policy = s.flows.study.withdrawal.text ? t(s.flows.study.withdrawal.text, locale) : "";
  await s.messenger.send(account.chatId!, s.tr(locale, "withdraw-confirm", { policy }), [
    [
      {
        text: s.tr(locale, "withdraw-yes"),
        callback_data: encodeCallback({ kind: "withdraw", confirm: true }),
      },
      {
        text: s.tr(locale, "withdraw-no"),
        callback_data: encodeCallback({ kind: "withdraw", confirm: false }),
      },
    ],
  ]);
}

/** Withdraws a participant (from the bot or the CLI). Idempotent. */
export async function withdrawParticipant(
  db: Db,
  participantId: number,
  policy: "keep" | "delete",
  actor: AuditActor,
  now: Date,
  markProcessed: MarkProcessed = async () => {},
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const p = await tx.participant.findUniqueOrThrow({ where: { id: participantId } });
    if (p.status === "withdrawn") return false;
    await tx.participant.update({
      where: { id: participantId },
      data: { status: "withdrawn", withdrawnAt: now },
    });
    const accounts = await tx.account.findMany({ where: { participantId }, select: { id: true } });
    await tx.conversationState.deleteMany({
      where: { accountId: { in: accounts.map((a) => a.id) } },
    });
    let deleted: Record<string, number> = {};
    if (policy === "delete") {
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
      // Keep what was collected; unanswered questionnaires are simply never asked.
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
    await markProcessed(tx);
    return true;
  });
}

export async function handleWithdrawPress(
  s: Services,
  account: Account,
  confirm: boolean,
  messageId: number | undefined,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  if (account.role !== "parent" || !account.participantId)
    return { toast: s.tr(locale, "toast-not-allowed") };
  if (messageId) await s.messenger.stripButtons(account.chatId!, messageId);
  if (!confirm) {
    await s.messenger.send(account.chatId!, s.tr(locale, "withdraw-kept"));
    return {};
  }
  await withdrawParticipant(
    s.db,
    account.participantId,
    s.flows.study.withdrawal.data,
    { kind: "account", accountId: account.id },
    s.now(),
    markProcessed,
  );
  await s.messenger.send(account.chatId!, s.tr(locale, "withdraw-done"));
  return {};
}

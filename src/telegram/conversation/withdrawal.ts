// `/withdraw` in the chat: the confirmation and its buttons. The steps are decided by
// src/domain/conversations/withdrawal.ts and the withdrawal itself is src/usecases/withdrawal.ts
// (also used by the CLI and tests, re-exported here for them); this module carries out the steps.
import type { Account } from "../../generated/prisma/client.js";
import { t } from "../../study/model.js";
import { withdrawalStep, type WithdrawalEvent } from "../../domain/conversations/withdrawal.js";
import { withdrawParticipant } from "../../usecases/withdrawal.js";
import { encodeCallback } from "../callback-data.js";
import { localeOf, type Services } from "../services.js";
import type { MarkProcessed } from "./questionnaire.js";

export { withdrawParticipant };

/** Carries out the steps in order; returns the toast for a refused button press. */
async function run(
  s: Services,
  account: Account,
  event: WithdrawalEvent,
  messageId: number | undefined,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const chatId = account.chatId!;
  for (const e of withdrawalStep(account, event, s.flows.study.withdrawal.data)) {
    switch (e.type) {
      case "refuse":
        if (event.type === "ANSWER") return { toast: s.tr(locale, "toast-not-allowed") };
        await s.messenger.send(chatId, s.tr(locale, "withdraw-not-parent"));
        break;
      case "ask": {
        const policy = s.flows.study.withdrawal.text
          ? t(s.flows.study.withdrawal.text, locale)
          : "";
        await s.messenger.send(chatId, s.tr(locale, "withdraw-confirm", { policy }), [
          e.buttons.map((b) => ({
            text: s.tr(locale, b.confirm ? "withdraw-yes" : "withdraw-no"),
            callback_data: encodeCallback({ kind: "withdraw", confirm: b.confirm }),
          })),
        ]);
        break;
      }
      case "strip-buttons":
        if (messageId) await s.messenger.stripButtons(chatId, messageId);
        break;
      case "withdraw":
        await withdrawParticipant(
          s.db,
          e.participantId,
          e.policy,
          { kind: "account", accountId: account.id },
          s.now(),
          markProcessed,
        );
        break;
      case "say":
        await s.messenger.send(
          chatId,
          s.tr(locale, e.what === "withdrawn" ? "withdraw-done" : "withdraw-kept"),
        );
        break;
    }
  }
  return {};
}

export async function askWithdraw(s: Services, account: Account): Promise<void> {
  await run(s, account, { type: "ASK" }, undefined, async () => {});
}

export async function handleWithdrawPress(
  s: Services,
  account: Account,
  confirm: boolean,
  messageId: number | undefined,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  return run(s, account, { type: "ANSWER", confirm }, messageId, markProcessed);
}

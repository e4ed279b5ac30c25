// `/withdraw` in the chat: the confirmation and its buttons. The step is the withdrawal kind
// (src/conversations/withdrawal.ts: the rules of src/domain/conversations/withdrawal.ts and the
// withdrawal of src/usecases/withdrawal.ts, committed with the processed update); this module
// parses the update, runs the step and renders its effects in order. The use case is re-exported
// here for the CLI and tests.
import type { Account } from "../../generated/prisma/client.js";
import { t } from "../../study/model.js";
import type { WithdrawalEvent } from "../../domain/conversations/withdrawal.js";
import { withdrawParticipant } from "../../usecases/withdrawal.js";
import { runOneStep } from "../../conversations/once.js";
import { withdrawalKind } from "../../conversations/withdrawal.js";
import { encodeCallback } from "../callback-data.js";
import { localeOf, type Services } from "../services.js";
import type { MarkProcessed } from "./questionnaire.js";
import { keyboardOf } from "./present.js";

export { withdrawParticipant };

/** Runs the step and presents its effects in order; returns the toast for a refused button press. */
async function run(
  s: Services,
  account: Account,
  event: WithdrawalEvent,
  messageId: number | undefined,
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const chatId = account.chatId!;
  const text = s.flows.study.withdrawal.text;
  const kind = withdrawalKind({
    account,
    policy: s.flows.study.withdrawal.data,
    policyText: text ? t(text, locale) : "",
    tr: (key, vars) => s.tr(locale, key, vars),
    now: () => s.now(),
  });
  for (const e of await runOneStep(kind, s.db, event, markProcessed)) {
    switch (e.type) {
      case "refuse":
        if (event.type === "ANSWER") return { toast: s.tr(locale, "toast-not-allowed") };
        await s.messenger.send(chatId, s.tr(locale, "withdraw-not-parent"));
        break;
      case "ask": {
        const screen = kind.view(e)!;
        // The confirmation carries no nonce: its buttons act whenever pressed (withdrawing twice
        // changes nothing).
        const keyboard = keyboardOf(screen, 0, (_nonce, b) =>
          encodeCallback({ kind: "withdraw", confirm: b.op === "y" }),
        );
        await s.messenger.send(chatId, screen.html, keyboard);
        break;
      }
      case "strip-buttons":
        if (messageId) await s.messenger.stripButtons(chatId, messageId);
        break;
      case "withdraw":
        // Committed by the step, with the processed update.
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

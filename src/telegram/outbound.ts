// The Telegram adapter's side of the outbox's ports (src/notify/ports.ts): the bot's Messenger
// sends, its translator words the texts, and the questionnaire conversation shows a family its
// next question. The scheduler is started with what this returns (wiring.ts).
import type { NotifyDeps } from "../notify/ports.js";
import { continueQuestionnaires } from "./conversation/questionnaire.js";
import { localeOf, type Services } from "./services.js";

export function notifyDeps(s: Services): NotifyDeps {
  return {
    db: s.db,
    flows: s.flows,
    config: s.config,
    logger: s.logger,
    // Read through, not copied: tests move the bot's clock after the scheduler was built.
    now: () => s.now(),
    outbound: s.messenger,
    tr: s.tr,
    localeOf: (account) => localeOf(s, account),
    showNextQuestion: async (account) => {
      await continueQuestionnaires(s, account);
    },
  };
}

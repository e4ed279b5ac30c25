// Enrolment by single-use invite, then parental consent and the child's assent, in the chat. The
// rules are in src/domain/conversations/enrolment.ts and the writes in src/usecases/{enrolment,
// consent}.ts; this module turns updates into their inputs and shows prompts and outcomes.
import type { Account } from "../../generated/prisma/client.js";
import { t } from "../../study/model.js";
import type { Role } from "../../usecases/invites.js";
import { consentView, type ConsentStep } from "../../domain/conversations/enrolment.js";
import {
  consentVersions,
  familyConsentStep,
  recordConsentDecision,
} from "../../usecases/consent.js";
import { redeemInvite as redeem } from "../../usecases/enrolment.js";
import { encodeCallback } from "../callback-data.js";
import { escapeHtml } from "../html.js";
import { negotiateLocale } from "../i18n.js";
import { localeOf, type Services } from "../services.js";
import { continueQuestionnaires, type MarkProcessed } from "./questionnaire.js";

export type { ConsentStep };

export async function consentStep(s: Services, participantId: number): Promise<ConsentStep> {
  return familyConsentStep(s.db, participantId);
}

export type RedeemOutcome =
  | { ok: true; account: Account; role: Role }
  | {
      ok: false;
      reason: "invalid" | "used" | "expired" | "throttled" | "already-enrolled";
      role?: string;
    };

/** `/start <code>` from a Telegram user. */
export async function redeemInvite(
  s: Services,
  from: { id: number; language_code?: string | undefined },
  chatId: number,
  code: string,
  markProcessed: MarkProcessed,
): Promise<RedeemOutcome> {
  const locale = negotiateLocale(
    from.language_code,
    s.flows.study.locales,
    s.flows.study.defaultLocale,
  );
  return redeem(
    s.db,
    { telegramUserId: String(from.id), chatId, code, locale },
    s.now(),
    markProcessed,
  );
}

/** Shows whatever the parent needs next: consent, assent, or their questionnaires. */
export async function nextParentStep(
  s: Services,
  account: Account,
  opts: { announceEmpty?: boolean } = {},
): Promise<void> {
  if (!account.participantId) return;
  const locale = localeOf(s, account);
  const view = consentView(
    await familyConsentStep(s.db, account.participantId),
    consentVersions(s.flows),
  );
  const study = s.flows.study;
  switch (view.kind) {
    case "ask": {
      const which = view.which;
      const text = which === "consent" ? study.consent.text : study.assent.text;
      const title = s.tr(locale, `${which}-title`, { version: view.version });
      const html =
        which === "consent"
          ? `${title}\n\n${escapeHtml(t(text, locale))}`
          : `${title}\n<i>${s.tr(locale, "assent-instructions")}</i>\n\n${escapeHtml(t(text, locale))}`;
      await s.messenger.send(account.chatId!, html, [
        view.buttons.map((b) => ({
          text: s.tr(locale, `${b.which}-${b.agree ? "agree" : "decline"}`),
          callback_data: encodeCallback({ kind: "consent", ...b }),
        })),
      ]);
      return;
    }
    case "declined":
      await s.messenger.send(account.chatId!, s.tr(locale, "status-declined"));
      return;
    case "withdrawn":
      await s.messenger.send(account.chatId!, s.tr(locale, "status-withdrawn"));
      return;
    case "questionnaires":
      await continueQuestionnaires(s, account, opts);
  }
}

/** Consent/assent button. Returns a toast when the press is stale (wrong step or version). */
export async function handleConsentPress(
  s: Services,
  account: Account,
  press: {
    which: "consent" | "assent";
    agree: boolean;
    version: string;
    messageId: number | undefined;
  },
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const locale = localeOf(s, account);
  const r = await recordConsentDecision(
    s.db,
    s.flows,
    { account, which: press.which, agree: press.agree, version: press.version },
    s.now(),
    markProcessed,
  );
  if (!r.ok)
    return {
      toast: s.tr(locale, r.reason === "not-allowed" ? "toast-not-allowed" : "toast-stale"),
    };
  if (press.messageId) {
    const key = `${press.which}-recorded-${r.decision}`;
    const title = s.tr(locale, `${press.which}-title`, { version: press.version });
    await s.messenger.edit(
      account.chatId!,
      press.messageId,
      `${title}\n\n<b>${s.tr(locale, key, { version: press.version })}</b>`,
    );
  }
  if (r.decision === "decline") {
    await s.messenger.send(account.chatId!, s.tr(locale, "declined-final"));
    return {};
  }
  await nextParentStep(s, account);
  return {};
}

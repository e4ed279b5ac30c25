// Enrolment by single-use invite, then parental consent and the child's assent, recorded
// separately (who, which text version, when in UTC). No questionnaire before both are given.
import type { Account } from "../../generated/prisma/client.js";
import { audit } from "../../audit/log.js";
import { t } from "../../flows/model.js";
import { openTimepoint } from "../../services/assignments.js";
import { checkInvite, markInviteUsed, type Role } from "../../services/invites.js";
import { encodeCallback } from "../callback-data.js";
import { escapeHtml } from "../html.js";
import { negotiateLocale } from "../i18n.js";
import { localeOf, type Services } from "../services.js";
import { continueQuestionnaires, type MarkProcessed } from "./questionnaire.js";

export type ConsentStep = "consent" | "assent" | "declined" | "done" | "withdrawn";

export async function consentStep(s: Services, participantId: number): Promise<ConsentStep> {
  const p = await s.db.participant.findUniqueOrThrow({ where: { id: participantId } });
  if (p.status === "withdrawn") return "withdrawn";
  const latest = async (kind: string) =>
    s.db.consent.findFirst({ where: { participantId, kind }, orderBy: { id: "desc" } });
  const consent = await latest("consent");
  if (!consent) return "consent";
  if (consent.decision !== "agree") return "declined";
  const assent = await latest("assent");
  if (!assent) return "assent";
  if (assent.decision !== "agree") return "declined";
  return "done";
}

export type RedeemOutcome =
  | { ok: true; account: Account; role: Role }
  | {
      ok: false;
      reason: "invalid" | "used" | "expired" | "throttled" | "already-enrolled";
      role?: string;
    };

export async function redeemInvite(
  s: Services,
  from: { id: number; language_code?: string | undefined },
  chatId: number,
  code: string,
  markProcessed: MarkProcessed,
): Promise<RedeemOutcome> {
  const existing = await s.db.account.findUnique({ where: { telegramUserId: String(from.id) } });
  const check = await checkInvite(s.db, code, chatId, s.now());
  if (!check.ok) return { ok: false, reason: check.reason };
  if (existing) {
    // One Telegram account holds one role; a facilitator may still be given more groups.
    if (
      existing.role === "facilitator" &&
      check.invite.role === "facilitator" &&
      check.invite.groupId
    ) {
      await s.db.$transaction(async (tx) => {
        if (!(await markInviteUsed(tx, check.invite.id, existing.id, s.now()))) return;
        await tx.groupFacilitator.upsert({
          where: { groupId_accountId: { groupId: check.invite.groupId!, accountId: existing.id } },
          create: { groupId: check.invite.groupId!, accountId: existing.id },
          update: {},
        });
        await audit(tx, {
          actor: { kind: "account", accountId: existing.id },
          action: "group.assign-facilitator",
          entity: "Group",
          entityId: check.invite.groupId,
          data: { via: "invite" },
        });
        await markProcessed(tx);
      });
      return { ok: true, account: existing, role: "facilitator" };
    }
    return { ok: false, reason: "already-enrolled", role: existing.role };
  }
  const locale = negotiateLocale(
    from.language_code,
    s.flows.study.locales,
    s.flows.study.defaultLocale,
  );
  const account = await s.db
    .$transaction(async (tx) => {
      const acc = await tx.account.create({
        data: {
          telegramUserId: String(from.id),
          chatId: String(chatId),
          role: check.invite.role,
          locale,
          participantId: check.invite.participantId,
        },
      });
      if (!(await markInviteUsed(tx, check.invite.id, acc.id, s.now()))) throw new InviteRace();
      if (check.invite.groupId) {
        await tx.groupFacilitator.create({
          data: { groupId: check.invite.groupId, accountId: acc.id },
        });
      }
      if (check.invite.participantId) {
        await tx.participant.update({
          where: { id: check.invite.participantId },
          data: { status: "enrolled", enrolledAt: s.now() },
        });
      }
      await audit(tx, {
        actor: { kind: "account", accountId: acc.id },
        action: "account.enrol",
        entity: "Account",
        entityId: acc.id,
        data: {
          role: check.invite.role,
          invite: check.invite.id,
          participant: check.invite.participantId,
        },
      });
      await markProcessed(tx);
      return acc;
    })
    .catch((e: unknown) => {
      if (e instanceof InviteRace) return null;
      throw e;
    });
  if (!account) return { ok: false, reason: "used" };
  return { ok: true, account, role: check.invite.role };
}

class InviteRace extends Error {}

/** Shows whatever the parent needs next: consent, assent, or their questionnaires. */
export async function nextParentStep(
  s: Services,
  account: Account,
  opts: { announceEmpty?: boolean } = {},
): Promise<void> {
  if (!account.participantId) return;
  const locale = localeOf(s, account);
  const step = await consentStep(s, account.participantId);
  const study = s.flows.study;
  if (step === "consent") {
    const html = `${s.tr(locale, "consent-title", { version: study.consent.version })}\n\n${escapeHtml(t(study.consent.text, locale))}`;
    await s.messenger.send(account.chatId!, html, [
      [
        {
          text: s.tr(locale, "consent-agree"),
          callback_data: encodeCallback({
            kind: "consent",
            which: "consent",
            agree: true,
            version: study.consent.version,
          }),
        },
        {
          text: s.tr(locale, "consent-decline"),
          callback_data: encodeCallback({
            kind: "consent",
            which: "consent",
            agree: false,
            version: study.consent.version,
          }),
        },
      ],
    ]);
    return;
  }
  if (step === "assent") {
    const html = `${s.tr(locale, "assent-title", { version: study.assent.version })}\n<i>${s.tr(locale, "assent-instructions")}</i>\n\n${escapeHtml(t(study.assent.text, locale))}`;
    await s.messenger.send(account.chatId!, html, [
      [
        {
          text: s.tr(locale, "assent-agree"),
          callback_data: encodeCallback({
            kind: "consent",
            which: "assent",
            agree: true,
            version: study.assent.version,
          }),
        },
        {
          text: s.tr(locale, "assent-decline"),
          callback_data: encodeCallback({
            kind: "consent",
            which: "assent",
            agree: false,
            version: study.assent.version,
          }),
        },
      ],
    ]);
    return;
  }
  if (step === "declined") {
    await s.messenger.send(account.chatId!, s.tr(locale, "status-declined"));
    return;
  }
  if (step === "withdrawn") {
    await s.messenger.send(account.chatId!, s.tr(locale, "status-withdrawn"));
    return;
  }
  await continueQuestionnaires(s, account, opts);
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
  if (account.role !== "parent" || !account.participantId)
    return { toast: s.tr(locale, "toast-not-allowed") };
  const step = await consentStep(s, account.participantId);
  const text = press.which === "consent" ? s.flows.study.consent : s.flows.study.assent;
  if (step !== press.which || press.version !== text.version)
    return { toast: s.tr(locale, "toast-stale") };
  const participantId = account.participantId;
  const now = s.now();
  await s.db.$transaction(async (tx) => {
    const c = await tx.consent.create({
      data: {
        participantId,
        kind: press.which,
        version: press.version,
        decision: press.agree ? "agree" : "decline",
        recordedByAccountId: account.id,
        recordedByRole: "parent",
        at: now,
      },
    });
    await audit(tx, {
      actor: { kind: "account", accountId: account.id },
      action: `${press.which}.record`,
      entity: "Consent",
      entityId: c.id,
      at: now,
      data: { participant: participantId, decision: c.decision, version: c.version },
    });
    if (!press.agree) {
      await tx.participant.update({ where: { id: participantId }, data: { status: "declined" } });
    } else if (press.which === "assent") {
      await tx.participant.update({ where: { id: participantId }, data: { status: "consented" } });
      // The first timepoint opens at consent; later ones open by the protocol (sessions, CLI).
      const first = s.flows.study.timepoints[0];
      if (first)
        await openTimepoint(tx, s.flows, participantId, first.id, {
          kind: "account",
          accountId: account.id,
        });
    }
    await markProcessed(tx);
  });
  if (press.messageId) {
    const key = `${press.which}-recorded-${press.agree ? "agree" : "decline"}`;
    const title = s.tr(locale, `${press.which}-title`, { version: press.version });
    await s.messenger.edit(
      account.chatId!,
      press.messageId,
      `${title}\n\n<b>${s.tr(locale, key, { version: press.version })}</b>`,
    );
  }
  if (!press.agree) {
    await s.messenger.send(account.chatId!, s.tr(locale, "declined-final"));
    return {};
  }
  await nextParentStep(s, account);
  return {};
}

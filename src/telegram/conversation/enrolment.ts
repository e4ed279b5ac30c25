// Enrolment by single-use invite, then parental consent and the child's assent, in the chat.
// Redeeming an invite is one use case call (src/usecases/enrolment.ts). Consent and assent run on
// the conversation runtime (src/conversations/runtime.ts) as the consent kind
// (src/conversations/consent.ts: the pure machine of src/domain/conversations/enrolment.ts, its
// prompts, and the decision written by src/usecases/consent.ts with the processed update); this
// module parses the update, calls the runtime and renders.
import type { Account } from "../../generated/prisma/client.js";
import type { Role } from "../../usecases/invites.js";
import {
  consentView,
  familyParticipant,
  type ConsentAnswer,
  type ConsentEffect,
  type ConsentKind,
  type ConsentState,
  type ConsentStep,
} from "../../domain/conversations/enrolment.js";
import { consentVersions, familyConsentStep } from "../../usecases/consent.js";
import { redeemInvite as redeem } from "../../usecases/enrolment.js";
import { conversationRuntime, type Outcome } from "../../conversations/runtime.js";
import { AGREE_OP, consentKind, type ConsentRejection } from "../../conversations/consent.js";
import { encodeCallback } from "../callback-data.js";
import { negotiateLocale } from "../i18n.js";
import { localeOf, type Services } from "../services.js";
import { continueQuestionnaires, type MarkProcessed } from "./questionnaire.js";
import { chatPresenter } from "./present.js";

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

/** The consent kind for this account, its runtime and where it is shown. */
function consentRuntime(s: Services, account: Account) {
  const locale = localeOf(s, account);
  const kind = consentKind({
    account,
    flows: s.flows,
    locale,
    tr: (key, vars) => s.tr(locale, key, vars),
    now: () => s.now(),
  });
  const rt = conversationRuntime(kind, { db: s.db, now: () => s.now() });
  const presenter = chatPresenter(s, account.chatId!, (nonce, b) =>
    encodeCallback({
      kind: "consent",
      nonce,
      which: b.arg === "assent" ? "assent" : "consent",
      agree: b.op === AGREE_OP,
    }),
  );
  return { kind, rt, presenter, locale };
}

type ConsentRuntime = ReturnType<typeof consentRuntime>;

/** Shows whatever the parent needs next: consent, assent, or their questionnaires. */
export async function nextParentStep(
  s: Services,
  account: Account,
  opts: { announceEmpty?: boolean } = {},
): Promise<void> {
  if (!account.participantId) return;
  const locale = localeOf(s, account);
  const step = await familyConsentStep(s.db, account.participantId);
  const view = consentView(step, consentVersions(s.flows));
  switch (view.kind) {
    case "ask": {
      // Asked afresh from the family's records: a prompt shown before moves on (its buttons go).
      const c = consentRuntime(s, account);
      const shown = await c.rt.load(account.id);
      const conv = await c.rt.start(account.id, c.kind.open(view.which)!);
      await c.rt.present(conv, c.presenter, { replacing: shown?.messageId ?? null });
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

/**
 * A button with no nonce, sent before consent ran on the conversation runtime (legacy callback
 * data bound to the text version). It is taken as a press on the family's conversation as it
 * stands, while no prompt of the runtime is live: none has been shown (the family was asked before
 * the upgrade; the conversation is started from their records here) or none is bound yet (a crash
 * between that start and the step). The step itself checks the prompt's step and text version and
 * commits with the same compare-and-set; afterwards the conversation has moved on, so the button
 * counts once.
 */
async function legacyPress(
  s: Services,
  c: ConsentRuntime,
  account: Account,
  answer: ConsentAnswer,
  markProcessed: MarkProcessed,
): Promise<Outcome<ConsentState, ConsentEffect, ConsentRejection>> {
  let conv = await c.rt.load(account.id);
  if (conv && conv.messageId !== null) return { status: "stale" };
  if (!conv) {
    const state = c.kind.open(await familyConsentStep(s.db, account.participantId!));
    // Checked before anything is written: a stale legacy button starts no conversation.
    if (!state || !c.kind.step(state, answer).ok) return { status: "stale" };
    conv = await c.rt.start(account.id, state);
  }
  return c.rt.step(conv, answer, markProcessed);
}

/** Consent/assent button. Returns a toast when the press is stale (wrong step, version or nonce). */
export async function handleConsentPress(
  s: Services,
  account: Account,
  press: {
    which: ConsentKind;
    agree: boolean;
    /** The conversation's nonce; absent on legacy buttons, which carry the text version. */
    nonce?: number | undefined;
    version?: string | undefined;
    messageId: number | undefined;
  },
  markProcessed: MarkProcessed,
): Promise<{ toast?: string }> {
  const c = consentRuntime(s, account);
  if (familyParticipant(account) === null) return { toast: s.tr(c.locale, "toast-not-allowed") };
  const answer: ConsentAnswer = {
    which: press.which,
    agree: press.agree,
    ...(press.version === undefined ? {} : { version: press.version }),
  };
  const out =
    press.nonce === undefined
      ? await legacyPress(s, c, account, answer, markProcessed)
      : await c.rt.press(
          account.id,
          { nonce: press.nonce, messageId: press.messageId },
          answer,
          markProcessed,
        );
  if (out.status === "rejected")
    return {
      toast: s.tr(c.locale, out.reason === "not-allowed" ? "toast-not-allowed" : "toast-stale"),
    };
  if (out.status === "stale") return { toast: s.tr(c.locale, "toast-stale") };
  const record = out.effects.find((e) => e.type === "record")!;
  if (press.messageId) {
    await s.messenger.edit(account.chatId!, press.messageId, c.kind.recorded(record).html);
  }
  if (!out.finished) await c.rt.present(out.conv, c.presenter);
  else if (out.conv.state.step === "declined")
    await s.messenger.send(account.chatId!, (await c.kind.view(out.conv.state)).html);
  else await nextParentStep(s, account);
  return {};
}

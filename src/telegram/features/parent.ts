// Parent commands and buttons: enrolment by /start <code>, consent, questionnaires, /status,
// /resume, /withdraw.
import { Composer } from "grammy";
import type { CircleContext } from "../context.js";
import type { Services } from "../services.js";
import { decodeCallback } from "../callback-data.js";
import { handleConsentPress, nextParentStep, redeemInvite } from "../conversation/enrolment.js";
import {
  handleQuestionnairePress,
  handleQuestionnaireText,
} from "../conversation/questionnaire.js";
import { showStatus } from "../conversation/status.js";
import { askWithdraw, handleWithdrawPress } from "../conversation/withdrawal.js";
import { setCommandsFor } from "../commands-menu.js";
import { pressedOn } from "../pressed-button.js";
import { participantStatus as readParticipantStatus } from "../../store/accounts.js";

/** The participant's status, read on every answer. */
async function participantStatus(
  s: Services,
  participantId: number,
): Promise<{ status: string } | null> {
  return readParticipantStatus(s.db, participantId);
}

export function parentFeature(): Composer<CircleContext> {
  const c = new Composer<CircleContext>();
  const priv = c.chatType("private");

  priv.command("start", async (ctx) => {
    const { s, locale } = ctx.circle;
    const code = ctx.match.trim();
    let account = ctx.circle.account;
    if (code) {
      const r = await redeemInvite(s, ctx.from, ctx.chat.id, code, ctx.circle.markProcessed);
      if (!r.ok) {
        if (r.reason === "already-enrolled") {
          await s.messenger.send(
            ctx.chat.id,
            s.tr(locale, "invite-already-enrolled", { role: s.tr(locale, `role-${r.role}`) }),
          );
        } else {
          await s.messenger.send(ctx.chat.id, s.tr(locale, `invite-${r.reason}`));
          return;
        }
      } else {
        account = r.account;
        ctx.circle.account = account;
        const loc = account.locale ?? locale;
        await setCommandsFor(s.api, s.tr, ctx.chat.id, account.role, loc);
        if (account.role !== "parent") {
          await s.messenger.send(
            ctx.chat.id,
            s.tr(loc, "enrolled-role", { role: s.tr(loc, `role-${account.role}`) }),
          );
          return;
        }
      }
    }
    if (!account) {
      await s.messenger.send(ctx.chat.id, s.tr(locale, "welcome-no-invite"));
      return;
    }
    if (account.role === "parent") await nextParentStep(s, account, { announceEmpty: true });
    else
      await s.messenger.send(
        ctx.chat.id,
        `${s.tr(locale, "welcome-back")} ${s.tr(locale, `help-${account.role}`)}`,
      );
  });

  const parentOnly = priv.filter((ctx) => ctx.circle.account?.role === "parent");
  parentOnly.command("resume", async (ctx) => {
    await nextParentStep(ctx.circle.s, ctx.circle.account!, { announceEmpty: true });
  });
  parentOnly.command("status", async (ctx) => showStatus(ctx.circle.s, ctx.circle.account!));
  parentOnly.command("withdraw", async (ctx) => askWithdraw(ctx.circle.s, ctx.circle.account!));

  // Buttons: questionnaire, consent, withdrawal. Answered here; a catch-all answers the rest.
  priv.on("callback_query:data", async (ctx, next) => {
    const d = decodeCallback(ctx.callbackQuery.data);
    const account = ctx.circle.account;
    if (!d || !account || (d.kind !== "q" && d.kind !== "consent" && d.kind !== "withdraw"))
      return next();
    // A facilitator's questionnaire is their session log's child: the facilitator feature answers it.
    if (d.kind === "q" && account.role === "facilitator") return next();
    const { s } = ctx.circle;
    // Bound to the chat the button was sent to: a press arriving from another chat is refused.
    const messageChat = ctx.callbackQuery.message?.chat.id;
    if (messageChat !== undefined && String(messageChat) !== account.chatId) {
      await s.messenger.toast(ctx.callbackQuery.id, s.tr(ctx.circle.locale, "toast-stale"));
      return;
    }
    // Withdrawal and legacy consent buttons carry no nonce: they count only on a message that
    // shows them.
    const noNonce = d.kind === "withdraw" || (d.kind === "consent" && d.nonce === undefined);
    if (noNonce && pressedOn(ctx.callbackQuery) === "not-shown") {
      await s.messenger.toast(ctx.callbackQuery.id, s.tr(ctx.circle.locale, "toast-stale"));
      return;
    }
    const messageId = ctx.callbackQuery.message?.message_id;
    let toast: string | undefined;
    if (d.kind === "q") {
      if (account.role !== "parent") toast = s.tr(ctx.circle.locale, "toast-not-allowed");
      else {
        const participant =
          account.role === "parent" && account.participantId
            ? await participantStatus(s, account.participantId)
            : null;
        if (account.role === "parent" && participant?.status !== "consented")
          toast = s.tr(ctx.circle.locale, "toast-stale");
        else
          toast = (
            await handleQuestionnairePress(
              s,
              account,
              {
                nonce: d.nonce,
                tag: d.tag,
                action: d.action,
                option: d.action === "a" ? d.option : undefined,
                messageId,
              },
              ctx.circle.markProcessed,
            )
          ).toast;
      }
    } else if (d.kind === "consent") {
      toast = (await handleConsentPress(s, account, { ...d, messageId }, ctx.circle.markProcessed))
        .toast;
    } else {
      toast = (
        await handleWithdrawPress(s, account, d.confirm, messageId, ctx.circle.markProcessed)
      ).toast;
    }
    await s.messenger.toast(ctx.callbackQuery.id, toast);
  });

  // Typed answers (number/text items), or anything typed while a button is expected or paused.
  parentOnly.on("message", async (ctx, next) => {
    const text = ctx.message.text;
    if (text?.startsWith("/")) return next();
    const { s } = ctx.circle;
    const account = ctx.circle.account!;
    const participant = account.participantId
      ? await participantStatus(s, account.participantId)
      : null;
    if (participant?.status !== "consented") {
      await nextParentStep(s, account);
      return;
    }
    const handled = await handleQuestionnaireText(
      s,
      account,
      text ?? null,
      ctx.circle.markProcessed,
    );
    if (!handled) await nextParentStep(s, account, { announceEmpty: true });
  });
  return c;
}

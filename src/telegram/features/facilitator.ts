// Facilitator commands and buttons: /session (log a group session), /note and /interview
// (qualitative notes), /nickname (private names for children, shown in this chat only). Every
// command and button refuses other roles; group membership is checked on every press.
import { Composer } from "grammy";
import type { Account } from "../../generated/prisma/client.js";
import { facilitatorGroups, nicknamesOf } from "../../usecases/groups.js";
import { setNickname } from "../../usecases/nicknames.js";
import type { CircleContext } from "../context.js";
import { decodeCallback } from "../callback-data.js";
import { escapeHtml } from "../html.js";
import { localeOf, type Services } from "../services.js";
import {
  handleQuestionnairePress,
  handleQuestionnaireText,
  type MarkProcessed,
} from "../conversation/questionnaire.js";
import {
  handleSessionPress,
  handleSessionText,
  hasOpenSessionLog,
  sessionLogChild,
  startSessionLog,
} from "../conversation/session-log.js";
import { handleNotePress, handleNoteText, startNote } from "../conversation/notes.js";

export const FACILITATOR_COMMANDS = ["session", "note", "interview", "nickname"] as const;
const NICKNAME_MAX = 24;

export function facilitatorFeature(_s: Services): Composer<CircleContext> {
  const c = new Composer<CircleContext>();
  const priv = c.chatType("private");

  /** The facilitator behind this update, or null after telling anyone else it is not for them. */
  const facilitator = async (ctx: CircleContext): Promise<Account | null> => {
    const { s, locale, account } = ctx.circle;
    if (account?.role === "facilitator") return account;
    await s.messenger.send(ctx.chat!.id, s.tr(locale, account ? "not-allowed" : "help-none"));
    return null;
  };

  priv.command("session", async (ctx) => {
    const account = await facilitator(ctx);
    if (account) await startSessionLog(ctx.circle.s, account);
  });
  priv.command("note", async (ctx) => {
    const account = await facilitator(ctx);
    if (account)
      await startNote(ctx.circle.s, account, "note", ctx.match, ctx.circle.markProcessed);
  });
  priv.command("interview", async (ctx) => {
    const account = await facilitator(ctx);
    if (account)
      await startNote(ctx.circle.s, account, "interview", ctx.match, ctx.circle.markProcessed);
  });
  priv.command("nickname", async (ctx) => {
    const account = await facilitator(ctx);
    if (account) await nickname(ctx.circle.s, account, ctx.match, ctx.circle.markProcessed);
  });

  // A facilitator's questionnaire buttons (an observation, the reflection): the session log's
  // child questionnaire, answered with the log as its owner. The parent feature passes them on.
  priv.on("callback_query:data", async (ctx, next) => {
    const d = decodeCallback(ctx.callbackQuery.data);
    const account = ctx.circle.account;
    if (d?.kind !== "q" || account?.role !== "facilitator") return next();
    const { s, locale } = ctx.circle;
    const messageChat = ctx.callbackQuery.message?.chat.id;
    let toast: string | undefined;
    if (messageChat !== undefined && String(messageChat) !== account.chatId)
      toast = s.tr(locale, "toast-stale");
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
            messageId: ctx.callbackQuery.message?.message_id,
          },
          ctx.circle.markProcessed,
          sessionLogChild(s, account),
        )
      ).toast;
    await s.messenger.toast(ctx.callbackQuery.id, toast);
  });

  priv.on("callback_query:data", async (ctx, next) => {
    const d = decodeCallback(ctx.callbackQuery.data);
    if (d?.kind !== "x" || (d.feature !== "ses" && d.feature !== "note")) return next();
    const { s, locale, account } = ctx.circle;
    const [nonce, op, arg] = d.parts;
    let toast: string | undefined;
    if (account?.role !== "facilitator") toast = s.tr(locale, "toast-not-allowed");
    else if (
      String(ctx.callbackQuery.message?.chat.id ?? account.chatId) !== account.chatId ||
      !nonce ||
      !/^\d{1,9}$/.test(nonce) ||
      !op
    ) {
      toast = s.tr(locale, "toast-stale");
    } else {
      const press = {
        nonce: Number(nonce),
        op,
        arg,
        messageId: ctx.callbackQuery.message?.message_id,
      };
      toast = (
        d.feature === "ses"
          ? await handleSessionPress(s, account, press, ctx.circle.markProcessed)
          : await handleNotePress(s, account, press, ctx.circle.markProcessed)
      ).toast;
    }
    await s.messenger.toast(ctx.callbackQuery.id, toast);
  });

  // Typed text: a note being written, then what the session log waits for (a reason, a date, a
  // corrected text), then a typed questionnaire answer (observation note, reflection prompts).
  priv
    .filter((ctx) => ctx.circle.account?.role === "facilitator")
    .on("message", async (ctx, next) => {
      const text = ctx.message.text ?? null;
      if (text?.startsWith("/")) return next();
      const { s, markProcessed } = ctx.circle;
      const account = ctx.circle.account!;
      if (await handleNoteText(s, account, text, markProcessed)) return;
      if (await handleSessionText(s, account, text, markProcessed)) return;
      if (
        await handleQuestionnaireText(s, account, text, markProcessed, sessionLogChild(s, account))
      )
        return;
      const locale = ctx.circle.locale;
      await s.messenger.send(
        ctx.chat.id,
        s.tr(
          locale,
          (await hasOpenSessionLog(s, account)) ? "fac-use-buttons" : "help-facilitator",
        ),
      );
    });
  return c;
}

/** `/nickname CODE Name` sets, `/nickname CODE` removes, `/nickname` lists. Only for children of one's own groups. */
async function nickname(
  s: Services,
  account: Account,
  args: string,
  markProcessed: MarkProcessed,
): Promise<void> {
  const locale = localeOf(s, account);
  const chat = account.chatId!;
  const groups = await facilitatorGroups(s.db, account.id);
  const kids = await s.db.participant.findMany({
    where: { groupId: { in: groups.map((g) => g.id) } },
    orderBy: { code: "asc" },
  });
  const [code, ...rest] = args.trim().split(/\s+/).filter(Boolean);
  if (!code) {
    const nicks = await nicknamesOf(s.db, account.id);
    const lines = kids
      .filter((k) => nicks.has(k.id))
      .map((k) => `${escapeHtml(k.code)} · ${escapeHtml(nicks.get(k.id)!)}`);
    await s.messenger.send(
      chat,
      `${s.tr(locale, "fac-nickname-usage")}${lines.length ? `\n\n${lines.join("\n")}` : ""}`,
    );
    return;
  }
  const kid = kids.find((k) => k.code.toLowerCase() === code.toLowerCase());
  if (!kid) {
    await s.messenger.send(chat, s.tr(locale, "fac-unknown-child", { code }));
    return;
  }
  const name = rest.join(" ").trim();
  if (name.length > NICKNAME_MAX) {
    await s.messenger.send(chat, s.tr(locale, "fac-nickname-too-long", { max: NICKNAME_MAX }));
    return;
  }
  await setNickname(
    s.db,
    { accountId: account.id, participant: { id: kid.id, code: kid.code }, name },
    markProcessed,
  );
  await s.messenger.send(
    chat,
    name
      ? s.tr(locale, "fac-nickname-set", { code: kid.code, name })
      : s.tr(locale, "fac-nickname-removed", { code: kid.code }),
  );
}

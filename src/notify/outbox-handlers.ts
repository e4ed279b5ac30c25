// What the outbox's jobs (outbox.ts) do when they come due. Each looks at the data as it is at
// send time: the family still consented and its parent's account active, the questionnaire still
// open, the facilitator still in the group, the rating still low. Texts, recipients and their
// order are those Circle used when it sent these messages inline from the facilitator's update.
// What the checks write (audit events, the alerts' jobs) is src/usecases/alerts.ts's.
import type { Account } from "../generated/prisma/client.js";
import type { Db } from "../db/client.js";
import { t } from "../study/model.js";
import { escapeHtml } from "../text/html.js";
import { nextFamilyResponseSet } from "../usecases/assignments.js";
import { checkSessionRating, flagDivergence } from "../usecases/alerts.js";
import {
  answerValues,
  comments,
  lowCheck,
  memberRating,
  sessionDivergence,
  stillFacilitates,
} from "../usecases/rating-facts.js";
import { childName } from "../usecases/sessions.js";
import type { Decision, Handler } from "./handlers.js";
import type { NotifyDeps } from "./ports.js";
import { jobPayload, stillHeld, type Job } from "../scheduler/jobs.js";
import {
  OUTBOX,
  type DivergenceAlertPayload,
  type DivergencePayload,
  type RatingAlertPayload,
  type RatingCheckPayload,
  type ReleaseQuestionPayload,
  type SessionOverPayload,
} from "../scheduler/outbox.js";

const skip = (reason: string): Decision => ({ kind: "skip", reason });
const OPEN = ["pending", "in_progress", "paused"];

// ---------------------------------------------------------------------------------------------
// Families

type Messageable = Account & { chatId: string };

function parentOf(a: Account | null, participantId: number): a is Messageable {
  return !!a && a.active && a.role === "parent" && a.participantId === participantId && !!a.chatId;
}

/** Whether what the close gave this family is still waiting to be answered. */
async function stillOpen(s: NotifyDeps, p: SessionOverPayload): Promise<boolean> {
  if (p.reason === "group-end")
    return (await nextFamilyResponseSet(s.db, s.flows, p.participantId)) !== null;
  const n = await s.db.responseSet.count({
    where: {
      participantId: p.participantId,
      sessionId: p.sessionId,
      respondent: { in: ["parent", "child"] },
      status: { in: OPEN },
    },
  });
  return n > 0;
}

/** A family in the middle of a questionnaire is only told; it continues where it is. */
async function answeringNow(db: Db, accountId: number): Promise<boolean> {
  const active = await db.conversationState.findUnique({
    where: { accountId_kind: { accountId, kind: "questionnaire" } },
  });
  if (!active?.responseSetId) return false;
  const rs = await db.responseSet.findUnique({
    where: { id: active.responseSetId },
    select: { status: true },
  });
  return rs?.status === "in_progress";
}

/** "Today's session is over" (or "the group has finished"), then the first question. */
const sessionOver: Handler = async (s, job) => {
  const p = jobPayload<SessionOverPayload>(job);
  const participant = await s.db.participant.findUnique({
    where: { id: p.participantId },
    select: { status: true },
  });
  if (participant?.status !== "consented")
    return skip(`participant ${participant?.status ?? "gone"}`);
  const account = await s.db.account.findUnique({ where: { id: p.accountId } });
  if (!parentOf(account, p.participantId)) return skip("parent account no longer active");
  if (!(await stillOpen(s, p))) return skip("questionnaire no longer open");
  const locale = s.localeOf(account);
  const head = s.tr(locale, p.reason === "session" ? "fam-session-over" : "fam-group-over", {
    number: p.number,
  });
  const to = { accountId: account.id, chatId: account.chatId };
  const messages = (await answeringNow(s.db, account.id))
    ? [{ ...to, html: `${head}\n${s.tr(locale, "fam-new-waiting")}` }]
    : [
        { ...to, html: head },
        {
          ...to,
          html: "",
          // The questionnaire's own first message (question or hand-off), from the account as it is now.
          deliver: async () => {
            const now = await s.db.account.findUnique({ where: { id: account.id } });
            if (parentOf(now, p.participantId)) await s.showNextQuestion(now);
          },
        },
      ];
  return {
    kind: "send",
    messages,
    async stillWanted() {
      const [pNow, aNow] = await Promise.all([
        s.db.participant.findUnique({ where: { id: p.participantId }, select: { status: true } }),
        s.db.account.findUnique({ where: { id: p.accountId } }),
      ]);
      return (
        pNow?.status === "consented" &&
        parentOf(aNow, p.participantId) &&
        (await stillOpen(s, p)) &&
        (await stillHeld(s.db, job))
      );
    },
    // No audit event: asking a family after a session was never audited (the questionnaires'
    // assignment is).
  };
};

/** The question of a set withdrawn again keeps no live buttons (its conversation already went with the close). */
const releaseQuestion: Handler = async (s, job) => {
  const p = jobPayload<ReleaseQuestionPayload>(job);
  const account = await s.db.account.findUnique({ where: { id: p.accountId } });
  if (!account?.chatId) return skip("no chat");
  const chatId = account.chatId;
  return {
    kind: "send",
    // An edit makes no sound: quiet hours need not hold it back.
    silent: true,
    messages: [
      {
        accountId: account.id,
        chatId,
        html: "",
        deliver: () => s.outbound.stripButtons(chatId, p.messageId),
      },
    ],
    stillWanted: () => stillHeld(s.db, job),
  };
};

// ---------------------------------------------------------------------------------------------
// Facilitators

function shortText(text: string, max = 48): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A completed family rating (or the facilitator's reflection): decided once per response set,
 * in one transaction with its audit events (src/usecases/alerts.ts).
 */
const ratingCheck: Handler = async (s, job) => {
  const { responseSetId } = jobPayload<RatingCheckPayload>(job);
  return { kind: "fanout", run: (tx, now) => checkSessionRating(tx, s.flows, responseSetId, now) };
};

/** Re-checks shared by a facilitator's copy of an alert about one family's rating. */
async function ratingAlertTarget(s: NotifyDeps, job: Job) {
  const p = jobPayload<RatingAlertPayload>(job);
  const rating = await memberRating(s.flows, s.db, p.responseSetId);
  if (!rating) return { skip: "rating gone" } as const;
  if (rating.participant.status !== "consented")
    return { skip: `participant ${rating.participant.status}` } as const;
  const account = await stillFacilitates(s.db, p.accountId, rating.session.groupId);
  if (!account) return { skip: "no longer a facilitator of the group" } as const;
  const wanted = async () => {
    const [participant, still] = await Promise.all([
      s.db.participant.findUnique({
        where: { id: rating.participant.id },
        select: { status: true },
      }),
      stillFacilitates(s.db, account.id, rating.session.groupId),
    ]);
    return participant?.status === "consented" && !!still && (await stillHeld(s.db, job));
  };
  return { rating, account, wanted } as const;
}

const lowRating: Handler = async (s, job) => {
  const target = await ratingAlertTarget(s, job);
  if ("skip" in target) return skip(target.skip!);
  const { rating, account, wanted } = target;
  const { participant, session, instrument } = rating;
  const check = lowCheck(s.flows, instrument, await answerValues(s.db, rating.rs.id));
  if (!check?.alert) return skip("the rating is no longer low");
  const th = s.flows.study.thresholds;
  const locale = s.localeOf(account);
  const lows = check.low.map((l) => {
    const item = instrument.items.find((i) => i.id === l.itemId)!;
    return s.tr(locale, "fac-alert-low-item", {
      item: shortText(t(item.text, locale)),
      value: l.value,
    });
  });
  const html = [
    s.tr(locale, "fac-alert-low", {
      child: await childName(s.db, account.id, participant.id, participant.code),
      group: session.group.name,
      number: session.number,
      total: check.total ?? "—",
      max: check.max,
    }),
    ...lows,
    "",
    s.tr(locale, "fac-alert-low-hint", {
      threshold: th.satisfactionTotalBelow,
      item: th.satisfactionItemBelow,
    }),
  ].join("\n");
  return {
    kind: "send",
    messages: [{ accountId: account.id, chatId: account.chatId, html }],
    stillWanted: wanted,
  };
};

/** What a family wrote for the group leader reaches the group's facilitators (and only them). */
const comment: Handler = async (s, job) => {
  const target = await ratingAlertTarget(s, job);
  if ("skip" in target) return skip(target.skip!);
  const { rating, account, wanted } = target;
  const { participant, session, instrument } = rating;
  const texts = await comments(s.db, instrument, rating.rs.id);
  if (texts.length === 0) return skip("no comment any more");
  const locale = s.localeOf(account);
  const html = [
    s.tr(locale, "fac-family-comment", {
      child: await childName(s.db, account.id, participant.id, participant.code),
      group: session.group.name,
      number: session.number,
    }),
    ...texts.map((c) => `<i>${escapeHtml(c)}</i>`),
  ].join("\n");
  return {
    kind: "send",
    messages: [{ accountId: account.id, chatId: account.chatId, html }],
    stillWanted: wanted,
  };
};

/** A session's ratings diverge from the facilitator's: audited once, then one alert per facilitator. */
const divergenceFlag: Handler = async (s, job) => {
  const { sessionId } = jobPayload<DivergencePayload>(job);
  return { kind: "fanout", run: (tx, now) => flagDivergence(tx, s.flows, sessionId, now) };
};

/** One facilitator's divergence alert, with the numbers as they stand when it is sent. */
const divergenceAlert: Handler = async (s, job) => {
  const p = jobPayload<DivergenceAlertPayload>(job);
  const div = await sessionDivergence(s.flows, s.db, p.sessionId);
  if (!div) return skip("nothing to compare any more");
  if (!div.d.flagged) return skip("the ratings no longer diverge");
  const { session, d, own, max, overallItem, totals, maxTotal } = div;
  const account = await stillFacilitates(s.db, p.accountId, session.groupId);
  if (!account) return skip("no longer a facilitator of the group");
  const locale = s.localeOf(account);
  const option = overallItem.options.find((x) => x.value === own);
  const html = s.tr(
    locale,
    d.diff > 0 ? "fac-alert-divergence-higher" : "fac-alert-divergence-lower",
    {
      group: session.group.name,
      number: session.number,
      own: option ? t(option.label, locale) : String(own),
      ownValue: own,
      ownMax: max,
      mean: d.mean.toFixed(1),
      maxTotal,
      responses: totals.length,
    },
  );
  return {
    kind: "send",
    messages: [{ accountId: account.id, chatId: account.chatId, html }],
    async stillWanted() {
      return (
        !!(await stillFacilitates(s.db, account.id, session.groupId)) &&
        (await stillHeld(s.db, job))
      );
    },
  };
};

export const outboxHandlers: Record<string, Handler> = {
  [OUTBOX.sessionOver]: sessionOver,
  [OUTBOX.releaseQuestion]: releaseQuestion,
  [OUTBOX.ratingCheck]: ratingCheck,
  [OUTBOX.lowRating]: lowRating,
  [OUTBOX.comment]: comment,
  [OUTBOX.divergence]: divergenceFlag,
  [OUTBOX.divergenceAlert]: divergenceAlert,
};

// What the outbox's jobs (outbox.ts) do when they come due. Each looks at the data as it is at
// send time: the family still consented and its parent's account active, the questionnaire still
// open, the facilitator still in the group, the rating still low. Texts, recipients and their
// order are those Circle used when it sent these messages inline from the facilitator's update.
import type { Account } from "../generated/prisma/client.js";
import type { Db, Tx } from "../db/client.js";
import { audit } from "../store/audit.js";
import { t, type Instrument, type Item } from "../study/model.js";
import { continueQuestionnaires } from "../telegram/conversation/questionnaire.js";
import { nextFamilyResponseSet } from "../usecases/assignments.js";
import { escapeHtml } from "../telegram/html.js";
import { localeOf, type Services } from "../telegram/services.js";
import { childName, isMemberRating, isReflectionSet } from "../usecases/sessions.js";
import { checkRating, divergence, ratingItems } from "../domain/satisfaction.js";
import type { Decision, Handler } from "./handlers.js";
import { enqueueJobs, jobPayload, stillHeld, type Job, type JobInput } from "../scheduler/jobs.js";
import {
  commentKey,
  divergenceAlertKey,
  divergenceKey,
  lowRatingKey,
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
const nothingToRecord = async () => {};

// ---------------------------------------------------------------------------------------------
// Families

type Messageable = Account & { chatId: string };

function parentOf(a: Account | null, participantId: number): a is Messageable {
  return !!a && a.active && a.role === "parent" && a.participantId === participantId && !!a.chatId;
}

/** Whether what the close gave this family is still waiting to be answered. */
async function stillOpen(s: Services, p: SessionOverPayload): Promise<boolean> {
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
  const locale = localeOf(s, account);
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
            if (parentOf(now, p.participantId)) await continueQuestionnaires(s, now);
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
    // Asking a family after a session was never audited (the questionnaires' assignment is).
    record: nothingToRecord,
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
        deliver: () => s.messenger.stripButtons(chatId, p.messageId).then(() => {}),
      },
    ],
    stillWanted: () => stillHeld(s.db, job),
    record: nothingToRecord,
  };
};

// ---------------------------------------------------------------------------------------------
// Facilitators

/** The group's facilitators who can be messaged, in account order (who the alerts always went to). */
async function groupFacilitators(db: Tx, groupId: number): Promise<Messageable[]> {
  const rows = await db.groupFacilitator.findMany({
    where: { groupId },
    include: { account: true },
    orderBy: { accountId: "asc" },
  });
  return rows.map((r) => r.account).filter(isMessageableFacilitator);
}

function isMessageableFacilitator(a: Account): a is Messageable {
  return a.active && a.role === "facilitator" && !!a.chatId;
}

/** The facilitator still leads the group and can be messaged. */
async function stillFacilitates(
  db: Db,
  accountId: number,
  groupId: number,
): Promise<Messageable | null> {
  const link = await db.groupFacilitator.findUnique({
    where: { groupId_accountId: { groupId, accountId } },
    include: { account: true },
  });
  return link && isMessageableFacilitator(link.account) ? link.account : null;
}

async function answerValues(db: Tx, responseSetId: number): Promise<Map<string, number | null>> {
  const rows = await db.answer.findMany({ where: { responseSetId } });
  return new Map(rows.map((r) => [r.itemId, r.skipped ? null : r.value]));
}

function shortText(text: string, max = 48): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A completed family rating, with what its alerts need; null when it no longer counts. */
async function memberRating(s: Services, db: Tx, responseSetId: number) {
  const rs = await db.responseSet.findUnique({
    where: { id: responseSetId },
    include: { participant: true, session: { include: { group: true } } },
  });
  if (!rs?.session || !rs.participant || rs.status !== "complete") return null;
  if (!isMemberRating(s.flows, rs)) return null;
  const instrument = s.flows.instruments.get(rs.instrumentId);
  if (!instrument) return null;
  return { rs, participant: rs.participant, session: rs.session, instrument };
}

function lowCheck(s: Services, instrument: Instrument, values: Map<string, number | null>) {
  const items = ratingItems(instrument.items);
  return items ? checkRating(items, values, s.flows.study.thresholds) : null;
}

/** The comments a family wrote for the group leader (the instrument's answered text items). */
async function comments(db: Tx, instrument: Instrument, responseSetId: number) {
  const textItems = new Set(instrument.items.filter((i) => i.type === "text").map((i) => i.id));
  const answers = await db.answer.findMany({
    where: { responseSetId, skipped: false, text: { not: null } },
    orderBy: { id: "asc" },
  });
  return answers.filter((a) => textItems.has(a.itemId) && a.text).map((a) => a.text!);
}

/** The facilitator's own overall rating against the families' mean total, as the data stands. */
async function sessionDivergence(s: Services, db: Tx, sessionId: number) {
  const flows = s.flows;
  const session = await db.groupSession.findUnique({
    where: { id: sessionId },
    include: { group: true },
  });
  if (!session) return null;
  const refl = await db.responseSet.findFirst({
    where: { sessionId, respondent: "facilitator", participantId: null, status: "complete" },
  });
  const reflIns = refl ? flows.instruments.get(refl.instrumentId) : undefined;
  const overallItem = reflIns?.items.find((i) => i.id === "overall" && i.type !== "text");
  if (!refl || !overallItem) return null;
  const own = (await answerValues(db, refl.id)).get("overall");
  if (own === undefined || own === null) return null;
  const after = flows.study.assignments.afterSession;
  const sets = await db.responseSet.findMany({
    where: {
      sessionId,
      status: "complete",
      OR: [
        { respondent: "parent", instrumentId: { in: after.parent } },
        { respondent: "child", instrumentId: { in: after.child } },
      ],
    },
    orderBy: { id: "asc" },
  });
  const totals: number[] = [];
  let maxTotal = 0;
  for (const m of sets) {
    const ins = flows.instruments.get(m.instrumentId);
    const check = ins ? lowCheck(s, ins, await answerValues(db, m.id)) : null;
    if (!check || check.total === null) continue;
    totals.push(check.total);
    maxTotal = check.max;
  }
  const [min, max] = scaleOf(overallItem);
  // One member response is enough to flag: with groups of five or so, waiting for more would often
  // mean never flagging. The message says on how many responses it rests.
  const d = divergence(
    { value: own, min, max },
    totals,
    maxTotal,
    flows.study.thresholds.divergence,
  );
  if (!d) return null;
  return { session, own, max, overallItem, totals, maxTotal, d };
}

function scaleOf(item: Item): [number, number] {
  return item.type === "choice"
    ? [Math.min(...item.options.map((o) => o.value)), Math.max(...item.options.map((o) => o.value))]
    : [item.min ?? 0, item.max ?? 1];
}

/**
 * A completed family rating (or the facilitator's reflection): decided once per response set,
 * in one transaction with its audit events. A low rating is audited and each of the group's
 * facilitators gets an alert job, then each gets the family's comments; a divergence is
 * flagged once per session (its key), however many ratings find it.
 */
const ratingCheck: Handler = async (s, job) => {
  const { responseSetId } = jobPayload<RatingCheckPayload>(job);
  return {
    kind: "fanout",
    async run(tx, now) {
      const rs = await tx.responseSet.findUnique({ where: { id: responseSetId } });
      if (!rs || rs.sessionId === null || rs.status !== "complete") return;
      const jobs: JobInput[] = [];
      const rating = await memberRating(s, tx, responseSetId);
      if (rating) {
        const { session, participant, instrument } = rating;
        const facilitators = await groupFacilitators(tx, session.groupId);
        const check = lowCheck(s, instrument, await answerValues(tx, responseSetId));
        if (check?.alert) {
          await audit(tx, {
            actor: { kind: "system" },
            action: "alert.low-rating",
            entity: "ResponseSet",
            entityId: responseSetId,
            at: now,
            data: {
              participant: participant.code,
              group: session.group.name,
              session: session.number,
              total: check.total,
              low: check.low,
            },
          });
          for (const f of facilitators)
            jobs.push(alertJob(OUTBOX.lowRating, lowRatingKey(responseSetId, f.id), now, f.id));
        }
        if ((await comments(tx, instrument, responseSetId)).length > 0)
          for (const f of facilitators)
            jobs.push(alertJob(OUTBOX.comment, commentKey(responseSetId, f.id), now, f.id));
      }
      if (rating || isReflectionSet(s.flows, rs)) {
        const div = await sessionDivergence(s, tx, rs.sessionId);
        if (div?.d.flagged)
          jobs.push({
            kind: OUTBOX.divergence,
            dueAt: now,
            dedupeKey: divergenceKey(rs.sessionId),
            payload: { sessionId: rs.sessionId } satisfies DivergencePayload,
          });
      }
      await enqueueJobs(tx, jobs);
    },
  };

  function alertJob(kind: string, dedupeKey: string, now: Date, accountId: number): JobInput {
    return {
      kind,
      dueAt: now,
      dedupeKey,
      payload: { responseSetId, accountId } satisfies RatingAlertPayload,
    };
  }
};

/** Re-checks shared by a facilitator's copy of an alert about one family's rating. */
async function ratingAlertTarget(s: Services, job: Job) {
  const p = jobPayload<RatingAlertPayload>(job);
  const rating = await memberRating(s, s.db, p.responseSetId);
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
  const check = lowCheck(s, instrument, await answerValues(s.db, rating.rs.id));
  if (!check?.alert) return skip("the rating is no longer low");
  const th = s.flows.study.thresholds;
  const locale = localeOf(s, account);
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
    record: nothingToRecord,
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
  const locale = localeOf(s, account);
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
    record: nothingToRecord,
  };
};

/** A session's ratings diverge from the facilitator's: audited once, then one alert per facilitator. */
const divergenceFlag: Handler = async (s, job) => {
  const { sessionId } = jobPayload<DivergencePayload>(job);
  return {
    kind: "fanout",
    async run(tx, now) {
      const div = await sessionDivergence(s, tx, sessionId);
      if (!div?.d.flagged) return;
      const { session, d, own, totals } = div;
      await audit(tx, {
        actor: { kind: "system" },
        action: "alert.divergence",
        entity: "GroupSession",
        entityId: session.id,
        at: now,
        data: {
          group: session.group.name,
          session: session.number,
          facilitator: own,
          membersMean: d.mean,
          responses: totals.length,
          diff: Number(d.diff.toFixed(3)),
        },
      });
      const facilitators = await groupFacilitators(tx, session.groupId);
      await enqueueJobs(
        tx,
        facilitators.map((f) => ({
          kind: OUTBOX.divergenceAlert,
          dueAt: now,
          dedupeKey: divergenceAlertKey(session.id, f.id),
          payload: { sessionId: session.id, accountId: f.id } satisfies DivergenceAlertPayload,
        })),
      );
    },
  };
};

/** One facilitator's divergence alert, with the numbers as they stand when it is sent. */
const divergenceAlert: Handler = async (s, job) => {
  const p = jobPayload<DivergenceAlertPayload>(job);
  const div = await sessionDivergence(s, s.db, p.sessionId);
  if (!div) return skip("nothing to compare any more");
  if (!div.d.flagged) return skip("the ratings no longer diverge");
  const { session, d, own, max, overallItem, totals, maxTotal } = div;
  const account = await stillFacilitates(s.db, p.accountId, session.groupId);
  if (!account) return skip("no longer a facilitator of the group");
  const locale = localeOf(s, account);
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
    record: nothingToRecord,
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

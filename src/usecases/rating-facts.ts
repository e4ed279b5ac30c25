// What the facilitators' alerts about session ratings rest on, read as the data stands: a family's
// completed rating and whether it is low, its comments, the facilitator's own rating against the
// families' totals, and who leads the group. Read twice on purpose: when the rating check decides
// which alerts to enqueue (src/usecases/alerts.ts, in its transaction) and again when each alert
// is rendered at send time (src/notify/outbox-handlers.ts), so an alert says what is true then.
import type { Db, Tx } from "../db/client.js";
import type { Instrument, Item, LoadedFlows } from "../study/model.js";
import { checkRating, divergence, ratingItems } from "../domain/satisfaction.js";
import { isMemberRating } from "./sessions.js";

interface AccountFacts {
  active: boolean;
  role: string;
  chatId: string | null;
}

function isMessageableFacilitator<A extends AccountFacts>(a: A): a is A & { chatId: string } {
  return a.active && a.role === "facilitator" && !!a.chatId;
}

/** The group's facilitators who can be messaged, in account order (who the alerts always went to). */
export async function groupFacilitators(db: Tx, groupId: number) {
  const rows = await db.groupFacilitator.findMany({
    where: { groupId },
    include: { account: true },
    orderBy: { accountId: "asc" },
  });
  return rows.map((r) => r.account).filter(isMessageableFacilitator);
}

/** The facilitator still leads the group and can be messaged. */
export async function stillFacilitates(db: Db, accountId: number, groupId: number) {
  const link = await db.groupFacilitator.findUnique({
    where: { groupId_accountId: { groupId, accountId } },
    include: { account: true },
  });
  return link && isMessageableFacilitator(link.account) ? link.account : null;
}

export async function answerValues(
  db: Tx,
  responseSetId: number,
): Promise<Map<string, number | null>> {
  const rows = await db.answer.findMany({ where: { responseSetId } });
  return new Map(rows.map((r) => [r.itemId, r.skipped ? null : r.value]));
}

/** A completed family rating, with what its alerts need; null when it no longer counts. */
export async function memberRating(flows: LoadedFlows, db: Tx, responseSetId: number) {
  const rs = await db.responseSet.findUnique({
    where: { id: responseSetId },
    include: { participant: true, session: { include: { group: true } } },
  });
  if (!rs?.session || !rs.participant || rs.status !== "complete") return null;
  if (!isMemberRating(flows, rs)) return null;
  const instrument = flows.instruments.get(rs.instrumentId);
  if (!instrument) return null;
  return { rs, participant: rs.participant, session: rs.session, instrument };
}

export function lowCheck(
  flows: LoadedFlows,
  instrument: Instrument,
  values: Map<string, number | null>,
) {
  const items = ratingItems(instrument.items);
  return items ? checkRating(items, values, flows.study.thresholds) : null;
}

/** The comments a family wrote for the group leader (the instrument's answered text items). */
export async function comments(db: Tx, instrument: Instrument, responseSetId: number) {
  const textItems = new Set(instrument.items.filter((i) => i.type === "text").map((i) => i.id));
  const answers = await db.answer.findMany({
    where: { responseSetId, skipped: false, text: { not: null } },
    orderBy: { id: "asc" },
  });
  return answers.filter((a) => textItems.has(a.itemId) && a.text).map((a) => a.text!);
}

/** The facilitator's own overall rating against the families' mean total, as the data stands. */
export async function sessionDivergence(flows: LoadedFlows, db: Tx, sessionId: number) {
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
    const check = ins ? lowCheck(flows, ins, await answerValues(db, m.id)) : null;
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

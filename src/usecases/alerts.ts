// The alert fan-outs the scheduler runs, each in the transaction that completes its job
// (src/usecases/jobs.ts): the audit event that something was found, and one alert job per
// recipient (delivered and retried independently; src/notify renders them at send time). The
// jobs' dedupe keys are the only record of "already alerted": no audit trail is read back.
import type { Tx } from "../db/client.js";
import type { LoadedFlows } from "../study/model.js";
import { audit } from "../store/audit.js";
import { enqueueJobs, type JobInput } from "../scheduler/jobs.js";
import {
  alertRecipients,
  JOB,
  type AlertPayload,
  type DeviationPayload,
} from "../scheduler/planner.js";
import {
  commentKey,
  divergenceAlertKey,
  divergenceKey,
  lowRatingKey,
  OUTBOX,
  type DivergenceAlertPayload,
  type DivergencePayload,
  type RatingAlertPayload,
} from "../scheduler/outbox.js";
import { isReflectionSet } from "./sessions.js";
import {
  answerValues,
  comments,
  groupFacilitators,
  lowCheck,
  memberRating,
  sessionDivergence,
} from "./rating-facts.js";

/**
 * A protocol deviation was found: it enters the audit trail once, and each coordinator opted in
 * now gets their own alert job. Coordinators who opt in later are not sent the history.
 */
export async function fanOutDeviation(tx: Tx, d: DeviationPayload, now: Date): Promise<void> {
  const recipients = await alertRecipients(tx);
  await enqueueJobs(
    tx,
    recipients.map((a) => ({
      kind: JOB.alert,
      dueAt: now,
      dedupeKey: `alert:${d.key}:${a.id}`,
      payload: {
        accountId: a.id,
        deviation: d.key,
        message: d.message,
      } satisfies AlertPayload as unknown as Record<string, unknown>,
    })),
  );
  await audit(tx, {
    actor: { kind: "system" },
    action: "alert.protocol",
    entity: d.entity,
    entityId: d.entityId,
    at: now,
    data: { check: d.check, key: d.key, ...d.facts, recipients: recipients.length },
  });
}

/**
 * A completed family rating (or the facilitator's reflection), decided once per response set. A
 * low rating is audited and each of the group's facilitators gets an alert job, then each gets
 * the family's comments; a divergence is flagged once per session (its key), however many
 * ratings find it.
 */
export async function checkSessionRating(
  tx: Tx,
  flows: LoadedFlows,
  responseSetId: number,
  now: Date,
): Promise<void> {
  const rs = await tx.responseSet.findUnique({ where: { id: responseSetId } });
  if (!rs || rs.sessionId === null || rs.status !== "complete") return;
  const alertJob = (kind: string, dedupeKey: string, accountId: number): JobInput => ({
    kind,
    dueAt: now,
    dedupeKey,
    payload: { responseSetId, accountId } satisfies RatingAlertPayload,
  });
  const jobs: JobInput[] = [];
  const rating = await memberRating(flows, tx, responseSetId);
  if (rating) {
    const { session, participant, instrument } = rating;
    const facilitators = await groupFacilitators(tx, session.groupId);
    const check = lowCheck(flows, instrument, await answerValues(tx, responseSetId));
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
        jobs.push(alertJob(OUTBOX.lowRating, lowRatingKey(responseSetId, f.id), f.id));
    }
    if ((await comments(tx, instrument, responseSetId)).length > 0)
      for (const f of facilitators)
        jobs.push(alertJob(OUTBOX.comment, commentKey(responseSetId, f.id), f.id));
  }
  if (rating || isReflectionSet(flows, rs)) {
    const div = await sessionDivergence(flows, tx, rs.sessionId);
    if (div?.d.flagged)
      jobs.push({
        kind: OUTBOX.divergence,
        dueAt: now,
        dedupeKey: divergenceKey(rs.sessionId),
        payload: { sessionId: rs.sessionId } satisfies DivergencePayload,
      });
  }
  await enqueueJobs(tx, jobs);
}

/** A session's ratings diverge from the facilitator's: audited once, then one alert per facilitator. */
export async function flagDivergence(
  tx: Tx,
  flows: LoadedFlows,
  sessionId: number,
  now: Date,
): Promise<void> {
  const div = await sessionDivergence(flows, tx, sessionId);
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
}

// What one questionnaire step writes, inside the step's transaction (src/conversations/
// questionnaire.ts, committed by src/usecases/conversation-step.ts): the answer row (a correction
// overwrites it; the audit keeps the original), answers that skip logic now hides, the response
// set's status and its completion. Audited with the account as actor.
import type { Tx } from "../db/client.js";
import { audit } from "../store/audit.js";
import {
  setResponseSetStatus,
  storedAnswers,
  upsertAnswer,
  type ResponseSetFacts,
} from "../store/questionnaire.js";
import type { StepResult } from "../domain/questionnaire/index.js";

export async function recordQuestionnaireStep(
  tx: Tx,
  step: {
    accountId: number;
    rs: ResponseSetFacts;
    instrumentHash: string;
    /** Answers as stored when the conversation was loaded (read here when absent). */
    stored?: Record<string, number | string | null>;
    result: StepResult;
    now: Date;
  },
): Promise<void> {
  const { accountId, rs, now, result: r } = step;
  const e = r.effect;
  const actor = { kind: "account" as const, accountId };
  if (e && (e.type === "answered" || e.type === "skipped")) {
    const stored = step.stored ?? (await storedAnswers(tx, rs.id));
    const hadAnswer = Object.prototype.hasOwnProperty.call(stored, e.itemId);
    const previous = hadAnswer ? { value: stored[e.itemId] ?? null } : null;
    const value = e.type === "answered" && typeof e.value === "number" ? e.value : null;
    const text = e.type === "answered" && typeof e.value === "string" ? e.value : null;
    const skipped = e.type === "skipped";
    await upsertAnswer(tx, {
      responseSetId: rs.id,
      itemId: e.itemId,
      value,
      text,
      skipped,
      instrumentHash: step.instrumentHash,
      respondent: rs.respondent,
      accountId,
      at: now,
    });
    await audit(tx, {
      actor,
      action: previous ? "answer.correct" : "answer.save",
      entity: "Answer",
      entityId: `${rs.id}:${e.itemId}`,
      at: now,
      data: {
        responseSet: rs.id,
        item: e.itemId,
        value: value ?? text,
        skipped,
        ...(previous ? { previous: previous.value } : {}),
      },
    });
    if (e.dropped.length) {
      // Skip logic hid items answered earlier: their answers no longer apply; the audit keeps them.
      const gone = await tx.answer.findMany({
        where: { responseSetId: rs.id, itemId: { in: e.dropped } },
      });
      await tx.answer.deleteMany({ where: { responseSetId: rs.id, itemId: { in: e.dropped } } });
      for (const g of gone) {
        await audit(tx, {
          actor,
          action: "answer.drop-hidden",
          entity: "Answer",
          entityId: `${rs.id}:${g.itemId}`,
          at: now,
          data: {
            responseSet: rs.id,
            item: g.itemId,
            previous: g.skipped ? null : (g.value ?? g.text),
          },
        });
      }
    }
  }
  const status = r.completed ? "complete" : e?.type === "paused" ? "paused" : "in_progress";
  await setResponseSetStatus(tx, {
    id: rs.id,
    status,
    accountId,
    completed: r.completed,
    now,
  });
  if (r.completed) {
    await audit(tx, {
      actor,
      action: "questionnaire.complete",
      entity: "ResponseSet",
      entityId: rs.id,
      at: now,
      data: { instrument: rs.instrumentId },
    });
  }
}

/** A set assigned under an older instrument file now follows the current definition. */
export async function followCurrentInstrument(
  tx: Tx,
  responseSetId: number,
  instrument: { hash: string; version: number },
): Promise<void> {
  await tx.responseSet.update({
    where: { id: responseSetId },
    data: { instrumentHash: instrument.hash, instrumentVersion: instrument.version },
  });
}

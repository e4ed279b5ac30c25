// The session log's writes that combine several session rules of ./sessions.ts (the others —
// skipping or reopening an observation, beginning an amendment — are single calls there): the
// attendance step, a corrected answer, the close, a corrected date given as a day, and what its
// child questionnaire's completion writes (Observation rows, the Reflection). Each runs inside the
// caller's transaction: the log's step (src/conversations/session-log.ts, committed by
// ./conversation-step.ts with the processed update) or the child's.
import type { Tx } from "../db/client.js";
import { deleteConversation } from "../store/conversations.js";
import type { LoadedFlows } from "../study/model.js";
import { parseDay } from "./groups.js";
import {
  closeSession,
  correctAnswer,
  correctSessionDate,
  isObservationSet,
  isReflectionSet,
  recordAttendance,
  recordReflection,
  syncObservation,
  type CloseResult,
} from "./sessions.js";

function day(iso: string): Date {
  const d = parseDay(iso);
  if (!d) throw new Error(`not a day: ${iso}`);
  return d;
}

/** A corrected date during an amendment. */
export async function correctLoggedDate(
  tx: Tx,
  input: { sessionId: number; day: string; accountId: number; now: Date },
): Promise<void> {
  await correctSessionDate(tx, {
    sessionId: input.sessionId,
    heldOn: day(input.day),
    accountId: input.accountId,
    now: input.now,
  });
}

/**
 * Attendance as the log took it: the day first when the session already had another one, then
 * who was there (which prepares the observation sets and the reflection).
 */
export async function logAttendance(
  tx: Tx,
  flows: LoadedFlows,
  input: {
    sessionId: number;
    present: number[];
    heldOn: string;
    correctDate: boolean;
    accountId: number;
    now: Date;
  },
): Promise<void> {
  const heldOn = day(input.heldOn);
  if (input.correctDate)
    await correctSessionDate(tx, {
      sessionId: input.sessionId,
      heldOn,
      accountId: input.accountId,
      now: input.now,
    });
  await recordAttendance(tx, flows, {
    sessionId: input.sessionId,
    present: input.present,
    accountId: input.accountId,
    heldOn,
    now: input.now,
  });
}

/** One corrected answer of a completed set; the reflection's row follows. False when invalid. */
export async function correctLoggedAnswer(
  tx: Tx,
  flows: LoadedFlows,
  input: {
    responseSetId: number;
    itemId: string;
    value: number | string | null;
    accountId: number;
    now: Date;
  },
): Promise<boolean> {
  if (!(await correctAnswer(tx, flows, input))) return false;
  const rs = await tx.responseSet.findUniqueOrThrow({ where: { id: input.responseSetId } });
  if (isReflectionSet(flows, rs)) await recordReflection(tx, rs.id, input.accountId, input.now);
  return true;
}

/** Closes the session (again); the facilitator's questionnaire conversation ends with the log. */
export async function closeLoggedSession(
  tx: Tx,
  flows: LoadedFlows,
  input: { sessionId: number; accountId: number; now: Date; timeZone: string },
): Promise<CloseResult> {
  const result = await closeSession(tx, flows, input);
  await deleteConversation(tx, input.accountId, "questionnaire");
  return result;
}

/**
 * A facilitator's set completed (inside the completing answer's transaction): an observation is
 * copied into Observation rows, the reflection recorded. Other sets need nothing here.
 */
export async function completeFacilitatorSet(
  tx: Tx,
  flows: LoadedFlows,
  responseSetId: number,
  accountId: number,
  now: Date,
): Promise<void> {
  const rs = await tx.responseSet.findUnique({ where: { id: responseSetId } });
  if (!rs || rs.sessionId === null) return;
  if (isObservationSet(flows, rs))
    await syncObservation(tx, flows, rs.id, { kind: "account", accountId }, now);
  else if (isReflectionSet(flows, rs)) await recordReflection(tx, rs.id, accountId, now);
}

// Withdrawal as pure rules: `/withdraw` asks for a confirmation (Yes / No), "Yes" stops every
// prompt at once and keeps or deletes the research data as the study file says. No database, no
// Telegram: src/usecases/withdrawal.ts applies the plan in one audited transaction,
// src/telegram/conversation/withdrawal.ts carries out the effects in order.
import { familyParticipant } from "./enrolment.js";

export type WithdrawalPolicy = "keep" | "delete";

export type WithdrawalEvent = { type: "ASK" } | { type: "ANSWER"; confirm: boolean };

export type WithdrawalEffect =
  /** Not a participating parent: say so (a message for the command, a toast for a button). */
  | { type: "refuse" }
  /** Send the confirmation with these buttons (the policy text is shown with it). */
  | { type: "ask"; buttons: { confirm: boolean }[] }
  /** Remove the buttons of the message that was pressed. */
  | { type: "strip-buttons" }
  | { type: "withdraw"; participantId: number; policy: WithdrawalPolicy }
  | { type: "say"; what: "withdrawn" | "kept" };

/** Who acts on the family's withdrawal, and the effects in the order the adapter carries them out. */
export function withdrawalStep(
  account: { role: string; participantId: number | null },
  event: WithdrawalEvent,
  policy: WithdrawalPolicy,
): WithdrawalEffect[] {
  const participantId = familyParticipant(account);
  if (participantId === null) return [{ type: "refuse" }];
  if (event.type === "ASK")
    return [{ type: "ask", buttons: [{ confirm: true }, { confirm: false }] }];
  if (!event.confirm) return [{ type: "strip-buttons" }, { type: "say", what: "kept" }];
  return [
    { type: "strip-buttons" },
    { type: "withdraw", participantId, policy },
    { type: "say", what: "withdrawn" },
  ];
}

/** What withdrawing changes in the data. */
export interface WithdrawalPlan {
  status: "withdrawn";
  /** "all": answers, response sets, observations and notes go; "pending": only unasked questionnaires. */
  erase: "all" | "pending";
}

/** The plan for a participant, or null when they have already withdrawn (nothing changes twice). */
export function withdrawalPlan(status: string, policy: WithdrawalPolicy): WithdrawalPlan | null {
  if (status === "withdrawn") return null;
  // Keep what was collected; unanswered questionnaires are simply never asked.
  return { status: "withdrawn", erase: policy === "delete" ? "all" : "pending" };
}

// `/withdraw` as a one-step conversation kind: the pure rules are
// src/domain/conversations/withdrawal.ts, the withdrawal itself src/usecases/withdrawal.ts
// (applied inside the step's transaction); the view is the confirmation with Yes / No.
import {
  withdrawalStep,
  type WithdrawalEffect,
  type WithdrawalEvent,
  type WithdrawalPolicy,
} from "../domain/conversations/withdrawal.js";
import { withdrawParticipantIn } from "../usecases/withdrawal.js";
import type { OneStepKind } from "./once.js";

export interface WithdrawalEnv {
  account: { id: number; role: string; participantId: number | null };
  policy: WithdrawalPolicy;
  /** The study's withdrawal policy text in the account's language ("" when none). */
  policyText: string;
  tr(key: string, vars?: Record<string, string | number>): string;
  now(): Date;
}

export const WITHDRAWAL_MACHINE_VERSION = "withdrawal.1";

export function withdrawalKind(env: WithdrawalEnv): OneStepKind<WithdrawalEvent, WithdrawalEffect> {
  return {
    kind: "withdrawal",
    machineVersion: WITHDRAWAL_MACHINE_VERSION,
    step: (event) => withdrawalStep(env.account, event, env.policy),
    writes: (effects) => effects.some((e) => e.type === "withdraw"),
    async apply(tx, effects) {
      for (const e of effects)
        if (e.type === "withdraw")
          await withdrawParticipantIn(
            tx,
            e.participantId,
            e.policy,
            { kind: "account", accountId: env.account.id },
            env.now(),
          );
    },
    view(effect) {
      if (effect.type !== "ask") return null;
      return {
        html: env.tr("withdraw-confirm", { policy: env.policyText }),
        buttons: [
          effect.buttons.map((b) => ({
            text: env.tr(b.confirm ? "withdraw-yes" : "withdraw-no"),
            op: b.confirm ? "y" : "n",
          })),
        ],
      };
    },
  };
}

// Parental consent and the child's assent: where a family stands, and recording a decision. Each
// decision is its own row (who, which text version, when in UTC) and audit event; agreeing to the
// assent opens the first timepoint's questionnaires in the same transaction, declining either is
// final. The step is checked inside the transaction, so two presses of one button record once.
import type { Db, Tx } from "../db/client.js";
import { audit } from "../store/audit.js";
import type { LoadedFlows } from "../study/model.js";
import { openTimepoint } from "./assignments.js";
import {
  consentStepOf,
  decideConsent,
  familyParticipant,
  type ConsentKind,
  type ConsentStep,
  type ConsentVersions,
  type Decision,
} from "../domain/conversations/enrolment.js";
import { commitNothing, type AlsoCommit } from "./commit.js";

export async function familyConsentStep(db: Tx, participantId: number): Promise<ConsentStep> {
  const p = await db.participant.findUniqueOrThrow({ where: { id: participantId } });
  if (p.status === "withdrawn")
    return consentStepOf({ withdrawn: true, consent: null, assent: null });
  const latest = (kind: ConsentKind) =>
    db.consent.findFirst({ where: { participantId, kind }, orderBy: { id: "desc" } });
  const consent = await latest("consent");
  // The assent is asked (and looked up) only after the parent agreed.
  const assent = consent?.decision === "agree" ? await latest("assent") : null;
  return consentStepOf({ withdrawn: false, consent, assent });
}

export function consentVersions(flows: LoadedFlows): ConsentVersions {
  return { consent: flows.study.consent.version, assent: flows.study.assent.version };
}

export interface ConsentDecisionInput {
  account: { id: number; role: string; participantId: number | null };
  which: ConsentKind;
  agree: boolean;
  version: string;
}

export type ConsentDecisionResult =
  | { ok: true; decision: Decision; step: ConsentStep }
  | { ok: false; reason: "not-allowed" | "stale" };

export async function recordConsentDecision(
  db: Db,
  flows: LoadedFlows,
  input: ConsentDecisionInput,
  now: Date,
  alsoCommit: AlsoCommit = commitNothing,
): Promise<ConsentDecisionResult> {
  const participantId = familyParticipant(input.account);
  if (participantId === null) return { ok: false, reason: "not-allowed" };
  const actor = { kind: "account", accountId: input.account.id } as const;
  return db.$transaction(async (tx): Promise<ConsentDecisionResult> => {
    const step = await familyConsentStep(tx, participantId);
    const r = decideConsent(step, input, consentVersions(flows));
    if (!r.ok) return { ok: false, reason: r.reason };
    const decision: Decision = input.agree ? "agree" : "decline";
    for (const e of r.effects) {
      if (e.type === "record") {
        const c = await tx.consent.create({
          data: {
            participantId,
            kind: e.which,
            version: e.version,
            decision: e.decision,
            recordedByAccountId: input.account.id,
            recordedByRole: "parent",
            at: now,
          },
        });
        await audit(tx, {
          actor,
          action: `${e.which}.record`,
          entity: "Consent",
          entityId: c.id,
          at: now,
          data: { participant: participantId, decision: c.decision, version: c.version },
        });
      } else if (e.type === "participant-status") {
        await tx.participant.update({ where: { id: participantId }, data: { status: e.status } });
      } else {
        const first = flows.study.timepoints[0];
        if (first) await openTimepoint(tx, flows, participantId, first.id, actor);
      }
    }
    await alsoCommit(tx);
    return { ok: true, decision, step: r.step };
  });
}

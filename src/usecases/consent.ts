// Parental consent and the child's assent: where a family stands, and recording a decision. Each
// decision is its own row (who, which text version, when in UTC) and audit event; agreeing to the
// assent opens the first timepoint's questionnaires in the same transaction, declining either is
// final. A decision is written inside the consent conversation's step (its compare-and-set and the
// processed update commit with it), and the family's step is checked there again, so two presses
// of one button, or of two chats' buttons, record once.
import type { Tx } from "../db/client.js";
import { audit } from "../store/audit.js";
import type { LoadedFlows } from "../study/model.js";
import { openTimepoint } from "./assignments.js";
import {
  consentStepOf,
  familyParticipant,
  type ConsentEffect,
  type ConsentKind,
  type ConsentStep,
  type ConsentVersions,
} from "../domain/conversations/enrolment.js";

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

export interface ConsentRecordInput {
  account: { id: number; role: string; participantId: number | null };
  /** The step the family was at when the parent pressed (the consent conversation's state). */
  from: ConsentKind;
  /** The decision's effects, in order (src/domain/conversations/enrolment.ts). */
  effects: readonly ConsentEffect[];
}

/**
 * Records a consent or assent decision inside the consent conversation's step transaction
 * (src/conversations/consent.ts): each decision its own Consent row and audit event (actor, UTC
 * time, text version), then the participant's status and, after the assent, the first
 * timepoint's questionnaires. The family's step is read again here, so a decision recorded
 * meanwhile by another of the family's chats (or the study team) makes this one stale; then
 * nothing is written and the caller rolls the step back.
 */
export async function recordConsentStep(
  tx: Tx,
  flows: LoadedFlows,
  input: ConsentRecordInput,
  now: Date,
): Promise<"recorded" | "not-allowed" | "stale"> {
  const participantId = familyParticipant(input.account);
  if (participantId === null) return "not-allowed";
  if ((await familyConsentStep(tx, participantId)) !== input.from) return "stale";
  const actor = { kind: "account", accountId: input.account.id } as const;
  for (const e of input.effects) {
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
  return "recorded";
}

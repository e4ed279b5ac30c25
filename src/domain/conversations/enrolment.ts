// Enrolment, parental consent and the child's assent as pure rules. A family answers nothing
// before both are given; each is recorded separately, against the text version the parent saw; a
// "no" is final (until the study team re-invites). No database, no Telegram: the consent
// conversation kind (src/conversations/consent.ts) runs the machine below on the conversation
// runtime, the use cases in src/usecases/{enrolment,consent}.ts apply the effects, and
// src/telegram/conversation/enrolment.ts shows the prompts and buttons.

export type ConsentKind = "consent" | "assent";
export type ConsentStep = "consent" | "assent" | "declined" | "done" | "withdrawn";
export type Decision = "agree" | "decline";

/** The texts' current versions (study.yaml): a press for another version is stale. */
export interface ConsentVersions {
  consent: string;
  assent: string;
}

/**
 * Where a family stands: withdrawn, waiting for consent or assent, declined, or done. Only the
 * latest record of each kind counts; `assent` is not looked at before consent is agreed.
 */
export function consentStepOf(facts: {
  withdrawn: boolean;
  consent: { decision: string } | null;
  assent: { decision: string } | null;
}): ConsentStep {
  if (facts.withdrawn) return "withdrawn";
  if (!facts.consent) return "consent";
  if (facts.consent.decision !== "agree") return "declined";
  if (!facts.assent) return "assent";
  if (facts.assent.decision !== "agree") return "declined";
  return "done";
}

/** The buttons of a consent or assent prompt: agree, then decline, bound to the text's version. */
export interface ConsentButton {
  which: ConsentKind;
  agree: boolean;
  version: string;
}

/** Agree, then decline, for one prompt. */
export function consentButtons(which: ConsentKind, version: string): ConsentButton[] {
  return [
    { which, agree: true, version },
    { which, agree: false, version },
  ];
}

export type ConsentView =
  | { kind: "ask"; which: ConsentKind; version: string; buttons: ConsentButton[] }
  | { kind: "declined" }
  | { kind: "withdrawn" }
  /** Both given: the family's questionnaires come next. */
  | { kind: "questionnaires" };

export function consentView(step: ConsentStep, versions: ConsentVersions): ConsentView {
  switch (step) {
    case "consent":
    case "assent": {
      const version = versions[step];
      return { kind: "ask", which: step, version, buttons: consentButtons(step, version) };
    }
    case "declined":
      return { kind: "declined" };
    case "withdrawn":
      return { kind: "withdrawn" };
    case "done":
      return { kind: "questionnaires" };
  }
}

export interface ConsentPress {
  which: ConsentKind;
  agree: boolean;
  version: string;
}

/** What recording a decision writes, in this order (the use case applies them in one transaction). */
export type ConsentEffect =
  | { type: "record"; which: ConsentKind; decision: Decision; version: string }
  | { type: "participant-status"; status: "declined" | "consented" }
  /** The first timepoint opens at consent; later ones open by the protocol (sessions, CLI). */
  | { type: "open-first-timepoint" };

export type ConsentStepResult =
  | { ok: true; step: ConsentStep; effects: ConsentEffect[] }
  | { ok: false; reason: "stale"; step: ConsentStep };

/**
 * A consent or assent button. It counts only in its own step and for the current text version;
 * anything else (a second press, an old message, a changed text) is stale and changes nothing.
 */
export function decideConsent(
  step: ConsentStep,
  press: ConsentPress,
  versions: ConsentVersions,
): ConsentStepResult {
  if (step !== press.which || press.version !== versions[press.which])
    return { ok: false, reason: "stale", step };
  const record: ConsentEffect = {
    type: "record",
    which: press.which,
    decision: press.agree ? "agree" : "decline",
    version: press.version,
  };
  if (!press.agree)
    return {
      ok: true,
      step: "declined",
      effects: [record, { type: "participant-status", status: "declined" }],
    };
  if (press.which === "consent") return { ok: true, step: "assent", effects: [record] };
  return {
    ok: true,
    step: "done",
    effects: [
      record,
      { type: "participant-status", status: "consented" },
      { type: "open-first-timepoint" },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The consent conversation: one prompt at a time (consent, then assent), each answered once

/** Stored with each step; a row written by another machine version is not continued. */
export const CONSENT_MACHINE_VERSION = "consent.1";

/** A prompt waiting for the parent's answer: its step and the text version it shows. */
export interface ConsentPrompt {
  step: ConsentKind;
  version: string;
}

export type ConsentState =
  | ConsentPrompt
  /** Ended: declined (final), or both given (the questionnaires come next). Never stored. */
  | { step: "declined" | "done" };

/** What a consent or assent button says. */
export interface ConsentAnswer {
  which: ConsentKind;
  agree: boolean;
  /**
   * Buttons sent before consent ran on the conversation runtime carry the text version instead
   * of a nonce: it must be the version the prompt shows.
   */
  version?: string;
}

/** The conversation for where a family stands: a prompt to answer, or null (nothing to ask). */
export function consentStateFor(
  step: ConsentStep,
  versions: ConsentVersions,
): ConsentPrompt | null {
  return step === "consent" || step === "assent" ? { step, version: versions[step] } : null;
}

export function consentFinished(state: ConsentState): boolean {
  return state.step === "declined" || state.step === "done";
}

/** A stored prompt this machine can continue, or null (corrupt JSON, an ended or unknown step). */
export function parseConsentState(snapshot: string): ConsentPrompt | null {
  try {
    const st = JSON.parse(snapshot) as { step?: unknown; version?: unknown };
    return (st.step === "consent" || st.step === "assent") && typeof st.version === "string"
      ? { step: st.step, version: st.version }
      : null;
  } catch {
    return null;
  }
}

export type ConsentMachineStep =
  { ok: true; state: ConsentState; effects: ConsentEffect[] } | { ok: false; reason: "stale" };

/**
 * A consent or assent button against the prompt that is waiting. Another step's button, a prompt
 * for a text that has changed since it was shown, or any press once the conversation has ended is
 * stale: the state stays as it is and nothing is recorded.
 */
export function stepConsent(
  state: ConsentState,
  answer: ConsentAnswer,
  versions: ConsentVersions,
): ConsentMachineStep {
  if (state.step !== "consent" && state.step !== "assent") return { ok: false, reason: "stale" };
  if (answer.version !== undefined && answer.version !== state.version)
    return { ok: false, reason: "stale" };
  const r = decideConsent(
    state.step,
    { which: answer.which, agree: answer.agree, version: state.version },
    versions,
  );
  if (!r.ok) return { ok: false, reason: "stale" };
  const next: ConsentState =
    r.step === "assent"
      ? { step: "assent", version: versions.assent }
      : { step: r.step === "done" ? "done" : "declined" };
  return { ok: true, state: next, effects: r.effects };
}

/** Consent, assent and withdrawal belong to a parent's account bound to a participant. */
export function familyParticipant(account: {
  role: string;
  participantId: number | null;
}): number | null {
  return account.role === "parent" && account.participantId ? account.participantId : null;
}

// ---------------------------------------------------------------------------------------------
// Enrolment by invite

/** What redeeming a valid invite does for the Telegram account that opened it. */
export type Redemption =
  /** No account yet: create one with the invite's role (and participant, group). */
  | { kind: "new-account" }
  /** A facilitator given another group: one more group, same account. */
  | { kind: "add-group"; groupId: number }
  /** One Telegram account holds one role: any other invite is refused. */
  | { kind: "already-enrolled"; role: string };

export function redemptionFor(
  existing: { role: string } | null,
  invite: { role: string; groupId: number | null },
): Redemption {
  if (!existing) return { kind: "new-account" };
  if (existing.role === "facilitator" && invite.role === "facilitator" && invite.groupId)
    return { kind: "add-group", groupId: invite.groupId };
  return { kind: "already-enrolled", role: existing.role };
}

// Parental consent and the child's assent as a conversation kind: the pure machine is
// src/domain/conversations/enrolment.ts (one prompt at a time, each answered once); the view is
// the prompt with its text in the parent's language and Agree / Decline; the effects (the Consent
// row and its audit event, the participant's status, the first timepoint) are written by
// src/usecases/consent.ts inside the step's transaction, which re-reads the family's step, so a
// decision recorded meanwhile elsewhere makes the press stale and rolls the step back.
// Built per update (it carries the account and its language).
import { t, type LoadedFlows } from "../study/model.js";
import {
  CONSENT_MACHINE_VERSION,
  consentButtons,
  consentFinished,
  consentStateFor,
  parseConsentState,
  stepConsent,
  type ConsentAnswer,
  type ConsentEffect,
  type ConsentKind,
  type ConsentState,
  type ConsentStep,
  type Decision,
} from "../domain/conversations/enrolment.js";
import { consentVersions, recordConsentStep } from "../usecases/consent.js";
import { escapeHtml } from "./text.js";
import { StepRejected, type ConversationKind, type Screen } from "./kind.js";

export type ConsentRejection = "stale" | "not-allowed";

export interface ConsentEnv {
  account: { id: number; role: string; participantId: number | null };
  flows: LoadedFlows;
  locale: string;
  tr(key: string, vars?: Record<string, string | number>): string;
  now(): Date;
}

export type ConsentConversationKind = ConversationKind<
  ConsentState,
  ConsentAnswer,
  ConsentEffect,
  ConsentRejection
> & {
  /** The conversation for where the family stands (null: nothing to ask). */
  open(step: ConsentStep): ConsentState | null;
  /** The answered prompt as it reads once the decision is stored: its title and the decision. */
  recorded(d: { which: ConsentKind; decision: Decision; version: string }): Screen;
};

/** A button's operation (agree or decline); its argument is the step it answers. */
export const AGREE_OP = "y";
const DECLINE_OP = "n";

export function consentKind(env: ConsentEnv): ConsentConversationKind {
  const versions = consentVersions(env.flows);
  const study = env.flows.study;
  const title = (which: ConsentKind, version: string) => env.tr(`${which}-title`, { version });

  function prompt(which: ConsentKind, version: string): Screen {
    const text = escapeHtml(
      t(which === "consent" ? study.consent.text : study.assent.text, env.locale),
    );
    const html =
      which === "consent"
        ? `${title(which, version)}\n\n${text}`
        : `${title(which, version)}\n<i>${env.tr("assent-instructions")}</i>\n\n${text}`;
    const buttons = consentButtons(which, version).map((b) => ({
      text: env.tr(`${b.which}-${b.agree ? "agree" : "decline"}`),
      op: b.agree ? AGREE_OP : DECLINE_OP,
      arg: b.which,
    }));
    return { html, buttons: [buttons] };
  }

  return {
    kind: "consent",
    machineId: "consent",
    machineVersion: CONSENT_MACHINE_VERSION,
    // A prompt for a text that has changed since it was shown is not continued: the family is
    // asked again with the current text (and the old prompt's buttons are stale).
    parse(snapshot) {
      const st = parseConsentState(snapshot);
      return st && st.version === versions[st.step] ? st : null;
    },
    finished: consentFinished,
    open: (step) => consentStateFor(step, versions),
    step(state, input) {
      const r = stepConsent(state, input, versions);
      return r.ok ? { ok: true, state: r.state, effects: r.effects } : r;
    },
    async apply(tx, effects, { before }) {
      // The machine steps only from a prompt; this narrows `before` to one.
      if (before.step !== "consent" && before.step !== "assent") throw new StepRejected("stale");
      const r = await recordConsentStep(
        tx,
        env.flows,
        { account: env.account, from: before.step, effects },
        env.now(),
      );
      if (r !== "recorded") throw new StepRejected(r);
    },
    view(state) {
      if (state.step === "consent" || state.step === "assent")
        return prompt(state.step, state.version);
      // Ended (never shown through the runtime: the row is gone). A decline is final and says
      // so; after both are given the family's questionnaires (another kind) come next.
      return { html: state.step === "declined" ? env.tr("declined-final") : "", buttons: [] };
    },
    recorded: ({ which, decision, version }) => ({
      html: `${title(which, version)}\n\n<b>${env.tr(`${which}-recorded-${decision}`, { version })}</b>`,
      buttons: [],
    }),
  };
}

// Table tests of enrolment, consent and assent as pure rules: where a family stands, what a
// decision records (effects, in order), which prompt and buttons come next, and that stale presses
// (another step's button, an old text version, a second press) change nothing. No database, no
// Telegram.
import { describe, expect, it } from "vitest";
import {
  consentFinished,
  consentStateFor,
  consentStepOf,
  consentView,
  decideConsent,
  familyParticipant,
  parseConsentState,
  redemptionFor,
  stepConsent,
  type ConsentAnswer,
  type ConsentPress,
  type ConsentState,
  type ConsentStep,
} from "../../../src/domain/conversations/enrolment.js";

const V = { consent: "2.1", assent: "1.0" };
const agree = { decision: "agree" };
const decline = { decision: "decline" };

describe("consent: where a family stands", () => {
  it.each([
    { withdrawn: true, consent: agree, assent: agree, step: "withdrawn" },
    { withdrawn: false, consent: null, assent: null, step: "consent" },
    { withdrawn: false, consent: decline, assent: null, step: "declined" },
    { withdrawn: false, consent: agree, assent: null, step: "assent" },
    { withdrawn: false, consent: agree, assent: decline, step: "declined" },
    { withdrawn: false, consent: agree, assent: agree, step: "done" },
  ])("withdrawn $withdrawn, consent $consent.decision, assent $assent.decision → $step", (row) => {
    expect(consentStepOf(row)).toBe(row.step);
  });
});

describe("consent: the prompt and buttons of each step", () => {
  it.each([
    {
      step: "consent",
      view: {
        kind: "ask",
        which: "consent",
        version: "2.1",
        buttons: [
          { which: "consent", agree: true, version: "2.1" },
          { which: "consent", agree: false, version: "2.1" },
        ],
      },
    },
    {
      step: "assent",
      view: {
        kind: "ask",
        which: "assent",
        version: "1.0",
        buttons: [
          { which: "assent", agree: true, version: "1.0" },
          { which: "assent", agree: false, version: "1.0" },
        ],
      },
    },
    { step: "declined", view: { kind: "declined" } },
    { step: "withdrawn", view: { kind: "withdrawn" } },
    { step: "done", view: { kind: "questionnaires" } },
  ] as const)("$step", ({ step, view }) => {
    expect(consentView(step, V)).toEqual(view);
  });
});

describe("consent: decisions", () => {
  const P = (which: "consent" | "assent", a: boolean, version = V[which]): ConsentPress => ({
    which,
    agree: a,
    version,
  });
  const record = (which: string, decision: string, version: string) => ({
    type: "record",
    which,
    decision,
    version,
  });
  const rows: Array<{
    name: string;
    from: ConsentStep;
    press: ConsentPress;
    to: ConsentStep;
    effects: unknown[];
  }> = [
    {
      name: "the parent agrees: the assent comes next",
      from: "consent",
      press: P("consent", true),
      to: "assent",
      effects: [record("consent", "agree", "2.1")],
    },
    {
      name: "the parent declines: final",
      from: "consent",
      press: P("consent", false),
      to: "declined",
      effects: [
        record("consent", "decline", "2.1"),
        { type: "participant-status", status: "declined" },
      ],
    },
    {
      name: "the child agrees: consented, the first timepoint opens",
      from: "assent",
      press: P("assent", true),
      to: "done",
      effects: [
        record("assent", "agree", "1.0"),
        { type: "participant-status", status: "consented" },
        { type: "open-first-timepoint" },
      ],
    },
    {
      name: "the child declines: final",
      from: "assent",
      press: P("assent", false),
      to: "declined",
      effects: [
        record("assent", "decline", "1.0"),
        { type: "participant-status", status: "declined" },
      ],
    },
  ];
  it.each(rows)("$name", (row) => {
    expect(decideConsent(row.from, row.press, V)).toEqual({
      ok: true,
      step: row.to,
      effects: row.effects,
    });
  });

  const stale: Array<{ name: string; from: ConsentStep; press: ConsentPress }> = [
    { name: "a second press of the consent button", from: "assent", press: P("consent", true) },
    { name: "the assent button before consent", from: "consent", press: P("assent", true) },
    {
      name: "a consent button for an older text",
      from: "consent",
      press: P("consent", true, "2.0"),
    },
    {
      name: "an assent button for another version",
      from: "assent",
      press: P("assent", true, "2.1"),
    },
    { name: "changing one's mind after declining", from: "declined", press: P("consent", true) },
    { name: "after withdrawal", from: "withdrawn", press: P("assent", true) },
    { name: "after both were given", from: "done", press: P("assent", false) },
  ];
  it.each(stale)("$name is stale", (row) => {
    expect(decideConsent(row.from, row.press, V)).toEqual({
      ok: false,
      reason: "stale",
      step: row.from,
    });
  });

  it("every button a prompt offers is accepted in its step", () => {
    for (const step of ["consent", "assent"] as const) {
      const view = consentView(step, V);
      if (view.kind !== "ask") throw new Error("expected a prompt");
      for (const b of view.buttons) expect(decideConsent(step, b, V).ok).toBe(true);
    }
  });
});

describe("consent conversation: the machine", () => {
  const ask = (step: "consent" | "assent", version = V[step]): ConsentState => ({ step, version });
  const A = (which: "consent" | "assent", agree: boolean, version?: string): ConsentAnswer => ({
    which,
    agree,
    ...(version === undefined ? {} : { version }),
  });

  it.each([
    { step: "consent", state: { step: "consent", version: "2.1" } },
    { step: "assent", state: { step: "assent", version: "1.0" } },
    { step: "declined", state: null },
    { step: "done", state: null },
    { step: "withdrawn", state: null },
  ] as const)("a family at $step is asked $state", ({ step, state }) => {
    expect(consentStateFor(step, V)).toEqual(state);
  });

  const rows: Array<{
    name: string;
    from: ConsentState;
    answer: ConsentAnswer;
    to: ConsentState;
    effects: unknown[];
  }> = [
    {
      name: "consent agreed: the assent prompt, with the assent text's version",
      from: ask("consent"),
      answer: A("consent", true),
      to: ask("assent"),
      effects: [{ type: "record", which: "consent", decision: "agree", version: "2.1" }],
    },
    {
      name: "consent declined: ended, final",
      from: ask("consent"),
      answer: A("consent", false),
      to: { step: "declined" },
      effects: [
        { type: "record", which: "consent", decision: "decline", version: "2.1" },
        { type: "participant-status", status: "declined" },
      ],
    },
    {
      name: "assent agreed: ended, consented, the first timepoint opens",
      from: ask("assent"),
      answer: A("assent", true),
      to: { step: "done" },
      effects: [
        { type: "record", which: "assent", decision: "agree", version: "1.0" },
        { type: "participant-status", status: "consented" },
        { type: "open-first-timepoint" },
      ],
    },
    {
      name: "assent declined: ended, final",
      from: ask("assent"),
      answer: A("assent", false),
      to: { step: "declined" },
      effects: [
        { type: "record", which: "assent", decision: "decline", version: "1.0" },
        { type: "participant-status", status: "declined" },
      ],
    },
    {
      name: "a legacy button naming the prompt's version counts like any other",
      from: ask("consent"),
      answer: A("consent", true, "2.1"),
      to: ask("assent"),
      effects: [{ type: "record", which: "consent", decision: "agree", version: "2.1" }],
    },
  ];
  it.each(rows)("$name", ({ from, answer, to, effects }) => {
    const r = stepConsent(from, answer, V);
    expect(r).toEqual({ ok: true, state: to, effects });
    if (r.ok) expect(consentFinished(r.state)).toBe(to.step === "declined" || to.step === "done");
  });

  const stale: Array<{ name: string; from: ConsentState; answer: ConsentAnswer }> = [
    {
      name: "an assent button at the consent prompt",
      from: ask("consent"),
      answer: A("assent", true),
    },
    {
      name: "a consent button at the assent prompt",
      from: ask("assent"),
      answer: A("consent", true),
    },
    {
      name: "a prompt whose text changed since it was shown",
      from: ask("consent", "2.0"),
      answer: A("consent", true),
    },
    {
      name: "a legacy button for another text version",
      from: ask("consent"),
      answer: A("consent", true, "2.0"),
    },
    { name: "any press once declined", from: { step: "declined" }, answer: A("consent", true) },
    { name: "any press once both are given", from: { step: "done" }, answer: A("assent", false) },
  ];
  it.each(stale)("$name is stale and leaves the state as it was", ({ from, answer }) => {
    const before = structuredClone(from);
    expect(stepConsent(from, answer, V)).toEqual({ ok: false, reason: "stale" });
    expect(from).toEqual(before);
  });

  it("stores only prompts: ended, unknown or corrupt snapshots are not continued", () => {
    expect(parseConsentState(JSON.stringify(ask("assent")))).toEqual(ask("assent"));
    for (const bad of [
      JSON.stringify({ step: "declined" }),
      JSON.stringify({ step: "done" }),
      JSON.stringify({ step: "consent" }),
      JSON.stringify({ step: "consent", version: 2 }),
      "{",
      "null",
    ])
      expect(parseConsentState(bad), bad).toBeNull();
  });
});

describe("consent: who may decide", () => {
  it.each([
    { role: "parent", participantId: 5, may: 5 },
    { role: "parent", participantId: null, may: null },
    { role: "facilitator", participantId: 5, may: null },
    { role: "admin", participantId: null, may: null },
  ])("$role bound to $participantId → $may", ({ role, participantId, may }) => {
    expect(familyParticipant({ role, participantId })).toBe(may);
  });
});

describe("enrolment: what an invite does for the account that opens it", () => {
  it.each([
    {
      name: "a new person",
      existing: null,
      invite: { role: "parent", groupId: null },
      what: { kind: "new-account" },
    },
    {
      name: "a facilitator given another group",
      existing: { role: "facilitator" },
      invite: { role: "facilitator", groupId: 4 },
      what: { kind: "add-group", groupId: 4 },
    },
    {
      name: "a facilitator invite without a group",
      existing: { role: "facilitator" },
      invite: { role: "facilitator", groupId: null },
      what: { kind: "already-enrolled", role: "facilitator" },
    },
    {
      name: "a parent opening a researcher invite",
      existing: { role: "parent" },
      invite: { role: "researcher", groupId: null },
      what: { kind: "already-enrolled", role: "parent" },
    },
    {
      name: "a researcher opening a facilitator invite",
      existing: { role: "researcher" },
      invite: { role: "facilitator", groupId: 4 },
      what: { kind: "already-enrolled", role: "researcher" },
    },
  ])("$name", ({ existing, invite, what }) => {
    expect(redemptionFor(existing, invite)).toEqual(what);
  });
});

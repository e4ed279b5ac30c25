// Table tests of withdrawal as pure rules: `/withdraw` and its confirmation buttons → the effects
// in the order the adapter carries them out, and what withdrawing changes in the data per policy.
// Someone who is not a participating parent gets a refusal and nothing else; withdrawing twice
// changes nothing. No database, no Telegram.
import { describe, expect, it } from "vitest";
import {
  withdrawalPlan,
  withdrawalStep,
  type WithdrawalEvent,
} from "../../../src/domain/conversations/withdrawal.js";

const parent = { role: "parent", participantId: 8 };

describe("withdrawal: steps", () => {
  const rows: Array<{
    name: string;
    who: { role: string; participantId: number | null };
    event: WithdrawalEvent;
    policy: "keep" | "delete";
    effects: unknown[];
  }> = [
    {
      name: "a parent asks: the confirmation with Yes and No",
      who: parent,
      event: { type: "ASK" },
      policy: "keep",
      effects: [{ type: "ask", buttons: [{ confirm: true }, { confirm: false }] }],
    },
    {
      name: "Yes: buttons go, the participant withdraws (keep), then the goodbye",
      who: parent,
      event: { type: "ANSWER", confirm: true },
      policy: "keep",
      effects: [
        { type: "strip-buttons" },
        { type: "withdraw", participantId: 8, policy: "keep" },
        { type: "say", what: "withdrawn" },
      ],
    },
    {
      name: "Yes under a delete policy",
      who: parent,
      event: { type: "ANSWER", confirm: true },
      policy: "delete",
      effects: [
        { type: "strip-buttons" },
        { type: "withdraw", participantId: 8, policy: "delete" },
        { type: "say", what: "withdrawn" },
      ],
    },
    {
      name: "No: buttons go, nothing is written",
      who: parent,
      event: { type: "ANSWER", confirm: false },
      policy: "delete",
      effects: [{ type: "strip-buttons" }, { type: "say", what: "kept" }],
    },
    {
      name: "a facilitator asks: refused",
      who: { role: "facilitator", participantId: null },
      event: { type: "ASK" },
      policy: "keep",
      effects: [{ type: "refuse" }],
    },
    {
      name: "a forged Yes from a researcher: refused, no buttons touched",
      who: { role: "researcher", participantId: null },
      event: { type: "ANSWER", confirm: true },
      policy: "delete",
      effects: [{ type: "refuse" }],
    },
    {
      name: "a parent account bound to no participant: refused",
      who: { role: "parent", participantId: null },
      event: { type: "ANSWER", confirm: true },
      policy: "keep",
      effects: [{ type: "refuse" }],
    },
  ];
  it.each(rows)("$name", ({ who, event, policy, effects }) => {
    expect(withdrawalStep(who, event, policy)).toEqual(effects);
  });

  it("the only step that writes is a parent's Yes", () => {
    const whos = [
      parent,
      { role: "admin", participantId: 8 },
      { role: "parent", participantId: null },
    ];
    const events: WithdrawalEvent[] = [
      { type: "ASK" },
      { type: "ANSWER", confirm: true },
      { type: "ANSWER", confirm: false },
    ];
    const writers = whos.flatMap((who) =>
      events
        .filter((e) => withdrawalStep(who, e, "keep").some((x) => x.type === "withdraw"))
        .map((e) => `${who.role}:${who.participantId}:${JSON.stringify(e)}`),
    );
    expect(writers).toEqual([`parent:8:${JSON.stringify({ type: "ANSWER", confirm: true })}`]);
  });
});

describe("withdrawal: what changes in the data", () => {
  it.each([
    { status: "consented", policy: "keep", plan: { status: "withdrawn", erase: "pending" } },
    { status: "consented", policy: "delete", plan: { status: "withdrawn", erase: "all" } },
    { status: "enrolled", policy: "keep", plan: { status: "withdrawn", erase: "pending" } },
    { status: "declined", policy: "delete", plan: { status: "withdrawn", erase: "all" } },
    { status: "withdrawn", policy: "keep", plan: null },
    { status: "withdrawn", policy: "delete", plan: null },
  ] as const)("$status under $policy", ({ status, policy, plan }) => {
    expect(withdrawalPlan(status, policy)).toEqual(plan);
  });
});

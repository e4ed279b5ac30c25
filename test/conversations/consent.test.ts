// Consent and assent as a kind of the conversation runtime. First the kind's step as a pure table
// (state + answer → next state, effects, the buttons the next prompt offers; stale answers leave
// the state as it was), then on a real SQLite file: the press check (nonce, message, machine
// version), the compare-and-set, and the decision, its audit event and the processed update
// committing in one transaction — or, when the family's records moved meanwhile, not at all.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { shippedFlows } from "../support/bot.js";
import { recordProcessed, wasProcessed } from "../../src/store/updates.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { redeemInvite } from "../../src/usecases/enrolment.js";
import { conversationRuntime, type Runtime } from "../../src/conversations/runtime.js";
import {
  consentKind,
  type ConsentEnv,
  type ConsentRejection,
} from "../../src/conversations/consent.js";
import type { Presenter } from "../../src/conversations/kind.js";
import type {
  ConsentAnswer,
  ConsentEffect,
  ConsentState,
} from "../../src/domain/conversations/enrolment.js";

const flows = shippedFlows();
const V = { consent: flows.study.consent.version, assent: flows.study.assent.version };
const now = () => new Date("2026-12-02T10:00:00Z");

function env(account: ConsentEnv["account"]): ConsentEnv {
  return {
    account,
    flows,
    locale: "en",
    // Keys and arguments, so the table shows which text goes where.
    tr: (key, vars) => (vars ? `[${key} ${JSON.stringify(vars)}]` : `[${key}]`),
    now,
  };
}

const kind = consentKind(env({ id: 1, role: "parent", participantId: 1 }));
const ask = (step: "consent" | "assent"): ConsentState => ({ step, version: V[step] });
const answer = (which: "consent" | "assent", agree: boolean): ConsentAnswer => ({ which, agree });

describe("consent kind: the pure step", () => {
  const rows: Array<{
    name: string;
    from: ConsentState;
    input: ConsentAnswer;
    to: ConsentState;
    effects: ConsentEffect[];
    /** The buttons the next state's prompt offers (none once ended). */
    buttons: { text: string; op: string; arg?: string | number }[][];
  }> = [
    {
      name: "consent agreed → the assent prompt",
      from: ask("consent"),
      input: answer("consent", true),
      to: ask("assent"),
      effects: [{ type: "record", which: "consent", decision: "agree", version: V.consent }],
      buttons: [
        [
          { text: "[assent-agree]", op: "y", arg: "assent" },
          { text: "[assent-decline]", op: "n", arg: "assent" },
        ],
      ],
    },
    {
      name: "consent declined → ended",
      from: ask("consent"),
      input: answer("consent", false),
      to: { step: "declined" },
      effects: [
        { type: "record", which: "consent", decision: "decline", version: V.consent },
        { type: "participant-status", status: "declined" },
      ],
      buttons: [],
    },
    {
      name: "assent agreed → ended, consented, the first timepoint opens",
      from: ask("assent"),
      input: answer("assent", true),
      to: { step: "done" },
      effects: [
        { type: "record", which: "assent", decision: "agree", version: V.assent },
        { type: "participant-status", status: "consented" },
        { type: "open-first-timepoint" },
      ],
      buttons: [],
    },
    {
      name: "assent declined → ended",
      from: ask("assent"),
      input: answer("assent", false),
      to: { step: "declined" },
      effects: [
        { type: "record", which: "assent", decision: "decline", version: V.assent },
        { type: "participant-status", status: "declined" },
      ],
      buttons: [],
    },
  ];
  it.each(rows)("$name", async ({ from, input, to, effects, buttons }) => {
    expect(kind.step(from, input)).toEqual({ ok: true, state: to, effects });
    expect(kind.finished(to)).toBe(buttons.length === 0);
    expect((await kind.view(to)).buttons).toEqual(buttons);
  });

  const stale: Array<{ name: string; from: ConsentState; input: ConsentAnswer }> = [
    {
      name: "the assent's button at the consent prompt",
      from: ask("consent"),
      input: answer("assent", true),
    },
    {
      name: "the consent's button at the assent prompt",
      from: ask("assent"),
      input: answer("consent", false),
    },
    {
      name: "a prompt for an older text",
      from: { step: "consent", version: "0.9" },
      input: answer("consent", true),
    },
    {
      name: "a legacy button for another version",
      from: ask("consent"),
      input: { ...answer("consent", true), version: "0.9" },
    },
    { name: "a press after a decline", from: { step: "declined" }, input: answer("consent", true) },
    {
      name: "a press after both were given",
      from: { step: "done" },
      input: answer("assent", true),
    },
  ];
  it.each(stale)("$name is stale; the state is unchanged", ({ from, input }) => {
    const before = structuredClone(from);
    expect(kind.step(from, input)).toEqual({ ok: false, reason: "stale" });
    expect(from).toEqual(before);
  });

  it("the prompts: title with the version, the assent's instructions, the text escaped", async () => {
    const consent = await kind.view(ask("consent"));
    expect(consent.html).toBe(
      `[consent-title {"version":"${V.consent}"}]\n\n${escape(flows.study.consent.text.en!)}`,
    );
    expect(consent.buttons).toEqual([
      [
        { text: "[consent-agree]", op: "y", arg: "consent" },
        { text: "[consent-decline]", op: "n", arg: "consent" },
      ],
    ]);
    expect((await kind.view(ask("assent"))).html).toBe(
      `[assent-title {"version":"${V.assent}"}]\n<i>[assent-instructions]</i>\n\n${escape(flows.study.assent.text.en!)}`,
    );
    expect((await kind.view({ step: "declined" })).html).toBe("[declined-final]");
    expect(kind.recorded({ which: "assent", decision: "decline", version: "1.0" })).toEqual({
      html: `[assent-title {"version":"1.0"}]\n\n<b>[assent-recorded-decline {"version":"1.0"}]</b>`,
      buttons: [],
    });
  });

  it("a stored prompt for a text that has changed is not continued", () => {
    expect(kind.parse(JSON.stringify(ask("assent")))).toEqual(ask("assent"));
    expect(kind.parse(JSON.stringify({ step: "assent", version: "0.9" }))).toBeNull();
  });
});

function escape(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

// ---------------------------------------------------------------------------------------------
// On the runtime, with a real database

let t: TempDb;
let account: ConsentEnv["account"];
let rt: Runtime<ConsentState, ConsentAnswer, ConsentEffect, ConsentRejection>;

/** A parent enrolled by invite (through the use cases), as the bot would have them. */
async function enrolParent(telegramUserId: string, code = "CK-01") {
  if (!(await t.db.participant.findUnique({ where: { code } })))
    await addParticipant(
      t.db,
      { code, arm: "experimental", gender: "female", ageYears: 9 },
      { kind: "cli" },
    );
  const invite = await createInvite(
    t.db,
    { role: "parent", participantCode: code, ttlHours: 24 },
    { kind: "cli" },
    now(),
  );
  const r = await redeemInvite(
    t.db,
    { telegramUserId, chatId: telegramUserId, code: invite.code, locale: "en" },
    now(),
  );
  if (!r.ok) throw new Error(r.reason);
  return { id: r.account.id, role: r.account.role, participantId: r.account.participantId };
}

function runtimeFor(a: ConsentEnv["account"]) {
  return conversationRuntime(consentKind(env(a)), { db: t.db, now });
}

const presenter: Presenter = {
  send: async () => 100,
  edit: async () => {},
  strip: async () => {},
};

const processed = (updateId: number) => async (tx: Parameters<typeof recordProcessed>[0]) =>
  recordProcessed(tx, updateId, now());

/** Everything a decision writes, as one comparable value. */
async function written() {
  const [consents, audit, participant, sets] = await Promise.all([
    t.db.consent.findMany({ orderBy: { id: "asc" } }),
    t.db.auditEvent.findMany({
      where: { action: { in: ["consent.record", "assent.record"] } },
      orderBy: { seq: "asc" },
    }),
    t.db.participant.findUniqueOrThrow({ where: { id: account.participantId! } }),
    t.db.responseSet.count(),
  ]);
  return { consents, audit, status: participant.status, sets };
}

const row = (accountId = account.id) =>
  t.db.conversationState.findUnique({ where: { accountId_kind: { accountId, kind: "consent" } } });

/** The consent prompt started and shown: nonce 1, bound to message 100. */
async function shown(a = account, rtx = rt) {
  const conv = await rtx.present(await rtx.start(a.id, ask("consent")), presenter);
  expect(conv).toMatchObject({ nonce: 1, messageId: 100 });
  return conv;
}

describe("consent kind on the runtime", () => {
  beforeEach(async () => {
    t = await tempDatabase();
    account = await enrolParent("601");
    rt = runtimeFor(account);
  });
  afterEach(async () => t.cleanup());

  it("a live press records the decision, its audit event and the processed update in one step", async () => {
    await shown();
    const out = await rt.press(
      account.id,
      { nonce: 1, messageId: 100 },
      answer("consent", true),
      processed(41),
    );
    expect(out).toMatchObject({
      status: "stepped",
      conv: { nonce: 2, messageId: null, state: ask("assent") },
      finished: false,
    });
    const w = await written();
    expect(w.consents).toMatchObject([
      {
        participantId: account.participantId,
        kind: "consent",
        decision: "agree",
        version: V.consent,
        recordedByAccountId: account.id,
        recordedByRole: "parent",
        at: now(),
      },
    ]);
    // Audited with the actor and the UTC time of the decision.
    expect(w.audit).toMatchObject([
      { action: "consent.record", actor: "account", actorAccountId: account.id, at: now() },
    ]);
    expect(JSON.parse(w.audit[0]!.data)).toEqual({
      participant: account.participantId,
      decision: "agree",
      version: V.consent,
    });
    expect(await wasProcessed(t.db, 41)).toBe(true);
    expect(await row()).toMatchObject({ nonce: 2, messageId: null, machineVersion: "consent.1" });
  });

  it("the assent ends the conversation: consented, the first questionnaires open, the row goes", async () => {
    await shown();
    await rt.press(account.id, { nonce: 1, messageId: 100 }, answer("consent", true));
    const out = await rt.press(
      account.id,
      { nonce: 2, messageId: 555 },
      answer("assent", true),
      processed(42),
    );
    expect(out).toMatchObject({
      status: "stepped",
      finished: true,
      conv: { state: { step: "done" } },
    });
    const w = await written();
    expect(w.status).toBe("consented");
    expect(w.sets).toBeGreaterThan(0);
    expect(w.audit.map((a) => a.action)).toEqual(["consent.record", "assent.record"]);
    expect(await row()).toBeNull();
    expect(await wasProcessed(t.db, 42)).toBe(true);
  });

  it("a decline is final: declined, nothing opens, no further press counts", async () => {
    await shown();
    await rt.press(account.id, { nonce: 1, messageId: 100 }, answer("consent", false));
    const w = await written();
    expect(w.status).toBe("declined");
    expect(w.sets).toBe(0);
    expect(await row()).toBeNull();
    expect(
      (await rt.press(account.id, { nonce: 2, messageId: 100 }, answer("consent", true))).status,
    ).toBe("stale");
    expect(await written()).toEqual(w);
  });

  const stalePresses: { name: string; press: { nonce: number; messageId: number | undefined } }[] =
    [
      { name: "an older nonce", press: { nonce: 0, messageId: 100 } },
      { name: "a newer nonce", press: { nonce: 2, messageId: 100 } },
      { name: "another message", press: { nonce: 1, messageId: 99 } },
    ];
  for (const c of stalePresses) {
    it(`${c.name}: stale, nothing written, the update not marked`, async () => {
      await shown();
      const before = { row: await row(), w: await written() };
      const out = await rt.press(account.id, c.press, answer("consent", true), processed(43));
      expect(out.status).toBe("stale");
      expect({ row: await row(), w: await written() }).toEqual(before);
      expect(await wasProcessed(t.db, 43)).toBe(false);
    });
  }

  it("a row written by another machine version is not continued", async () => {
    await shown();
    await t.db.conversationState.update({
      where: { accountId_kind: { accountId: account.id, kind: "consent" } },
      data: { machineVersion: "consent.0" },
    });
    const out = await rt.press(account.id, { nonce: 1, messageId: 100 }, answer("consent", true));
    expect(out.status).toBe("stale");
    expect((await written()).consents).toEqual([]);
  });

  it("two presses of one button race: one records, the other is stale (compare-and-set)", async () => {
    const conv = await shown();
    const outs = await Promise.all([
      rt.step(conv, answer("consent", true), processed(44)),
      rt.step(conv, answer("consent", true), processed(45)),
    ]);
    expect(outs.map((o) => o.status).sort()).toEqual(["stale", "stepped"]);
    expect((await written()).consents).toHaveLength(1);
    expect([await wasProcessed(t.db, 44), await wasProcessed(t.db, 45)].sort()).toEqual([
      false,
      true,
    ]);
  });

  it("a decision recorded meanwhile in another of the family's chats makes the press stale and rolls it back", async () => {
    const other = await enrolParent("602");
    const otherRt = runtimeFor(other);
    await shown();
    await shown(other, otherRt);
    await otherRt.press(other.id, { nonce: 1, messageId: 100 }, answer("consent", true));
    const before = { row: await row(), w: await written() };
    const out = await rt.press(
      account.id,
      { nonce: 1, messageId: 100 },
      answer("consent", true),
      processed(46),
    );
    expect(out).toMatchObject({ status: "rejected", reason: "stale" });
    expect({ row: await row(), w: await written() }).toEqual(before);
    expect(before.w.consents).toHaveLength(1);
    expect(await wasProcessed(t.db, 46)).toBe(false);
  });

  it("an account not bound to a family is refused inside the step, and nothing is written", async () => {
    const staff = await t.db.account.create({
      data: { telegramUserId: "603", chatId: "603", role: "facilitator" },
    });
    const staffAccount = { id: staff.id, role: staff.role, participantId: null };
    const staffRt = runtimeFor(staffAccount);
    await shown(staffAccount, staffRt);
    const before = await written();
    const out = await staffRt.press(
      staff.id,
      { nonce: 1, messageId: 100 },
      answer("consent", true),
      processed(47),
    );
    expect(out).toMatchObject({ status: "rejected", reason: "not-allowed" });
    expect(await written()).toEqual(before);
    expect(await wasProcessed(t.db, 47)).toBe(false);
  });
});

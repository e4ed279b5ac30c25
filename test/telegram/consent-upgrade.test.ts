// Consent and assent after the upgrade that moved them onto the conversation runtime. A family
// shown a prompt by the version before has its buttons in the chat (callback data bound to the text
// version, no nonce) and no consent conversation: pressing one still records the decision — once,
// audited, through the runtime's step — and the conversation goes on with nonce-bound prompts. A
// legacy button for another text version, or once a prompt of the runtime is live, changes
// nothing (toast). The prompts read exactly as before.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { makeTestBot, shippedFlows, type TestBot } from "../support/bot.js";
import type { FakeMessage, FakeUser } from "../support/fake-telegram.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";
import { redeemInvite } from "../../src/usecases/enrolment.js";
import { decodeCallback } from "../../src/telegram/callback-data.js";
import { escapeHtml } from "../../src/telegram/html.js";
import { t as text } from "../../src/study/model.js";

const flows = shippedFlows();
const V = { consent: flows.study.consent.version, assent: flows.study.assent.version };
const STALE = "This button is no longer active.";

let tmp: TempDb;
let tb: TestBot;
let parent: FakeUser;
let participantId: number;

beforeEach(async () => {
  tmp = await tempDatabase();
  tb = makeTestBot(tmp.db, tmp.url);
  const p = await addParticipant(
    tb.db,
    { code: "UP-01", arm: "experimental", gender: "female", ageYears: 9 },
    { kind: "cli" },
  );
  participantId = p.id;
  // Enrolled by the version before: the account exists, no consent conversation does.
  const invite = await createInvite(
    tb.db,
    { role: "parent", participantCode: "UP-01", ttlHours: 24 },
    { kind: "cli" },
  );
  const r = await redeemInvite(
    tb.db,
    { telegramUserId: "801", chatId: "801", code: invite.code, locale: "en" },
    new Date(),
  );
  if (!r.ok) throw new Error(r.reason);
  parent = tb.user(801);
});
afterEach(async () => {
  await tb.db.$disconnect();
  await tmp.cleanup();
});

const tr = (key: string, vars?: Record<string, string | number>) => tb.services.tr("en", key, vars);

/** The prompt exactly as the version before wrote it. */
function oldPromptHtml(which: "consent" | "assent", version: string): string {
  const body = escapeHtml(text(flows.study[which].text, "en"));
  const title = tr(`${which}-title`, { version });
  return which === "consent"
    ? `${title}\n\n${body}`
    : `${title}\n<i>${tr("assent-instructions")}</i>\n\n${body}`;
}

/** A prompt as the version before sent it: buttons bound to the text version, no nonce. */
async function legacyPrompt(which: "consent" | "assent", version = V[which]): Promise<FakeMessage> {
  const w = which === "consent" ? "c" : "a";
  await tb.services.messenger.send(801, oldPromptHtml(which, version), [
    [
      { text: tr(`${which}-agree`), callback_data: `1c:${w}:y:${version}` },
      { text: tr(`${which}-decline`), callback_data: `1c:${w}:n:${version}` },
    ],
  ]);
  return parent.last();
}

/** Everything a decision writes. */
async function records() {
  const [consents, audit, p, sets] = await Promise.all([
    tb.db.consent.findMany({ orderBy: { id: "asc" } }),
    tb.db.auditEvent.findMany({
      where: { action: { in: ["consent.record", "assent.record"] } },
      orderBy: { seq: "asc" },
    }),
    tb.db.participant.findUniqueOrThrow({ where: { id: participantId } }),
    tb.db.responseSet.count(),
  ]);
  return {
    decisions: consents.map((c) => `${c.kind} ${c.decision} ${c.version}`),
    audit: audit.map((a) => `${a.action} by ${a.actorAccountId}`),
    status: p.status,
    sets,
  };
}

const consentRow = () => tb.db.conversationState.findFirst({ where: { kind: "consent" } });

/** Presses a button's data on a message as it was (a client still showing the old buttons). */
async function pressData(m: FakeMessage, data: string): Promise<string | undefined> {
  const u = parent.pressUpdate(m, data);
  await parent.deliver(u);
  return parent.toastFor(u);
}

describe("consent prompts shown before the upgrade", () => {
  it("the legacy consent button records once; the assent then runs on the runtime", async () => {
    const legacy = await legacyPrompt("consent");
    const agree = `1c:c:y:${V.consent}`;
    await parent.press(tr("consent-agree"), legacy);
    const account = await tb.db.account.findUniqueOrThrow({ where: { telegramUserId: "801" } });
    expect(await records()).toEqual({
      decisions: [`consent agree ${V.consent}`],
      audit: [`consent.record by ${account.id}`],
      status: "enrolled",
      sets: 0,
    });
    // The pressed prompt shows the decision and no buttons, as before.
    const pressed = parent.messages().find((m) => m.messageId === legacy.messageId)!;
    expect(pressed.keyboard.flat()).toEqual([]);
    expect(pressed.html).toBe(
      `${tr("consent-title", { version: V.consent })}\n\n<b>${tr("consent-recorded-agree", { version: V.consent })}</b>`,
    );
    // The assent prompt reads as before; its buttons carry the conversation's nonce.
    const assent = parent.current();
    expect(assent.html).toBe(oldPromptHtml("assent", V.assent));
    const data = assent.keyboard
      .flat()
      .map((b) => decodeCallback((b as { callback_data: string }).callback_data));
    expect(data).toEqual([
      { kind: "consent", nonce: expect.any(Number), which: "assent", agree: true },
      { kind: "consent", nonce: expect.any(Number), which: "assent", agree: false },
    ]);
    expect(await consentRow()).toMatchObject({ messageId: assent.messageId });

    // The legacy button again (a client still showing it): stale, nothing more recorded.
    const before = await records();
    expect(await pressData(legacy, agree)).toBe(STALE);
    expect(await records()).toEqual(before);

    await parent.press(tr("assent-agree"));
    expect((await records()).status).toBe("consented");
    expect(parent.current().text).toMatch(/1\/\d+/);
    expect(await consentRow()).toBeNull();
    expect(tb.tg.rejections).toEqual([]);
  });

  it("a family that consented before the upgrade answers the legacy assent prompt", async () => {
    // The consent as the version before recorded it.
    const account = await tb.db.account.findUniqueOrThrow({ where: { telegramUserId: "801" } });
    await tb.db.consent.create({
      data: {
        participantId,
        kind: "consent",
        version: V.consent,
        decision: "agree",
        recordedByAccountId: account.id,
        recordedByRole: "parent",
      },
    });
    const legacy = await legacyPrompt("assent");
    await parent.press(tr("assent-agree"), legacy);
    expect(await records()).toMatchObject({
      decisions: [`consent agree ${V.consent}`, `assent agree ${V.assent}`],
      audit: [`assent.record by ${account.id}`],
      status: "consented",
    });
    expect((await records()).sets).toBeGreaterThan(0);
    expect(parent.current().text).toMatch(/1\/\d+/);
    expect(await consentRow()).toBeNull();
  });

  it("a crash between the migration's start and its step: the legacy button still counts, once", async () => {
    const legacy = await legacyPrompt("consent");
    const account = await tb.db.account.findUniqueOrThrow({ where: { telegramUserId: "801" } });
    // What the first attempt left: the conversation started from the records, nothing shown.
    await tb.db.conversationState.create({
      data: {
        accountId: account.id,
        kind: "consent",
        machineId: "consent",
        machineVersion: "consent.1",
        snapshot: JSON.stringify({ step: "consent", version: V.consent }),
        nonce: 1,
      },
    });
    await parent.press(tr("consent-agree"), legacy);
    expect((await records()).decisions).toEqual([`consent agree ${V.consent}`]);
    expect(await pressData(legacy, `1c:c:y:${V.consent}`)).toBe(STALE);
    expect((await records()).decisions).toEqual([`consent agree ${V.consent}`]);
  });

  it("a legacy decline is final", async () => {
    const legacy = await legacyPrompt("consent");
    await parent.press(tr("consent-decline"), legacy);
    expect(await records()).toMatchObject({
      decisions: [`consent decline ${V.consent}`],
      status: "declined",
      sets: 0,
    });
    expect(parent.last().text).toBe(tr("declined-final"));
    // Asking again only repeats that the family declined.
    await parent.send("/resume");
    expect(parent.last().text).toBe(tr("status-declined"));
    expect(await pressData(legacy, `1c:c:y:${V.consent}`)).toBe(STALE);
    expect((await records()).decisions).toEqual([`consent decline ${V.consent}`]);
  });

  it("a legacy button for another text version changes nothing and starts nothing", async () => {
    const legacy = await legacyPrompt("consent", "1.0");
    expect(V.consent).not.toBe("1.0");
    const before = await records();
    expect(await pressData(legacy, "1c:c:y:1.0")).toBe(STALE);
    expect(await records()).toEqual(before);
    expect(await consentRow()).toBeNull();
  });

  it("once the runtime shows the prompt, only its buttons count", async () => {
    const legacy = await legacyPrompt("consent");
    await parent.send("/resume");
    const prompt = parent.current();
    expect(prompt.messageId).not.toBe(legacy.messageId);
    expect(prompt.html).toBe(oldPromptHtml("consent", V.consent));
    expect(await pressData(legacy, `1c:c:y:${V.consent}`)).toBe(STALE);
    expect((await records()).decisions).toEqual([]);
    await parent.press(tr("consent-agree"), prompt);
    expect((await records()).decisions).toEqual([`consent agree ${V.consent}`]);
  });
});

describe("consent prompts on the runtime", () => {
  it("a prompt shown again makes the earlier one stale: its buttons go, a press on it changes nothing", async () => {
    await parent.send("/start");
    const first = parent.current();
    const agree = parent.button(first, tr("consent-agree"));
    await parent.send("hello?");
    const second = parent.current();
    expect(second.messageId).not.toBe(first.messageId);
    expect(second.html).toBe(first.html);
    expect(
      parent
        .messages()
        .find((m) => m.messageId === first.messageId)!
        .keyboard.flat(),
    ).toEqual([]);
    expect(await pressData(first, agree)).toBe(STALE);
    expect((await records()).decisions).toEqual([]);
    const again = parent.button(second, tr("consent-agree"));
    await parent.press(tr("consent-agree"), second);
    expect((await records()).decisions).toEqual([`consent agree ${V.consent}`]);
    // The consent button once more (a double tap that arrived late): stale.
    expect(await pressData(second, again)).toBe(STALE);
    expect((await records()).decisions).toEqual([`consent agree ${V.consent}`]);
  });
});

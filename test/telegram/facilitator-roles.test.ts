// Who may do what, stale and forged presses, notes and interviews with codes, nicknames, typed
// dates, cancelling, and the per-role commands menu.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import type { TestBot } from "../support/bot.js";
import type { FakeMessage } from "../support/fake-telegram.js";
import { createInvite } from "../../src/usecases/invites.js";
import { encodeCallback } from "../../src/telegram/callback-data.js";
import {
  consentedFamily,
  facilitatorBot,
  facilitatorFor,
  group,
  NOW,
  restartFacilitatorBot,
  texts,
  withButton,
} from "./facilitator-support.js";

let tmp: TempDb;
let tb: TestBot;

beforeEach(async () => {
  tmp = await tempDatabase();
  tb = facilitatorBot(tmp.db, tmp.url);
});
afterEach(async () => {
  await tb.db.$disconnect();
  await tmp.cleanup();
});

async function conversations() {
  return tb.db.conversationState.findMany({ where: { kind: { in: ["session", "note"] } } });
}

describe("facilitator roles and presses", () => {
  it("refuses facilitator commands and buttons to parents, researchers and strangers", async () => {
    await group(tb, "A");
    const parent = await consentedFamily(tb, "P01", 801, "A", { finishPre: false });
    const researcherInvite = await createInvite(
      tb.db,
      { role: "researcher", ttlHours: 24 },
      { kind: "cli" },
      NOW,
    );
    const researcher = tb.user(802);
    await researcher.send(`/start ${researcherInvite.code}`);
    const stranger = tb.user(803);
    for (const u of [parent, researcher]) {
      for (const cmd of ["/session", "/note", "/interview P01 hello", "/nickname P01 Mia"]) {
        await u.send(cmd);
        expect(u.last().text, cmd).toBe("This command is not available for your role.");
      }
      const forged = u.pressUpdate(
        u.last(),
        encodeCallback({ kind: "x", feature: "ses", parts: ["1", "g", "1"] }),
      );
      await u.deliver(forged);
      expect(u.toastFor(forged)).toBe("Not available for your role.");
    }
    await stranger.send("/session");
    expect(stranger.last().text).toMatch(/not enrolled/);
    expect(await conversations()).toHaveLength(0);
    expect(await tb.db.groupSession.count()).toBe(0);
    expect(await tb.db.note.count()).toBe(0);
    expect(await tb.db.nickname.count()).toBe(0);
  });

  it("keeps a facilitator to their own groups, and stale or forged presses change nothing", async () => {
    const a = await group(tb, "A");
    await group(tb, "B");
    await consentedFamily(tb, "PA1", 811, "A", { finishPre: false });
    await consentedFamily(tb, "PB1", 812, "B", { finishPre: false });
    await consentedFamily(tb, "PB2", 813, "B", { finishPre: false });
    const pa1 = await tb.db.participant.findUniqueOrThrow({ where: { code: "PA1" } });
    const facB = await facilitatorFor(tb, 820, "B");

    await facB.send("/session");
    const picker = facB.current();
    expect(picker.text.startsWith("B\n\nWhich session?")).toBe(true); // straight to group B, the only one
    // A forged press for group A, with the right nonce, is refused.
    const nonce = decodeNonce(picker);
    const forgedGroup = facB.pressUpdate(
      picker,
      encodeCallback({ kind: "x", feature: "ses", parts: [String(nonce), "g", String(a.id)] }),
    );
    await facB.deliver(forgedGroup);
    expect(facB.toastFor(forgedGroup)).toBe("This is not one of your groups.");
    expect(await tb.db.groupSession.count({ where: { groupId: a.id } })).toBe(0);

    await facB.press(/^▶ Session 1/);
    await facB.press(/^Today/);
    const attendance = facB.current();
    expect(
      attendance.keyboard
        .flat()
        .map((b) => b.text)
        .filter((t) => t.startsWith("⬜")),
    ).toEqual(["⬜ PB1", "⬜ PB2"]);
    // Toggling a child of another group (forged) is refused.
    const forgedToggle = facB.pressUpdate(
      attendance,
      encodeCallback({
        kind: "x",
        feature: "ses",
        parts: [String(decodeNonce(attendance)), "t", String(pa1.id)],
      }),
    );
    await facB.deliver(forgedToggle);
    expect(facB.toastFor(forgedToggle)).toBe("This button is no longer active.");
    const pb2Data = facB.button(attendance, "⬜ PB2");
    await facB.press("⬜ PB1");
    // Done with nobody would be refused; here one child is marked.
    await facB.press("Done ▶ (1)");
    expect(await tb.db.attendance.count({ where: { present: true } })).toBe(1);
    // The old attendance keyboard is stale now: pressing it changes nothing.
    const stale = facB.pressUpdate(attendance, pb2Data);
    await facB.deliver(stale);
    expect(facB.toastFor(stale)).toBe("This button is no longer active.");
    expect(await tb.db.attendance.count({ where: { present: true } })).toBe(1);
    // A redelivered update (same update id) is answered but not applied twice.
    const header = withButton(facB, "⏭ Skip this child");
    const skip = facB.pressUpdate(header, facB.button(header, "⏭ Skip this child"));
    await facB.deliver(skip);
    await facB.deliver(skip);
    expect(await tb.db.auditEvent.count({ where: { action: "observation.skip" } })).toBe(1);

    // Notes and nicknames for children of other groups are refused.
    await facB.send("/note PA1 Something");
    expect(facB.last().text).toContain('"PA1" is not a child in your groups.');
    await facB.send("/nickname PA1 Sam");
    expect(facB.last().text).toContain('"PA1" is not a child in your groups.');
    expect(await tb.db.note.count()).toBe(0);
    expect(await tb.db.nickname.count()).toBe(0);
  });

  it("cancels setup without saving, and takes a typed date (never a future one)", async () => {
    await group(tb, "A");
    await consentedFamily(tb, "P01", 831, "A", { finishPre: false });
    const fac = await facilitatorFor(tb, 840, "A");
    await fac.send("/session");
    await fac.press(/^▶ Session 1/);
    await fac.press("✖ Cancel");
    expect(fac.last().text).toMatch(/Cancelled/);
    expect(await conversations()).toHaveLength(0);
    expect(await tb.db.attendance.count()).toBe(0);

    await fac.send("/session");
    await fac.press(/^▶ Session 1/);
    await fac.send("2026-12-02");
    expect(fac.last().text).toMatch(/not later than today \(2026-12-01\)/);
    await fac.send("yesterday-ish");
    expect(fac.current().text).toContain("When was the session held?");
    await fac.send("2026-11-28");
    expect(fac.current().text).toContain("Held on 2026-11-28");
    await fac.press("⬜ P01");
    await fac.press(/^Done/);
    const s = await tb.db.groupSession.findFirstOrThrow();
    expect(s.heldOn?.toISOString().slice(0, 10)).toBe("2026-11-28");
  });

  it("pauses an observation and resumes it (any message, or /session) at the same item", async () => {
    await group(tb, "A");
    await consentedFamily(tb, "P01", 841, "A", { finishPre: false });
    const fac = await facilitatorFor(tb, 842, "A");
    await fac.send("/session");
    await fac.press(/^▶ Session 1/);
    await fac.press(/^Today/);
    await fac.press("⬜ P01");
    await fac.press(/^Done/);
    await fac.press("Often");
    await fac.press("⏸ Pause");
    expect(fac.last().text).toMatch(/Paused/);
    expect(fac.tg.withButtons(fac.id).filter((m) => /2\/7/.test(m.text))).toHaveLength(0);
    // /resume is the families' command; a facilitator resumes with any message or /session.
    await fac.send("/resume");
    expect(fac.last().text).toBe("This command is not available for your role.");
    await fac.send("back again");
    expect(fac.current().text).toMatch(/2\/7/);
    await fac.press("⏸ Pause");
    await fac.send("/session");
    expect(fac.current().text).toMatch(/2\/7/);
    expect(withButton(fac, "⏭ Skip this child").text).toContain("P01");
    expect(
      await tb.db.answer.count({ where: { responseSet: { respondent: "facilitator" } } }),
    ).toBe(1);
  });

  it("writes notes and interview notes tagged with codes, restart-safe, with the text kept out of the audit trail", async () => {
    await group(tb, "A");
    await consentedFamily(tb, "P01", 851, "A", { finishPre: false });
    await consentedFamily(tb, "P02", 852, "A", { finishPre: false });
    const fac = await facilitatorFor(tb, 860, "A");

    await fac.send("/note");
    await fac.press("P02");
    expect(fac.current().text).toContain("Write the note on P02");
    await fac.send("Offered her crayons to a new girl.");
    // Codes: a multi-select keyboard; toggles edit the same message.
    const coding = fac.current();
    await fac.press("⬜ Peer support");
    await fac.press("⬜ Humour and play");
    await fac.press("✅ Humour and play");
    await fac.press("⬜ Taking initiative");
    expect(fac.current().messageId).toBe(coding.messageId);
    // A second message adds to the same note.
    await fac.send("Later they played together.");
    expect(fac.current().text).toContain("Later they played together.");

    tb = await restartFacilitatorBot(tb, tmp.url);
    const fac2 = tb.user(860);
    expect(
      fac2
        .current()
        .keyboard.flat()
        .map((b) => b.text),
    ).toContain("✅ Peer support");
    await fac2.press("💾 Save (2 codes)");
    expect(fac2.last().text).toMatch(
      /Saved the note on P02.*Codes: Peer support, Taking initiative/s,
    );

    // /interview with the child and the text in one go, then a code.
    await fac2.send("/interview p01 Mother says he sleeps better since the group.");
    await fac2.press("⬜ Family");
    await fac2.press("💾 Save (1 code)");

    const notes = await tb.db.note.findMany({
      include: { participant: true },
      orderBy: { id: "asc" },
    });
    expect(notes.map((n) => [n.participant.code, n.kind, n.text, JSON.parse(n.codes)])).toEqual([
      [
        "P02",
        "note",
        "Offered her crayons to a new girl.\nLater they played together.",
        ["peer_support", "initiative"],
      ],
      ["P01", "interview", "Mother says he sleeps better since the group.", ["family"]],
    ]);
    const created = await tb.db.auditEvent.findMany({ where: { action: "note.create" } });
    expect(created).toHaveLength(2);
    for (const e of created) {
      expect(e.data).not.toContain("crayons");
      expect(e.data).not.toContain("sleeps");
    }
    expect(await conversations()).toHaveLength(0);

    // Cancelling discards the draft.
    await fac2.send("/note P01 Draft to throw away");
    await fac2.press("✖ Cancel");
    expect(await tb.db.note.count()).toBe(2);
  });

  it("shows a facilitator's nickname only in their own chat and never in the audit trail", async () => {
    await group(tb, "A");
    await consentedFamily(tb, "P01", 871, "A", { finishPre: false });
    const fac1 = await facilitatorFor(tb, 880, "A");
    const fac2 = await facilitatorFor(tb, 881, "A");
    await fac1.send("/nickname P01 Mia");
    expect(fac1.last().text).toContain('P01 is now shown to you as "Mia"');
    await fac1.send("/nickname");
    expect(fac1.last().text).toContain("P01 · Mia");

    await fac1.send("/session");
    await fac1.press(/^▶ Session 1/);
    await fac1.press(/^Today/);
    expect(
      fac1
        .current()
        .keyboard.flat()
        .map((b) => b.text),
    ).toContain("⬜ P01 · Mia");
    await fac1.press("✖ Cancel");
    await fac2.send("/session");
    await fac2.press(/^▶ Session 1/);
    await fac2.press(/^Today/);
    expect(
      fac2
        .current()
        .keyboard.flat()
        .map((b) => b.text),
    ).toContain("⬜ P01");
    for (const t of texts(fac2)) expect(t).not.toContain("Mia");
    const audit = await tb.db.auditEvent.findMany();
    expect(audit.some((e) => e.action === "nickname.set")).toBe(true);
    for (const e of audit) expect(e.data).not.toContain("Mia");

    await fac1.send("/nickname P01");
    expect(await tb.db.nickname.count()).toBe(0);
  });

  it("sets the commands menu per role and language for the chat", async () => {
    await group(tb, "A");
    const fac = await facilitatorFor(tb, 890, "A");
    const set = tb.tg
      .callsOf("setMyCommands")
      .filter((c) => (c.payload.scope as { chat_id?: number }).chat_id === 890);
    expect(set).toHaveLength(1);
    expect(set[0]!.payload.scope).toEqual({ type: "chat", chat_id: 890 });
    const names = (set[0]!.payload.commands as { command: string }[]).map((c) => c.command);
    expect(names).toEqual(expect.arrayContaining(["session", "note", "interview"]));
    await fac.send("/language");
    await fac.press("简体中文");
    const zh = tb.tg
      .callsOf("setMyCommands")
      .filter((c) => (c.payload.scope as { chat_id?: number }).chat_id === 890)
      .at(-1)!;
    expect(
      (zh.payload.commands as { command: string; description: string }[]).find(
        (c) => c.command === "session",
      )!.description,
    ).toBe("记录小组活动");
    // And the facilitator's own texts follow the language.
    await fac.send("/session");
    expect(fac.current().text).toContain("第几次活动？");
  });
});

function decodeNonce(m: FakeMessage): number {
  const data = (m.keyboard.flat()[0] as { callback_data: string }).callback_data;
  return Number(data.split(":")[2]);
}

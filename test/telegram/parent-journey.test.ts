import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import { makeTestBot, restart, shippedFlows, type TestBot } from "../support/bot.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { createInvite } from "../../src/usecases/invites.js";

let tmp: TempDb;
let tb: TestBot;

beforeEach(async () => {
  tmp = await tempDatabase();
  tb = makeTestBot(tmp.db, tmp.url);
});
afterEach(async () => {
  await tb.db.$disconnect();
  await tmp.cleanup();
});

async function parentInvite(
  code: string,
  arm: "experimental" | "control" | "none" = "experimental",
) {
  await addParticipant(tb.db, { code, arm, gender: "male", ageYears: 8 }, { kind: "cli" });
  return (
    await createInvite(
      tb.db,
      { role: "parent", participantCode: code, ttlHours: 24 },
      { kind: "cli" },
    )
  ).code;
}

describe("parent journey", () => {
  it("enrols, consents, and answers every pre-test item exactly once despite garbage, a stale button, Back, Pause and a restart", async () => {
    const flows = shippedFlows();
    const code = await parentInvite("P01");
    const parent = tb.user(501);
    await parent.send(`/start ${code}`);
    expect(parent.current().text).toContain(flows.study.consent.version);
    // Nothing is asked before consent: typing gets the consent prompt again.
    await parent.send("hello?");
    await parent.press("I agree");
    await parent.press("My child agrees");
    const first = parent.current();
    expect(first.text).toMatch(/1\/23/);

    // Garbage text and a sticker where a button is expected: re-asked, nothing stored.
    await parent.send("banana");
    await parent.sticker();
    expect(await tb.db.answer.count()).toBe(0);
    const q1 = parent.current();
    const q1FirstButton = (q1.keyboard[0]![0]! as { callback_data: string }).callback_data;
    await parent.press((t) => t.length > 0 && !/Back|Pause|Skip/.test(t));
    expect(await tb.db.answer.count()).toBe(1);
    // The question now shows the answer and has no buttons.
    const answered = parent.messages().find((m) => m.messageId === q1.messageId)!;
    expect(answered.keyboard.flat()).toHaveLength(0);
    expect(answered.text).toContain("✓");

    // A stale press (on the old question) gets a toast and changes nothing.
    const staleUpdate = parent.pressUpdate(answered, q1FirstButton);
    await parent.deliver(staleUpdate);
    expect(parent.toastFor(staleUpdate)).toMatch(/no longer active/);
    expect(await tb.db.answer.count()).toBe(1);

    // Back shows item 1 again; answer it differently.
    await parent.press("◀ Back");
    expect(parent.current().text).toMatch(/1\/23/);
    await parent.press("A problem nearly all the time");
    expect(parent.current().text).toMatch(/2\/23/);
    expect(await tb.db.answer.count()).toBe(1);

    // Pause, then any message resumes at the exact item.
    await parent.press("⏸ Pause");
    expect(parent.last().text).toMatch(/Paused/);
    await parent.send("I'm back");
    expect(parent.current().text).toMatch(/2\/23/);

    // Answer a few, then restart the process.
    for (let i = 0; i < 5; i++) await parent.press((t) => !/Back|Pause|Skip/.test(t));
    expect(parent.current().text).toMatch(/7\/23/);
    tb = await restart(tb, tmp.url);
    const again = tb.user(501);
    await again.send("/resume");
    expect(again.current().text).toMatch(/7\/23/);

    // Finish everything assigned at pre (parent instruments, then the child's with a handoff).
    let guard = 0;
    while (guard++ < 200) {
      const cur = again.tg.withButtons(501).at(-1);
      if (!cur) break;
      if (cur.keyboard.flat().some((b) => b.text === "I'm ready")) {
        await again.press("I'm ready");
        continue;
      }
      await again.press((t) => !/Back|Pause|Skip/.test(t), cur);
    }
    expect(again.last().text).toMatch(/everything for now/);

    const sets = await tb.db.responseSet.findMany({ include: { answers: true } });
    const assigned = flows.study.assignments.timepoints.filter(
      (a) => a.timepoint === "pre" && (!a.arms || a.arms.includes("experimental")),
    );
    const expectedIds = assigned.flatMap((a) => [...a.parent, ...a.child]);
    expect(sets.map((s) => s.instrumentId).sort()).toEqual([...expectedIds].sort());
    for (const s of sets) {
      const ins = flows.instruments.get(s.instrumentId)!;
      expect(s.status).toBe("complete");
      expect(s.answers.map((a) => a.itemId).sort()).toEqual(ins.items.map((i) => i.id).sort());
      for (const a of s.answers) expect(a.instrumentHash).toBe(ins.hash);
      if (s.respondent === "child") expect(s.answers.every((a) => a.childAnswered)).toBe(true);
    }
    // Telegram accepted every call the bot made.
    expect(again.tg.rejections.map((r) => `${r.method}: ${r.description}`)).toEqual([]);
    // The correction after Back is in the audit trail with the original value.
    const corrections = await tb.db.auditEvent.findMany({ where: { action: "answer.correct" } });
    expect(corrections).toHaveLength(1);
    expect(JSON.parse(corrections[0]!.data).previous).not.toBeUndefined();
  });
});

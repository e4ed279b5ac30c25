// The facilitator's session log end to end through handleUpdate, on a real SQLite file: attendance,
// observations for three children (one skipped), the reflection, a process restart in the middle,
// closing, the satisfaction questionnaires reaching exactly the attending families, a low rating
// alerting the facilitator privately, a divergence flag, and an amendment in the audit trail.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import type { TestBot } from "../support/bot.js";
import { withdrawParticipant } from "../../src/telegram/conversation/withdrawal.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import {
  consentedFamily,
  deliverOutbox,
  facilitatorBot,
  facilitatorFor,
  group,
  NOW,
  restartFacilitatorBot,
  TODAY,
  texts,
  withButton,
} from "./facilitator-support.js";
import { addParticipant } from "../../src/usecases/participants.js";

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

const OBSERVATION_ITEMS = 6;

describe("facilitator session log", () => {
  it("logs a session with a skipped child and a restart, reaches exactly the attending families, alerts privately, and audits an amendment", async () => {
    await group(tb, "A");
    const p1 = await consentedFamily(tb, "P01", 601, "A");
    const p2 = await consentedFamily(tb, "P02", 602, "A");
    const p3 = await consentedFamily(tb, "P03", 603, "A");
    const p4 = await consentedFamily(tb, "P04", 604, "A"); // absent today
    const p5 = await consentedFamily(tb, "P05", 605, "A"); // withdraws before the session
    await addParticipant(
      tb.db,
      { code: "P06", arm: "experimental", gender: "male", ageYears: 7, group: "A" },
      { kind: "cli" },
    ); // parent not enrolled yet
    const p5row = await tb.db.participant.findUniqueOrThrow({ where: { code: "P05" } });
    await withdrawParticipant(tb.db, p5row.id, "keep", { kind: "cli" }, NOW);
    const fac = await facilitatorFor(tb, 700, "A");
    const setsBefore = await tb.db.responseSet.count();
    const chatLength = (u: typeof p1) => u.messages().length;
    const before = new Map([p1, p2, p3, p4, p5].map((u) => [u.id, chatLength(u)]));

    // One group: straight to the session number; the next one is offered first.
    await fac.send("/session");
    expect(fac.current().text).toContain("Which session?");
    await fac.press("▶ Session 1 · Hello, circle");
    await fac.press(`Today · ${TODAY}`);

    // Attendance: a toggle keyboard of codes; withdrawn children are not listed.
    const attendance = fac.current();
    const listed = attendance.keyboard.flat().map((b) => b.text);
    expect(listed.filter((l) => l.startsWith("⬜"))).toEqual([
      "⬜ P01",
      "⬜ P02",
      "⬜ P03",
      "⬜ P04",
      "⬜ P06",
    ]);
    await fac.press("⬜ P01");
    await fac.press("⬜ P02");
    await fac.press("⬜ P03");
    await fac.press("✅ P02"); // untick
    expect(
      fac
        .current()
        .keyboard.flat()
        .map((b) => b.text),
    ).toContain("⬜ P02");
    await fac.press("⬜ P02"); // and tick again
    expect(fac.current().messageId).toBe(attendance.messageId); // toggles edit the same message
    expect(
      fac
        .current()
        .keyboard.flat()
        .map((b) => b.text),
    ).toContain("Done ▶ (3)");
    await fac.press("Done ▶ (3)");
    const session = await tb.db.groupSession.findFirstOrThrow({
      include: { attendance: { include: { participant: true } } },
    });
    expect(session.status).toBe("logging");
    expect(session.heldOn?.toISOString().slice(0, 10)).toBe(TODAY);
    expect(
      session.attendance
        .filter((a) => a.present)
        .map((a) => a.participant.code)
        .sort(),
    ).toEqual(["P01", "P02", "P03"]);
    expect(
      session.attendance
        .filter((a) => !a.present)
        .map((a) => a.participant.code)
        .sort(),
    ).toEqual(["P04", "P06"]);

    // Child 1: six ratings and a typed note.
    expect(withButton(fac, "⏭ Skip this child").text).toContain("Observation 1 of 3: P01");
    // Every observation question names the child it is about.
    expect(fac.current().text).toContain("👤 P01");
    for (let i = 0; i < OBSERVATION_ITEMS; i++) await fac.press("Often");
    expect(fac.current().text).toMatch(/7\/7/);
    await fac.send("Joined the circle game without prompting.");
    // Child 2: skipped from the header.
    const header2 = withButton(fac, "⏭ Skip this child");
    expect(header2.text).toContain("Observation 2 of 3: P02");
    await fac.press("⏭ Skip this child", header2);
    expect(fac.messages().find((m) => m.messageId === header2.messageId)!.text).toMatch(
      /P02\n— Skipped/,
    );
    // The question left unanswered for the skipped child is removed: the chat reads as a record.
    expect(
      fac
        .messages()
        .filter(
          (m) =>
            m.keyboard.flat().length === 0 && /1\/7/.test(m.text) && !/✓|— skipped/.test(m.text),
        ),
    ).toHaveLength(0);
    // Child 3: three ratings, then the process restarts.
    expect(withButton(fac, "⏭ Skip this child").text).toContain("Observation 3 of 3: P03");
    for (let i = 0; i < 3; i++) await fac.press("Sometimes");
    const questionBeforeRestart = fac.current();
    expect(questionBeforeRestart.text).toMatch(/4\/7/);

    tb = await restartFacilitatorBot(tb, tmp.url);
    const fac2 = tb.user(700);
    // The buttons sent before the restart still work, at the same item.
    await fac2.press("Sometimes", questionBeforeRestart);
    expect(fac2.current().text).toMatch(/5\/7/);
    // /session after the restart resumes the same child at the same item (nothing re-asked).
    await fac2.send("/session");
    expect(withButton(fac2, "⏭ Skip this child").text).toContain("P03");
    expect(fac2.current().text).toMatch(/5\/7/);
    await fac2.press("Sometimes");
    await fac2.press("Sometimes");
    await fac2.press("Skip"); // optional note
    // The reflection: the facilitator rates the session very good.
    expect(texts(fac2).some((t) => t.includes("Your reflection on the session"))).toBe(true);
    await fac2.press("Good");
    await fac2.press("Good");
    await fac2.press("Very good");
    await fac2.send("The name game worked well.");
    for (let i = 0; i < 3; i++) await fac2.press("Skip");
    const confirm = fac2.current();
    expect(confirm.text).toContain("Observed: 2 · skipped: 1 · reflection: ✓");
    expect(
      await tb.db.responseSet.count({ where: { respondent: "parent", slot: "session:1" } }),
    ).toBe(0); // nothing before closing

    await fac2.press("🔒 Close session");
    // The close committed one outbox job per attending family's parent; nothing went out from the
    // facilitator's update. The bot process's scheduler sends them right after (here: explicitly).
    expect(
      (await tb.db.job.findMany({ where: { kind: "session-over" }, orderBy: { id: "asc" } })).map(
        (j) => j.dedupeKey,
      ),
    ).toHaveLength(3);
    for (const u of [p1, p2, p3]) expect(tb.user(u.id).messages().length).toBe(before.get(u.id));
    await deliverOutbox(tb);

    // Observation rows: one per item for each observed child, skipped rows for the skipped one.
    const obs = await tb.db.observation.findMany({ include: { participant: true } });
    const byChild = (code: string) => obs.filter((o) => o.participant.code === code);
    expect(byChild("P01")).toHaveLength(OBSERVATION_ITEMS + 1);
    expect(byChild("P01").filter((o) => o.rating === 4)).toHaveLength(OBSERVATION_ITEMS);
    expect(byChild("P01").find((o) => o.dimension === "note")!.note).toBe(
      "Joined the circle game without prompting.",
    );
    expect(byChild("P02").every((o) => o.skipped && o.rating === null)).toBe(true);
    expect(byChild("P02")).toHaveLength(OBSERVATION_ITEMS + 1);
    expect(byChild("P03").filter((o) => o.rating === 3)).toHaveLength(OBSERVATION_ITEMS);
    expect(byChild("P04")).toHaveLength(0);
    expect(await tb.db.reflection.count()).toBe(1);

    // Satisfaction questionnaires: exactly the three attending families, asked right away.
    const closed = await tb.db.groupSession.findFirstOrThrow();
    expect(closed.status).toBe("closed");
    const sat = await tb.db.responseSet.findMany({
      where: { slot: "session:1", respondent: { in: ["parent", "child"] } },
      include: { participant: true },
    });
    expect(
      sat.map((r) => `${r.participant!.code}:${r.instrumentId}:${r.respondent}`).sort(),
    ).toEqual([
      "P01:session-satisfaction:parent",
      "P02:session-satisfaction:parent",
      "P03:session-satisfaction:parent",
    ]);
    expect(await tb.db.responseSet.count()).toBe(
      setsBefore + 3 /* observations */ + 1 /* reflection */ + 3,
    );
    for (const u of [p1, p2, p3].map((x) => tb.user(x.id))) {
      expect(u.current().text).toContain("How was today's session?");
      expect(texts(u).some((t) => t.includes("session 1) is over"))).toBe(true);
    }
    for (const u of [p4, p5].map((x) => tb.user(x.id)))
      expect(u.messages().length).toBe(before.get(u.id));
    expect(texts(fac2).at(-1)).toContain("went to 3 families");

    // P01's family rates the session low (5+5+5+5 = 20 < 36), P03's family high (10+10+10+9 = 39).
    const family1 = tb.user(p1.id);
    for (let i = 0; i < 4; i++) await family1.press("5");
    await family1.press("Skip");
    await deliverOutbox(tb);
    const family3 = tb.user(p3.id);
    for (const v of ["10 (completely)", "10 (completely)", "10 (completely)", "9"])
      await family3.press(v);
    await family3.send("She talked about the game all evening.");
    await deliverOutbox(tb);

    const facChat = texts(fac2);
    const alerts = facChat.filter((t) => t.includes("Low session rating"));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain("P01");
    expect(alerts[0]).toContain("Total 20 of 40");
    expect(alerts[0]).not.toContain("P03");
    // Divergence: the facilitator's "Very good" (share 1.0) vs the first family's 20/40 (0.5): flagged once.
    const flags = facChat.filter((t) => t.includes("Ratings differ"));
    expect(flags).toHaveLength(1);
    expect(flags[0]).toContain("1 response so far");
    // What a family writes for the group leader reaches the facilitator (and only them).
    const comments = facChat.filter((t) => t.includes("family wrote after"));
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain("P03");
    expect(comments[0]).toContain("She talked about the game all evening.");
    // The family never sees an alert, a total or a score.
    for (const t of texts(family1))
      expect(t).not.toMatch(/Low session rating|Ratings differ|Total 20/);
    const auditAlerts = await tb.db.auditEvent.findMany({
      where: { action: { startsWith: "alert." } },
    });
    expect(auditAlerts.map((a) => a.action).sort()).toEqual([
      "alert.divergence",
      "alert.low-rating",
    ]);

    // Amendment: reopen, give a reason, correct one observation, close again.
    await fac2.send("/session");
    await fac2.press((t) => t.startsWith("1 ✓"));
    expect(fac2.current().text).toContain("This session was closed");
    await fac2.press("✏️ Amend this session");
    await fac2.send("Mixed up P01 and P03 on turn-taking.");
    expect(fac2.current().text).toContain("Amendment 1");
    await fac2.press(/^👁 P01/);
    await fac2.press((t) => t.startsWith("5. "));
    await fac2.press("Once or twice");
    await fac2.press("◀ Back");
    await fac2.press("✔️ Done: close the session again");
    expect((await deliverOutbox(tb)).sent).toBe(0);

    const amended = await tb.db.groupSession.findFirstOrThrow();
    expect(amended.status).toBe("closed");
    expect(amended.amendments).toBe(1);
    const amend = await tb.db.auditEvent.findFirstOrThrow({ where: { action: "session.amend" } });
    const facAccount = await tb.db.account.findFirstOrThrow({ where: { role: "facilitator" } });
    expect(amend.actorAccountId).toBe(facAccount.id);
    expect(JSON.parse(amend.data)).toMatchObject({
      why: "Mixed up P01 and P03 on turn-taking.",
      who: facAccount.id,
      amendment: 1,
      number: 1,
    });
    expect(JSON.parse(amend.data).when).toBe(amend.at.toISOString());
    // The original answer is kept in the audit trail; the Observation row follows the correction.
    const p01 = await tb.db.participant.findUniqueOrThrow({ where: { code: "P01" } });
    const obsSet = await tb.db.responseSet.findFirstOrThrow({
      where: { participantId: p01.id, respondent: "facilitator" },
    });
    const correction = await tb.db.auditEvent.findFirstOrThrow({
      where: { action: "answer.correct", entityId: `${obsSet.id}:behaviour_patterns` },
    });
    expect(JSON.parse(correction.data)).toMatchObject({ value: 2, previous: 4 });
    expect(correction.seq).toBeGreaterThan(amend.seq);
    const row = await tb.db.observation.findFirstOrThrow({
      where: { participantId: p01.id, dimension: "behaviour_patterns" },
    });
    expect(row.rating).toBe(2);
    // Re-closing after the amendment sends nothing twice.
    expect(
      await tb.db.responseSet.count({ where: { slot: "session:1", respondent: "parent" } }),
    ).toBe(3);
    expect(texts(fac2).at(-1)).toContain("No new questionnaires");
    expect((await verifyAuditChain(tb.db)).ok).toBe(true);
  });
});

// Amending a closed session through the menu: date, attendance (a child marked absent loses the
// observation and an unstarted questionnaire; a newly present child is observed through the
// runner and their family asked), a typed correction of the reflection; plus "Not yet", and one
// logger at a time.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import type { TestBot } from "../support/bot.js";
import {
  consentedFamily,
  deliverOutbox,
  facilitatorBot,
  facilitatorFor,
  group,
  logWholeSession,
  texts,
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

describe("amending a session", () => {
  it("corrects date, attendance and reflection; the families follow the corrected attendance", async () => {
    await group(tb, "A");
    await consentedFamily(tb, "P01", 951, "A");
    const p2 = await consentedFamily(tb, "P02", 952, "A");
    const p3 = await consentedFamily(tb, "P03", 953, "A");
    const fac = await facilitatorFor(tb, 960, "A");
    await logWholeSession(fac, ["P01", "P02"]);
    await deliverOutbox(tb);
    expect(tb.tg.withButtons(p2.id)).toHaveLength(1); // P02's family is asked its session questions
    const session = await tb.db.groupSession.findFirstOrThrow();
    const p2id = (await tb.db.participant.findUniqueOrThrow({ where: { code: "P02" } })).id;
    const p3id = (await tb.db.participant.findUniqueOrThrow({ where: { code: "P03" } })).id;
    expect(await tb.db.observation.count({ where: { participantId: p2id } })).toBe(7);

    await fac.send("/session");
    await fac.press((t) => t.startsWith("1 ✓"));
    await fac.press("✏️ Amend this session");
    await fac.send("no");
    expect(fac.last().text).toMatch(/short reason of a few words/);
    await fac.send("P02 was on the ward, P03 joined instead; wrong date.");
    await fac.press(/^📅 Date/);
    await fac.press(/^Yesterday/);
    await fac.press(/^✅ Attendance/);
    await fac.press("✅ P02");
    await fac.press("⬜ P03");
    await fac.press(/^Done/);
    const menu = fac.current();
    expect(menu.keyboard.flat().map((b) => b.text)).toEqual(
      expect.arrayContaining([
        "📅 Date: 2026-11-30",
        "✅ Attendance (2 present)",
        "👁 P01 ✓",
        "👁 P03 …",
      ]),
    );
    // Closing now is refused: P03 has no observation yet.
    const early = fac.pressUpdate(menu, fac.button(menu, "✔️ Done: close the session again"));
    await fac.deliver(early);
    expect(fac.toastFor(early)).toMatch(/still need an observation/);
    await fac.press("👁 P03 …");
    for (let i = 0; i < 6; i++) await fac.press("Throughout");
    await fac.press("Skip");
    // Back in the menu: correct the reflection's first written answer by typing.
    await fac.press(/^💭 Reflection/);
    await fac.press((t) => t.startsWith("4. "));
    await fac.send("The name game, and the quiet corner.");
    expect(fac.current().text).toContain("Tap an answer to change it");
    await fac.press("◀ Back");
    await fac.press("✔️ Done: close the session again");
    await deliverOutbox(tb);

    const s = await tb.db.groupSession.findFirstOrThrow();
    expect([s.status, s.amendments, s.heldOn?.toISOString().slice(0, 10)]).toEqual([
      "closed",
      1,
      "2026-11-30",
    ]);
    expect(s.closedAt?.getTime()).toBe(session.closedAt?.getTime()); // the original closing time stays
    const actions = (
      await tb.db.auditEvent.findMany({ where: { seq: { gt: 0 } }, orderBy: { seq: "asc" } })
    ).map((e) => e.action);
    const from = actions.indexOf("session.amend");
    expect(actions.slice(from)).toEqual(
      expect.arrayContaining([
        "session.amend",
        "session.correct-date",
        "session.attendance",
        "observation.remove",
        "observation.record",
        "answer.correct",
        "questionnaire.unassign",
        "session.close",
      ]),
    );
    const dateFix = await tb.db.auditEvent.findFirstOrThrow({
      where: { action: "session.correct-date" },
    });
    expect(JSON.parse(dateFix.data)).toEqual({ heldOn: "2026-11-30", previous: "2026-12-01" });
    expect(await tb.db.observation.count({ where: { participantId: p2id } })).toBe(0);
    expect(await tb.db.observation.count({ where: { participantId: p3id, rating: 5 } })).toBe(6);
    const refl = await tb.db.auditEvent.findFirstOrThrow({
      where: { action: "answer.correct", entityId: { endsWith: ":went_well" } },
    });
    expect(JSON.parse(refl.data)).toMatchObject({
      value: "The name game, and the quiet corner.",
      previous: null,
    });

    // P02's unstarted questionnaire is gone; P03's family is asked now.
    const sat = await tb.db.responseSet.findMany({
      where: { slot: "session:1", respondent: "parent" },
      include: { participant: true },
    });
    expect(sat.map((r) => r.participant!.code).sort()).toEqual(["P01", "P03"]);
    expect(tb.user(p3.id).current().text).toContain("How was today's session?");
    expect(texts(fac).at(-1)).toContain("went to 1 family ");
    // P02's family had been asked already; it is not asked again (its set is gone, its chat untouched since).
    const p2chat = texts(tb.user(p2.id));
    expect(p2chat.filter((t) => t.includes("session 1) is over"))).toHaveLength(1);
    // Its question no longer carries buttons, and the family's next message moves on.
    expect(tb.tg.withButtons(p2.id)).toHaveLength(0);
    await tb.user(p2.id).send("hello");
    expect(tb.user(p2.id).last().text).toMatch(/nothing to answer|everything for now/);
    expect(
      await tb.db.answer.count({
        where: { responseSet: { slot: "session:1", participantId: p2id, respondent: "parent" } },
      }),
    ).toBe(0);
  });

  it("keeps the log open on “Not yet”, resumes at the confirmation, and lets one facilitator log a session at a time", async () => {
    await group(tb, "A");
    await consentedFamily(tb, "P01", 971, "A", { finishPre: false });
    const fac1 = await facilitatorFor(tb, 980, "A");
    const fac2 = await facilitatorFor(tb, 981, "A");
    await logWholeSession(fac1, ["P01"], { close: false });
    await fac1.press("Not yet");
    expect(fac1.last().text).toMatch(/Send \/session when you are ready/);
    expect((await tb.db.groupSession.findFirstOrThrow()).status).toBe("logging");

    await fac2.send("/session");
    const busy = fac2.pressUpdate(fac2.current(), fac2.button(fac2.current(), /^▶ Session 1/));
    await fac2.deliver(busy);
    expect(fac2.toastFor(busy)).toBe("Another facilitator is logging this session right now.");

    await fac1.send("/session");
    expect(
      fac1
        .current()
        .keyboard.flat()
        .map((b) => b.text),
    ).toContain("🔒 Close session");
    await fac1.press("🔒 Close session");
    expect((await tb.db.groupSession.findFirstOrThrow()).status).toBe("closed");
    // Once closed, the co-facilitator may open it (to amend).
    await fac2.send("/session");
    await fac2.press((t) => t.startsWith("1 ✓"));
    expect(fac2.current().text).toContain("This session was closed");
  });
});

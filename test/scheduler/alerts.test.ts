import { afterEach, describe, expect, it } from "vitest";
import { DAY, HOUR, T0, World, addStaff, assign, seedFamily, seedGroup } from "./support.js";

let w: World;
afterEach(async () => {
  await w.cleanup();
});

/** Texts each chat received (delivered messages only). */
function inbox(chat: number): string[] {
  return w.tg.messages(chat).map((m) => m.text);
}

async function coordinators() {
  return {
    optedIn: await addStaff(w, "admin", { optIn: true }),
    optedInZh: await addStaff(w, "admin", { optIn: true, locale: "zh" }),
    notOptedIn: await addStaff(w, "admin", { optIn: false }),
    researcher: await addStaff(w, "researcher", { optIn: true }),
  };
}

describe("protocol-deviation alerts", () => {
  it("a post-test started before the group's session 6: once, only to opted-in coordinators, in their language", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const c = await coordinators();
    const g = await seedGroup(
      w,
      "G1",
      [T0 - 40 * DAY, T0 - 33 * DAY, T0 - 26 * DAY, T0 - 19 * DAY, T0 - 12 * DAY, T0 + 2 * DAY],
      { logPast: true },
    );
    const f = await seedFamily(w, "P10", { groupId: g.id, assign: "post" });
    const post = await w.db.responseSet.findFirstOrThrow({
      where: { participantId: f.participantId, timepoint: "post" },
    });
    await w.db.responseSet.update({
      where: { id: post.id },
      data: { status: "in_progress", startedAt: new Date(T0) },
    });

    for (let i = 0; i < 3; i++) {
      await w.tick();
      w.clock.advance(HOUR);
    }
    await w.restart();
    await w.tick();

    expect(inbox(c.optedIn.chat)).toHaveLength(1);
    const [text] = inbox(c.optedIn.chat);
    expect(text).toContain("Protocol deviation");
    expect(text).toContain("P10");
    expect(text).toContain("before its window opened on 2030-03-06");
    expect(text).toContain("session 6 of group G1");
    expect(inbox(c.optedInZh.chat)).toHaveLength(1);
    expect(inbox(c.optedInZh.chat)[0]).toContain("方案偏离");
    expect(inbox(c.notOptedIn.chat)).toHaveLength(0);
    expect(inbox(c.researcher.chat)).toHaveLength(0);
    expect(inbox(f.chat)).toHaveLength(0);
    const audits = await w.db.auditEvent.findMany({ where: { action: "alert.protocol" } });
    expect(audits).toHaveLength(1);
    expect(JSON.parse(audits[0]!.data)).toMatchObject({
      check: "window",
      reason: "early",
      participant: "P10",
      recipients: 2,
    });
    expect(await w.db.auditEvent.count({ where: { action: "alert.send" } })).toBe(2);
  });

  it("a post-test started while session 6 has no date yet counts as before session 6", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const c = await coordinators();
    const g = await seedGroup(w, "G2", [T0 - 40 * DAY, null, null, null, null, null], {
      logPast: true,
    });
    const f = await seedFamily(w, "P11", { groupId: g.id, assign: "post" });
    await w.db.responseSet.updateMany({
      where: { participantId: f.participantId },
      data: { status: "paused", startedAt: new Date(T0) },
    });
    await w.tick();
    await w.tick();
    // One alert per started set (parent and child post-tests are separate questionnaires).
    const texts = inbox(c.optedIn.chat);
    expect(texts.length).toBe(
      await w.db.responseSet.count({ where: { participantId: f.participantId } }),
    );
    for (const t of texts) expect(t).toContain("before session 6 of group G2 took place");
  });

  it("a pre-test started outside its window (too early, too late), and none for one inside it", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const c = await coordinators();
    // Session 1 on 2030-04-01: the pre-test window is 2030-03-11 … 2030-04-01.
    const g = await seedGroup(w, "G3", [Date.UTC(2030, 3, 1, 10), null, null, null, null, null]);
    const early = await seedFamily(w, "P12", { groupId: g.id });
    const inside = await seedFamily(w, "P13", { groupId: g.id });
    const late = await seedFamily(w, "P14", { groupId: g.id });
    const start = async (participantId: number, at: number) => {
      const rs = await w.db.responseSet.findFirstOrThrow({
        where: { participantId },
        orderBy: { id: "asc" },
      });
      await w.db.responseSet.update({
        where: { id: rs.id },
        data: { status: "in_progress", startedAt: new Date(at) },
      });
    };
    await start(early.participantId, Date.UTC(2030, 2, 10, 23, 59));
    await start(inside.participantId, Date.UTC(2030, 2, 11, 0, 0));
    await start(late.participantId, Date.UTC(2030, 3, 2, 0, 0));
    await w.tick();
    await w.tick();
    const texts = inbox(c.optedIn.chat);
    expect(texts).toHaveLength(2);
    expect(texts.find((t) => t.includes("P12"))).toContain(
      "before its window opened on 2030-03-11",
    );
    expect(texts.find((t) => t.includes("P14"))).toContain("after its window closed on 2030-04-01");
    expect(texts.some((t) => t.includes("P13"))).toBe(false);
  });

  it("a session without a closed log 24 h after its date: facilitators are asked to log it, coordinators alerted, once", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const c = await coordinators();
    const g = await seedGroup(w, "G4", [T0 + 2 * HOUR, T0 + 7 * DAY, null, null, null, null]);
    const fac = await addStaff(w, "facilitator", { groupId: g.id });
    const otherFac = await addStaff(w, "facilitator");
    await w.runFor(26 * HOUR - 60_000, HOUR / 2);
    expect(inbox(fac.chat).filter((t) => t.includes("not been logged"))).toHaveLength(0);
    expect(inbox(c.optedIn.chat)).toHaveLength(0);
    await w.runFor(2 * HOUR, HOUR / 2);
    expect(inbox(fac.chat).filter((t) => t.includes("not been logged"))).toEqual([
      "⏰ Session 1 of group G4 (2030-03-04 11:00) has not been logged yet. Please send /session to log it.",
    ]);
    expect(inbox(c.optedIn.chat)).toHaveLength(1);
    expect(inbox(c.optedIn.chat)[0]).toContain(
      "Session 1 of group G4 (2030-03-04 11:00) has no closed log",
    );
    expect(inbox(otherFac.chat)).toHaveLength(0);

    // Session 2 is logged in time: nothing about it.
    const s2 = await w.db.groupSession.findFirstOrThrow({ where: { groupId: g.id, number: 2 } });
    w.clock.set(T0 + 7 * DAY + 3 * HOUR);
    await w.db.groupSession.update({
      where: { id: s2.id },
      data: { status: "closed", heldOn: new Date(T0 + 7 * DAY), closedAt: w.clock.date() },
    });
    await w.runFor(3 * DAY, 6 * HOUR);
    expect(inbox(fac.chat).filter((t) => t.includes("not been logged"))).toHaveLength(1);
    expect(inbox(c.optedIn.chat)).toHaveLength(1);
  });

  it("data for a participant without consent and assent", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const c = await coordinators();
    const ok = await seedFamily(w, "P15");
    const noConsent = await seedFamily(w, "P16", { consent: false });
    const answerFor = async (participantId: number) => {
      const rs = await w.db.responseSet.findFirstOrThrow({ where: { participantId } });
      await w.db.answer.create({
        data: {
          responseSetId: rs.id,
          itemId: "x1",
          value: 1,
          instrumentHash: rs.instrumentHash,
          respondent: "parent",
          answeredAt: w.clock.date(),
        },
      });
    };
    await answerFor(ok.participantId);
    await answerFor(noConsent.participantId);
    // Paper data imported for a consented participant carries no consent record: not a deviation.
    const paper = await w.db.participant.create({
      data: { code: "P17", gender: "male", ageYears: 9, status: "consented" },
    });
    await assign(w, paper.id, "pre");
    const rs = await w.db.responseSet.findFirstOrThrow({ where: { participantId: paper.id } });
    await w.db.answer.create({
      data: {
        responseSetId: rs.id,
        itemId: "x1",
        value: 2,
        instrumentHash: rs.instrumentHash,
        respondent: "parent",
        source: "import",
      },
    });
    // A facilitator's observation of a child who never consented is.
    const g = await seedGroup(w, "G5", [T0 + 5 * DAY, null, null, null, null, null]);
    const s1 = await w.db.groupSession.findFirstOrThrow({ where: { groupId: g.id, number: 1 } });
    const unconsented = await w.db.participant.create({
      data: { code: "P18", gender: "male", ageYears: 9, status: "invited", groupId: g.id },
    });
    await w.db.observation.create({
      data: {
        sessionId: s1.id,
        participantId: unconsented.id,
        dimension: "peer_acceptance",
        rating: 3,
      },
    });

    await w.tick();
    await w.tick();
    const texts = inbox(c.optedIn.chat);
    expect(texts).toHaveLength(2);
    expect(texts.find((t) => t.includes("P16"))).toContain("1 answers, 0 observations, 0 notes");
    expect(texts.find((t) => t.includes("P18"))).toContain("0 answers, 1 observations");
    for (const t of texts) expect(t).toContain("no recorded consent and assent");
  });

  it("a coordinator who opts in later gets new alerts, not the history", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const first = await addStaff(w, "admin", { optIn: true });
    const later = await addStaff(w, "admin", { optIn: false });
    await seedGroup(w, "G6", [T0 - 3 * DAY, null, null, null, null, null]);
    await w.tick();
    await w.tick();
    expect(inbox(first.chat)).toHaveLength(1);
    await w.db.account.update({ where: { id: later.accountId }, data: { alertsOptIn: true } });
    await w.tick();
    expect(inbox(later.chat)).toHaveLength(0);
    await seedGroup(w, "G7", [T0 - 2 * DAY, null, null, null, null, null]);
    await w.tick();
    await w.tick();
    expect(inbox(later.chat)).toHaveLength(1);
    expect(inbox(first.chat)).toHaveLength(2);
    // Opting out stops alerts that are still queued.
    await w.db.account.update({ where: { id: first.accountId }, data: { alertsOptIn: false } });
    await seedGroup(w, "G8", [T0 - 2 * DAY, null, null, null, null, null]);
    await w.tick();
    await w.tick();
    expect(inbox(first.chat)).toHaveLength(2);
  });
});

describe("session reminders", () => {
  it("reminds the group's facilitators the day before a planned session, once, and follows a new date", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const g = await seedGroup(w, "G9", [T0 + 3 * DAY + HOUR, null, null, null, null, null]);
    const fac = await addStaff(w, "facilitator", { groupId: g.id });
    const other = await addStaff(w, "facilitator");
    await w.runFor(2 * DAY, HOUR);
    expect(inbox(fac.chat)).toHaveLength(0);
    await w.runFor(2 * HOUR, HOUR / 2);
    const sent = w.sent(fac.chat);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.at).toBe(T0 + 2 * DAY + HOUR);
    expect(sent[0]!.text).toBe(
      "📅 Reminder: session 1, “Hello, circle”, of group G9 is planned for 2030-03-07 10:00. After the session, send /session to log it.",
    );
    expect(inbox(other.chat)).toHaveLength(0);

    // Moved by a week before it happens: a new reminder the day before the new date, nothing else.
    const s1 = await w.db.groupSession.findFirstOrThrow({ where: { groupId: g.id, number: 1 } });
    await w.db.groupSession.update({
      where: { id: s1.id },
      data: { plannedOn: new Date(T0 + 10 * DAY) },
    });
    await w.runFor(8 * DAY, 2 * HOUR);
    expect(inbox(fac.chat)).toHaveLength(2);
    expect(inbox(fac.chat)[1]).toContain("2030-03-14 09:00");
  });

  it("sends no reminder for a session that is being logged or already passed", async () => {
    w = await World.create({ REMINDER_MAX: 0 });
    const g = await seedGroup(w, "G10", [T0 + 2 * DAY, T0 + 9 * DAY, null, null, null, null]);
    const fac = await addStaff(w, "facilitator", { groupId: g.id });
    const past = await seedGroup(w, "G11", [T0 - 2 * HOUR, null, null, null, null, null]);
    const pastFac = await addStaff(w, "facilitator", { groupId: past.id });
    await w.tick();
    expect(await w.db.job.count({ where: { kind: "session-reminder" } })).toBe(2);
    const s1 = await w.db.groupSession.findFirstOrThrow({ where: { groupId: g.id, number: 1 } });
    await w.db.groupSession.update({ where: { id: s1.id }, data: { status: "logging" } });
    await w.runFor(2 * DAY - HOUR, HOUR);
    expect(inbox(fac.chat)).toHaveLength(0);
    // The past session gets no reminder, only (a day after it) the request to log it.
    expect(inbox(pastFac.chat)).toEqual([
      "⏰ Session 1 of group G11 (2030-03-04 07:00) has not been logged yet. Please send /session to log it.",
    ]);
  });
});

describe("sessions known by their date (stored as UTC midnight by the session log)", () => {
  it("uses the study's local calendar: reminder the day before at 09:00, overdue when the day is over, windows by local day", async () => {
    w = await World.create({ REMINDER_MAX: 0, QUIET_HOURS_TZ: "America/New_York" });
    const admin = await addStaff(w, "admin", { optIn: true });
    const g = await seedGroup(w, "NY", [Date.UTC(2030, 2, 7), null, null, null, null, null]);
    const fac = await addStaff(w, "facilitator", { groupId: g.id });
    // Pre-test window: 21 days before 2030-03-07 → opens 2030-02-14 00:00 New York (05:00 UTC).
    const early = await seedFamily(w, "NY1", { groupId: g.id });
    const inside = await seedFamily(w, "NY2", { groupId: g.id });
    const first = async (participantId: number) =>
      w.db.responseSet.findFirstOrThrow({ where: { participantId }, orderBy: { id: "asc" } });
    await w.db.responseSet.update({
      where: { id: (await first(early.participantId)).id },
      data: { startedAt: new Date(Date.UTC(2030, 1, 14, 4, 59)), status: "in_progress" },
    });
    await w.db.responseSet.update({
      where: { id: (await first(inside.participantId)).id },
      data: { startedAt: new Date(Date.UTC(2030, 1, 14, 5, 0)), status: "in_progress" },
    });

    await w.runFor(5 * DAY, HOUR);
    const reminders = w.sent(fac.chat).filter((c) => c.text.includes("Reminder"));
    expect(reminders).toHaveLength(1);
    expect(new Date(reminders[0]!.at).toISOString()).toBe("2030-03-06T14:00:00.000Z"); // 09:00 EST
    expect(reminders[0]!.text).toContain("is planned for 2030-03-07.");

    const overdue = w.sent(fac.chat).filter((c) => c.text.includes("not been logged"));
    expect(overdue).toHaveLength(1);
    expect(new Date(overdue[0]!.at).toISOString()).toBe("2030-03-08T05:00:00.000Z"); // midnight EST ending 03-07
    expect(overdue[0]!.text).toContain("(2030-03-07)");

    const alerts = inbox(admin.chat);
    expect(alerts.filter((t) => t.includes("NY1"))).toHaveLength(1);
    expect(alerts.find((t) => t.includes("NY1"))).toContain(
      "before its window opened on 2030-02-14 (measured from session 1 of group NY on 2030-03-07)",
    );
    expect(alerts.some((t) => t.includes("NY2"))).toBe(false);
    expect(alerts.filter((t) => t.includes("has no closed log"))).toEqual([
      expect.stringContaining("Session 1 of group NY (2030-03-07)"),
    ]);
  });
});

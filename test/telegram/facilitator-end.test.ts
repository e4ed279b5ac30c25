// The end of the group, through the bot: closing session 6 sends the end-of-group survey to the
// families who attended at least once, opens the post timepoint for the group's consented members
// (the shipped window opens on the day of the last session), and asks them at once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDatabase, type TempDb } from "../support/db.js";
import type { TestBot } from "../support/bot.js";
import { withdrawParticipant } from "../../src/telegram/conversation/withdrawal.js";
import { shippedFlows } from "../support/bot.js";
import {
  consentedFamily,
  deliverOutbox,
  facilitatorBot,
  facilitatorFor,
  group,
  logWholeSession,
  NOW,
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

describe("end of group", () => {
  it("after session 6: group survey to families who attended, post opened for consented members, nothing for the withdrawn", async () => {
    await group(tb, "A");
    // Only P03's family finishes the pre questionnaires, so what it is asked next is its post set.
    await consentedFamily(tb, "P01", 901, "A", { finishPre: false });
    await consentedFamily(tb, "P02", 902, "A", { finishPre: false });
    const p3 = await consentedFamily(tb, "P03", 903, "A"); // consented, never attends
    const p4 = await consentedFamily(tb, "P04", 904, "A", { finishPre: false }); // attends once, then withdraws
    const fac = await facilitatorFor(tb, 910, "A");

    await logWholeSession(fac, ["P01", "P02", "P04"]);
    await deliverOutbox(tb);
    const p4row = await tb.db.participant.findUniqueOrThrow({ where: { code: "P04" } });
    await withdrawParticipant(tb.db, p4row.id, "keep", { kind: "cli" }, NOW);
    for (let n = 2; n <= 5; n++) {
      await logWholeSession(fac, ["P01"]);
      await deliverOutbox(tb);
    }
    expect(await tb.db.responseSet.count({ where: { slot: "group-end" } })).toBe(0);
    expect(await tb.db.responseSet.count({ where: { slot: "post" } })).toBe(0);
    const p3Before = p3.messages().length;

    await logWholeSession(fac, ["P01"]);
    expect(texts(fac).at(-1)).toContain("That was the group's last session");
    await deliverOutbox(tb);

    const sets = await tb.db.responseSet.findMany({
      where: { slot: { in: ["group-end", "post"] } },
      include: { participant: true },
    });
    const by = (slot: string) =>
      [...new Set(sets.filter((r) => r.slot === slot).map((r) => r.participant!.code))].sort();
    expect(by("group-end")).toEqual(["P01", "P02"]);
    expect(
      sets
        .filter((r) => r.slot === "group-end")
        .every((r) => r.instrumentId === "group-satisfaction" && r.respondent === "parent"),
    ).toBe(true);
    expect(by("post")).toEqual(["P01", "P02", "P03"]);
    // Post opens with the same instruments as pre for each of them (parent and child).
    const pre = await tb.db.responseSet.findMany({
      where: { slot: "pre", participant: { code: "P03" } },
    });
    expect(
      sets
        .filter((r) => r.slot === "post" && r.participant!.code === "P03")
        .map((r) => `${r.instrumentId}:${r.respondent}`)
        .sort(),
    ).toEqual(pre.map((r) => `${r.instrumentId}:${r.respondent}`).sort());
    // The family that never attended is asked at once (their post questionnaires), and told why.
    const fresh3 = tb.user(p3.id);
    expect(fresh3.messages().length).toBeGreaterThan(p3Before);
    expect(texts(fresh3).some((t) => t.includes("The group has finished"))).toBe(true);
    const postFirst = sets
      .filter(
        (r) => r.slot === "post" && r.participant!.code === "P03" && r.respondent === "parent",
      )
      .sort((a, b) => a.id - b.id)[0]!;
    const firstItem = shippedFlows().instruments.get(postFirst.instrumentId)!.items[0]!;
    expect(fresh3.current().text).toContain(firstItem.text.en);
    // Nothing reaches the withdrawn family after withdrawal.
    const p4After = await tb.db.responseSet.count({
      where: { participantId: p4row.id, status: "pending" },
    });
    expect(p4After).toBe(0);
    expect(
      texts(tb.user(p4.id)).some(
        (t) => t.includes("session 6") || t.includes("group has finished"),
      ),
    ).toBe(false);
    // Session satisfaction went only to the attending family each time: P01 six times, P02 once.
    const sat = await tb.db.responseSet.findMany({
      where: { instrumentId: "session-satisfaction" },
      include: { participant: true },
    });
    expect(sat.filter((r) => r.participant!.code === "P01")).toHaveLength(6);
    expect(sat.filter((r) => r.participant!.code === "P02")).toHaveLength(1);
    expect(sat.filter((r) => r.participant!.code === "P03")).toHaveLength(0);

    const end = await tb.db.auditEvent.findFirstOrThrow({ where: { action: "group.end" } });
    // The follow-up opens 90 days after the last session (the scheduler opens it then), and the
    // facilitator is told when.
    expect(JSON.parse(end.data)).toMatchObject({
      surveyed: 2,
      opensLater: [{ timepoint: "follow-up", on: "2027-03-01" }],
    });
    expect(texts(fac).at(-1)).toContain('"follow-up" questionnaires open on 2027-03-01');
    expect(await tb.db.responseSet.count({ where: { slot: "follow-up" } })).toBe(0);
    const sessions = await tb.db.groupSession.findMany({ orderBy: { number: "asc" } });
    expect(sessions.map((s) => s.status)).toEqual(Array(6).fill("closed"));
  });

  it("one family that blocked the bot does not stop the others from being asked", async () => {
    await group(tb, "A");
    const p1 = await consentedFamily(tb, "P01", 921, "A", { finishPre: false });
    const p2 = await consentedFamily(tb, "P02", 922, "A", { finishPre: false });
    const fac = await facilitatorFor(tb, 930, "A");
    tb.tg.blocked.add(p1.id);
    await logWholeSession(fac, ["P01", "P02"]);
    // The close reply is written before anything is sent: both families have a job.
    expect(texts(fac).at(-1)).toMatch(/went to 2 families /);
    const report = await deliverOutbox(tb);
    expect(texts(tb.user(p2.id)).some((t) => t.includes("session 1) is over"))).toBe(true);
    // The blocked family's job is tried once and recorded as undeliverable, not retried.
    expect(report.failed).toBe(0);
    const p1row = await tb.db.participant.findUniqueOrThrow({ where: { code: "P01" } });
    const jobs = await tb.db.job.findMany({ where: { kind: "session-over" } });
    const blocked = jobs.filter(
      (j) => (JSON.parse(j.payload) as { participantId: number }).participantId === p1row.id,
    );
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.doneAt).not.toBeNull();
    expect(blocked[0]!.lastError).toMatch(/^undeliverable: /);
    expect(jobs.filter((j) => j.lastError === null && j.doneAt)).toHaveLength(1);
    // The blocked family's questionnaire stays assigned for when it comes back.
    const sets = await tb.db.responseSet.findMany({
      where: { slot: "session:1", respondent: "parent" },
      include: { participant: true },
    });
    expect(sets.map((r) => r.participant!.code).sort()).toEqual(["P01", "P02"]);
    expect((await tb.db.groupSession.findFirstOrThrow()).status).toBe("closed");
  });
});

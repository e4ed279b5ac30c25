// importAnswers (the use case in src/usecases/import.ts, its checks in src/analysis/import.ts):
// validation with line numbers, all-or-nothing, idempotence, and what is written.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { importAnswers, type ImportResult } from "../../src/usecases/import.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { openTimepoint, responseSetKey } from "../../src/usecases/assignments.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import { tempDatabase, type TempDb } from "../support/db.js";

const flows: LoadedFlows = (() => {
  const r = loadFlows({ flowsDir: "flows" });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.flows;
})();
const cli = { kind: "cli" } as const;
const ins = (id: string) => flows.instruments.get(id)!;
const HEADER = "participant,arm,gender,age,timepoint,instrument,item,value";
const csv = (...lines: string[]) => [HEADER, ...lines].join("\n") + "\n";
/** Rows answering every item of an instrument with one value. */
const all = (who: string, timepoint: string, instrument: string, value: number) =>
  ins(instrument)
    .items.filter((it) => it.type !== "text")
    .map((it) => `${who},${timepoint},${instrument},${it.id},${value}`);

let t: TempDb;
beforeEach(async () => {
  t = await tempDatabase();
});
afterEach(async () => t.cleanup());

const run = (text: string, now?: Date) =>
  importAnswers(t.db, flows, text, { file: "answers.csv", actor: cli, now });
const errorsOf = (r: ImportResult) => (r.ok ? [] : r.errors);
async function counts() {
  return {
    participants: await t.db.participant.count(),
    responseSets: await t.db.responseSet.count(),
    answers: await t.db.answer.count(),
    audit: await t.db.auditEvent.count(),
  };
}

describe("importAnswers: a clean file", () => {
  it("creates participants, response sets and answers marked as imported", async () => {
    const now = new Date("2025-04-01T12:00:00Z");
    const text = csv(
      ...all("P-01,experimental,male,8", "pre", "social-skills", 4),
      "P-01,experimental,,,pre,social-skills-child,c_ae,3",
      "P-02,,female,7,pre,qol-proxy,phys1,0",
    );
    const r = await run(text, now);
    const nSkills = ins("social-skills").items.length;
    expect(r).toEqual({
      ok: true,
      summary: {
        rows: nSkills + 2,
        participantsCreated: 2,
        responseSetsCreated: 3,
        responseSetsUpdated: 0,
        answersImported: nSkills + 2,
        answersUnchanged: 0,
      },
    });
    const p1 = await t.db.participant.findUniqueOrThrow({ where: { code: "P-01" } });
    expect(p1).toMatchObject({
      arm: "experimental",
      gender: "male",
      ageYears: 8,
      status: "consented",
      groupId: null,
    });
    const p2 = await t.db.participant.findUniqueOrThrow({ where: { code: "P-02" } });
    expect(p2).toMatchObject({ arm: null, gender: "female", ageYears: 7 });

    const key = responseSetKey({
      participantId: p1.id,
      slot: "pre",
      instrumentId: "social-skills",
      respondent: "parent",
    });
    const skills = await t.db.responseSet.findUniqueOrThrow({
      where: { key },
      include: { answers: true },
    });
    expect(skills).toMatchObject({
      participantId: p1.id,
      sessionId: null,
      slot: "pre",
      timepoint: "pre",
      instrumentHash: ins("social-skills").hash,
      instrumentVersion: ins("social-skills").version,
      respondent: "parent",
      status: "complete",
      source: "import",
      completedAt: now,
    });
    expect(skills.answers).toHaveLength(nSkills);
    expect(
      skills.answers.every(
        (a) =>
          a.value === 4 &&
          a.source === "import" &&
          a.respondent === "parent" &&
          a.instrumentHash === skills.instrumentHash &&
          !a.childAnswered,
      ),
    ).toBe(true);

    const child = await t.db.responseSet.findFirstOrThrow({
      where: { participantId: p1.id, instrumentId: "social-skills-child" },
      include: { answers: true },
    });
    expect(child).toMatchObject({ respondent: "child", status: "in_progress", completedAt: null });
    expect(child.answers[0]).toMatchObject({
      itemId: "c_ae",
      value: 3,
      respondent: "child",
      childAnswered: true,
    });

    const audits = await t.db.auditEvent.findMany({
      where: { action: { in: ["participant.add", "import"] } },
      orderBy: { seq: "asc" },
    });
    expect(audits.map((a) => a.action)).toEqual(["participant.add", "participant.add", "import"]);
    expect(JSON.parse(audits[0]!.data)).toMatchObject({ code: "P-01", via: "import" });
    expect(JSON.parse(audits[2]!.data)).toMatchObject({
      file: "answers.csv",
      rows: nSkills + 2,
      participantsCreated: 2,
      answersImported: nSkills + 2,
      answersUnchanged: 0,
    });
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("accepts a spreadsheet's BOM, CRLF line ends, quoted text and blank (skipped) values", async () => {
    await addParticipant(
      t.db,
      { code: "P-03", arm: "control", gender: "female", ageYears: 9 },
      cli,
    );
    const lines = [
      ...all("P-03,control,female,9", "pre", "social-skills", 2).slice(1),
      `P-03,control,female,9,pre,social-skills,${ins("social-skills").items[0]!.id},`,
    ];
    const r = await run("\ufeff" + [HEADER, ...lines].join("\r\n") + "\r\n");
    expect(r.ok).toBe(true);
    const rs = await t.db.responseSet.findFirstOrThrow({
      where: { instrumentId: "social-skills" },
      include: { answers: true },
    });
    // A blank required item stays unanswered, so the set is not complete.
    expect(rs.status).toBe("in_progress");
    expect(rs.answers.find((a) => a.itemId === ins("social-skills").items[0]!.id)).toMatchObject({
      skipped: true,
      value: null,
    });
  });

  it("fills a questionnaire the bot opened but nobody started", async () => {
    const p = await addParticipant(
      t.db,
      { code: "P-04", arm: "experimental", gender: "male", ageYears: 10 },
      cli,
    );
    await t.db.participant.update({ where: { id: p.id }, data: { status: "consented" } });
    await t.db.$transaction((tx) => openTimepoint(tx, flows, p.id, "pre", cli));
    const before = await t.db.responseSet.count();
    const r = await run(csv(...all("P-04,experimental,male,10", "pre", "qol-proxy", 1)));
    expect(r).toMatchObject({
      ok: true,
      summary: {
        responseSetsCreated: 0,
        responseSetsUpdated: 1,
        answersImported: ins("qol-proxy").items.length,
      },
    });
    expect(await t.db.responseSet.count()).toBe(before);
    expect(
      await t.db.responseSet.findFirstOrThrow({
        where: { participantId: p.id, instrumentId: "qol-proxy" },
      }),
    ).toMatchObject({ status: "complete", source: "import" });
  });
});

describe("importAnswers: validation", () => {
  it("reports every row problem with its line number, and imports nothing", async () => {
    await addParticipant(
      t.db,
      { code: "K-01", arm: "control", gender: "female", ageYears: 9 },
      cli,
    );
    const declined = await addParticipant(
      t.db,
      { code: "K-02", arm: "control", gender: "male", ageYears: 9 },
      cli,
    );
    await t.db.participant.update({ where: { id: declined.id }, data: { status: "declined" } });
    const before = await counts();
    const text = csv(
      /* 2 */ "N-01,experimental,male,8,pre,social-skills,ae1,7",
      /* 3 */ "N-01,experimental,male,8,pre,social-skills,ae2,abc",
      /* 4 */ "N-01,experimental,male,8,pre,social-skills,ae3,2.5",
      /* 5 */ "N-01,experimental,male,8,pre,no-such,x1,1",
      /* 6 */ "N-01,experimental,male,8,pre,social-skills,zz9,1",
      /* 7 */ "N-01,experimental,male,8,midway,social-skills,ae1,1",
      /* 8 */ "N-01,experimental,male,8,pre,social-skills,pa1",
      /* 9 */ "K-01,experimental,female,9,pre,qol-proxy,phys1,1",
      /* 10 */ "K-01,control,male,10,pre,qol-proxy,phys2,1",
      /* 11 */ "N-02,,,,pre,qol-proxy,phys1,1",
      /* 12 */ "N-03,control,female,8,pre,qol-proxy,phys1,1",
      /* 13 */ "N-03,control,male,9,pre,qol-proxy,phys2,1",
      /* 14 */ "N-04,control,female,8,pre,qol-proxy,phys1,1",
      /* 15 */ "N-04,control,female,8,pre,qol-proxy,phys1,2",
      /* 16 */ "N-05,,female,8,pre,social-skills-child,c_ae,1",
      /* 17 */ "K-02,control,male,9,pre,qol-proxy,phys1,1",
      /* 18 */ "bad code!,sideways,other,x,pre,qol-proxy,phys1,3,5",
      /* 19 */ "N-06,sideways,other,x,pre,qol-proxy,phys1,3",
      /* 20 */ 'N-07,control,female,8,pre,qol-proxy,phys1,"3,5"',
      /* 21 */ "N-07,control,female,8,pre,qol-proxy,phys2,1",
    );
    const r = await run(text);
    expect(errorsOf(r)).toEqual([
      "answers.csv:2: value 7 is outside 1–5 for social-skills/ae1",
      'answers.csv:3: value "abc" is not a number for social-skills/ae2',
      "answers.csv:4: value 2.5 is not one of the answer codes 1, 2, 3, 4, 5 for social-skills/ae3",
      'answers.csv:5: unknown instrument "no-such"',
      'answers.csv:6: unknown item "zz9" in social-skills',
      'answers.csv:7: timepoint "midway" is not in the study (pre, post, follow-up)',
      "answers.csv:8: expected 8 values, found 7",
      "answers.csv:9: participant K-01: arm experimental contradicts the stored arm control",
      "answers.csv:10: participant K-01: gender male contradicts the stored gender female",
      "answers.csv:10: participant K-01: age 10 contradicts the stored age 9",
      "answers.csv:11: new participant N-02 needs gender and age",
      "answers.csv:13: participant N-03: gender male contradicts line 12 (female)",
      "answers.csv:13: participant N-03: age 9 contradicts line 12 (8)",
      "answers.csv:15: N-04 pre qol-proxy/phys1 repeats line 14 with a different value (2, line 14 has 1)",
      "answers.csv:16: social-skills-child is not given at pre to participants with no arm",
      "answers.csv:17: participant K-02 has declined; no answers are imported for them",
      "answers.csv:18: expected 8 values, found 9",
      'answers.csv:19: arm "sideways" must be experimental, control or empty (no arm)',
      'answers.csv:19: gender "other" must be male or female',
      'answers.csv:19: age "x" must be whole years between 0 and 25',
      'answers.csv:20: value "3,5" is not a number for qol-proxy/phys1 (use "." as the decimal mark)',
    ]);
    expect(await counts()).toEqual(before);
  });

  it("rejects a wrong header, naming what it expected", async () => {
    const r = await run(
      "participant,arm,sex,age,timepoint,instrument,item,value\nP-1,,male,8,pre,qol-proxy,phys1,1\n",
    );
    expect(errorsOf(r)).toEqual([
      `answers.csv:1: the header must be exactly ${HEADER} (found participant,arm,sex,age,timepoint,instrument,item,value)`,
    ]);
    expect(errorsOf(await run(""))).toEqual([
      `answers.csv: the file is empty; expected the header ${HEADER}`,
    ]);
  });

  it("rejects broken quoting with its line", async () => {
    const r = await run(
      csv("P-1,,male,8,pre,qol-proxy,phys1,1", 'P-1,,male,8,pre,qol-proxy,phys2,1"x'),
    );
    expect(errorsOf(r)).toEqual([
      'answers.csv:3: malformed CSV: a quote (") inside an unquoted value; quote the whole value and double inner quotes',
    ]);
    const open = await run(
      csv("P-1,,male,8,pre,qol-proxy,phys1,1", 'P-1,,male,8,pre,qol-proxy,phys2,"1'),
    );
    expect(errorsOf(open)).toHaveLength(1);
    expect(errorsOf(open)[0]).toMatch(
      /^answers\.csv:\d+: malformed CSV: a quoted value is not closed/,
    );
    expect(await t.db.participant.count()).toBe(0);
  });

  it("counts lines of multi-line quoted values and blank lines correctly", async () => {
    const r = await run(
      `${HEADER}\n\nP-1,,male,8,pre,qol-proxy,phys1,"1\nx"\n\nP-1,,male,8,pre,qol-proxy,phys2,9\n`,
    );
    expect(errorsOf(r)).toEqual([
      'answers.csv:3: value "1\\nx" is not a number for qol-proxy/phys1',
      "answers.csv:6: value 9 is outside 0–4 for qol-proxy/phys2",
    ]);
  });

  it("one bad row among good ones: nothing is imported", async () => {
    const good = all("P-01,experimental,male,8", "pre", "social-skills", 4);
    const before = await counts();
    const r = await run(csv(...good, "P-01,experimental,male,8,pre,qol-proxy,phys1,5"));
    expect(errorsOf(r)).toEqual([
      `answers.csv:${good.length + 2}: value 5 is outside 0–4 for qol-proxy/phys1`,
    ]);
    expect(await counts()).toEqual(before);
  });
});

describe("importAnswers: importing again", () => {
  it("changes nothing the second time, and the audit says so", async () => {
    const text = csv(
      ...all("P-01,experimental,male,8", "pre", "qol-proxy", 2),
      "P-01,experimental,male,8,pre,qol-proxy,phys1,2",
    );
    const first = await run(text);
    const n = ins("qol-proxy").items.length;
    expect(first).toMatchObject({
      ok: true,
      summary: { answersImported: n, answersUnchanged: 0, participantsCreated: 1 },
    });
    const snapshot = {
      participants: await t.db.participant.findMany(),
      sets: await t.db.responseSet.findMany(),
      answers: await t.db.answer.findMany(),
    };
    const second = await run(text);
    expect(second).toEqual({
      ok: true,
      summary: {
        rows: n + 1,
        participantsCreated: 0,
        responseSetsCreated: 0,
        responseSetsUpdated: 0,
        answersImported: 0,
        answersUnchanged: n,
      },
    });
    expect({
      participants: await t.db.participant.findMany(),
      sets: await t.db.responseSet.findMany(),
      answers: await t.db.answer.findMany(),
    }).toEqual(snapshot);
    const imports = await t.db.auditEvent.findMany({
      where: { action: "import" },
      orderBy: { seq: "asc" },
    });
    expect(
      imports.map(
        (e) =>
          JSON.parse(e.data) as {
            answersImported: number;
            answersUnchanged: number;
            sha256: string;
          },
      ),
    ).toMatchObject([
      { answersImported: n, answersUnchanged: 0 },
      { answersImported: 0, answersUnchanged: n },
    ]);
    expect(await t.db.auditEvent.count({ where: { action: "participant.add" } })).toBe(1);
  });

  it("adds new items to an imported questionnaire, but never overwrites a stored answer", async () => {
    const items = ins("qol-proxy").items;
    await run(csv(`P-01,,male,8,pre,qol-proxy,${items[0]!.id},1`));
    const more = await run(
      csv(
        `P-01,,male,8,pre,qol-proxy,${items[0]!.id},1`,
        `P-01,,,,pre,qol-proxy,${items[1]!.id},3`,
      ),
    );
    expect(more).toMatchObject({
      ok: true,
      summary: { responseSetsUpdated: 1, answersImported: 1, answersUnchanged: 1 },
    });
    const before = await counts();
    const r = await run(
      csv(
        `P-01,,male,8,pre,qol-proxy,${items[1]!.id},3`,
        `P-01,,male,8,pre,qol-proxy,${items[0]!.id},4`,
      ),
    );
    expect(errorsOf(r)).toEqual([
      `answers.csv:3: P-01 pre qol-proxy/${items[0]!.id}: the stored answer is 1, the file has 4; the import never overwrites answers`,
    ]);
    expect(await counts()).toEqual(before);
  });

  it("does not mix paper answers into a questionnaire answered in Telegram", async () => {
    const p = await addParticipant(
      t.db,
      { code: "T-01", arm: "control", gender: "male", ageYears: 8 },
      cli,
    );
    await t.db.participant.update({ where: { id: p.id }, data: { status: "consented" } });
    await t.db.$transaction((tx) => openTimepoint(tx, flows, p.id, "pre", cli));
    const rs = await t.db.responseSet.update({
      where: {
        key: responseSetKey({
          participantId: p.id,
          slot: "pre",
          instrumentId: "qol-proxy",
          respondent: "parent",
        }),
      },
      data: { status: "paused" },
    });
    await t.db.answer.create({
      data: {
        responseSetId: rs.id,
        itemId: "phys1",
        value: 2,
        instrumentHash: rs.instrumentHash,
        respondent: "parent",
      },
    });
    const r = await run(
      csv(
        "T-01,control,male,8,pre,qol-proxy,phys1,2",
        "T-01,control,male,8,pre,qol-proxy,phys2,1",
        "T-01,control,male,8,pre,qol-proxy,phys3,1",
      ),
    );
    expect(errorsOf(r)).toEqual([
      "answers.csv:3: T-01 pre qol-proxy already has answers from Telegram (paused); paper answers are not added to it",
    ]);
  });
});

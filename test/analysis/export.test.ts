// exportData: every CSV parses back with csv-parse and matches the database; no Telegram id,
// account data or facilitator nickname reaches a file; the export is audited.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/client.js";
import { loadFlows } from "../../src/study/load.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { codebookCsv, codebookJson } from "../../src/study/codebook.js";
import { EXPORT_FILES, nicknameRedactor } from "../../src/analysis/export.js";
import { exportData } from "../../src/usecases/export.js";
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
const TELEGRAM_ID = "731904552817";
const USERNAME_LIKE = "facil_wang";
const NICKNAME = "Xiaoming";

type Row = Record<string, string>;
const readCsv = (dir: string, name: string): Row[] =>
  parse(readFileSync(join(dir, name), "utf8"), { columns: true, skip_empty_lines: true }) as Row[];

async function answerAll(
  db: Db,
  key: string,
  value: (itemId: string, i: number) => number | string | null | undefined,
  status = "complete",
) {
  const rs = await db.responseSet.update({ where: { key }, data: { status } });
  const items = ins(rs.instrumentId).items;
  for (const [i, it] of items.entries()) {
    const v = value(it.id, i);
    if (v === undefined) continue;
    await db.answer.create({
      data: {
        responseSetId: rs.id,
        itemId: it.id,
        value: typeof v === "number" ? v : null,
        text: typeof v === "string" ? v : null,
        skipped: v === null,
        instrumentHash: rs.instrumentHash,
        respondent: rs.respondent,
        answeredAt: new Date(Date.UTC(2025, 1, 10, 8, 0, i)),
      },
    });
  }
}

async function sessionSet(
  db: Db,
  participantId: number | null,
  session: { id: number; number: number },
  instrumentId: string,
  respondent: string,
) {
  const slot = `session:${session.number}`;
  const key = responseSetKey({
    participantId,
    sessionId: session.id,
    slot,
    instrumentId,
    respondent,
  });
  await db.responseSet.create({
    data: {
      key,
      participantId,
      sessionId: session.id,
      slot,
      timepoint: null,
      instrumentId,
      instrumentVersion: 1,
      instrumentHash: ins(instrumentId).hash,
      respondent,
    },
  });
  return key;
}

let t: TempDb;
let outDir: string;

beforeEach(async () => {
  t = await tempDatabase();
  outDir = join(t.dir, "export");
  const db = t.db;
  const a1 = await addParticipant(
    db,
    { code: "A-01", arm: "experimental", gender: "male", ageYears: 8, group: "G1" },
    cli,
  );
  const a2 = await addParticipant(
    db,
    { code: "A-02", arm: "experimental", gender: "female", ageYears: 9, group: "G1" },
    cli,
  );
  await addParticipant(db, { code: "B-01", arm: "none", gender: "female", ageYears: 7 }, cli);
  const d1 = await addParticipant(
    db,
    { code: "D-01", arm: "control", gender: "male", ageYears: 6 },
    cli,
  );
  await db.participant.updateMany({
    where: { id: { in: [a1.id, a2.id] } },
    data: { status: "consented" },
  });
  await db.participant.update({ where: { id: d1.id }, data: { status: "declined" } });
  await db.$transaction(async (tx) => {
    for (const p of [a1, a2]) await openTimepoint(tx, flows, p.id, "pre", cli);
  });
  const pre = (pid: number, instrumentId: string, respondent = "parent") =>
    responseSetKey({ participantId: pid, slot: "pre", instrumentId, respondent });
  // Hand-checkable scores: social-skills all 3 (3 reversed on 1–5 is 3), qol-proxy all 0 (→ 100).
  await answerAll(db, pre(a1.id, "social-skills"), () => 3);
  await answerAll(db, pre(a1.id, "qol-proxy"), () => 0);
  // one QoL item only (below the 50 % rule: no score); the first social-skills item skipped.
  await answerAll(db, pre(a2.id, "qol-proxy"), (_id, i) => (i === 0 ? 2 : undefined), "paused");
  await answerAll(db, pre(a2.id, "social-skills"), (_id, i) => (i === 0 ? null : 5));

  const facilitator = await db.account.create({
    data: { telegramUserId: TELEGRAM_ID, chatId: TELEGRAM_ID, role: "facilitator" },
  });
  await db.nickname.create({
    data: { accountId: facilitator.id, participantId: a1.id, nickname: NICKNAME },
  });
  const g1 = (await db.group.findUniqueOrThrow({ where: { name: "G1" } })).id;
  const s1 = await db.groupSession.create({
    data: {
      groupId: g1,
      number: 1,
      heldOn: new Date("2025-03-01T09:00:00Z"),
      status: "closed",
      facilitatorAccountId: facilitator.id,
    },
  });
  await db.attendance.createMany({
    data: [
      { sessionId: s1.id, participantId: a1.id, present: true },
      { sessionId: s1.id, participantId: a2.id, present: false },
    ],
  });
  await db.observation.createMany({
    data: ins("observation")
      .items.filter((it) => it.type !== "text")
      .map((it, i) => ({
        sessionId: s1.id,
        participantId: a1.id,
        dimension: it.id,
        rating: i + 1 > 5 ? 5 : i + 1,
        note: i === 0 ? `${NICKNAME} spoke first, "loudly"` : null,
      })),
  });
  const rk = await sessionSet(db, null, s1, "facilitator-reflection", "facilitator");
  await answerAll(db, rk, (id) =>
    id === "went_well"
      ? `Games, with ${NICKNAME.toLowerCase()} leading\nand laughing`
      : ins("facilitator-reflection").items.find((x) => x.id === id)!.type === "text"
        ? null
        : 4,
  );
  const rrs = await db.responseSet.findUniqueOrThrow({ where: { key: rk } });
  await db.reflection.create({
    data: { sessionId: s1.id, accountId: facilitator.id, responseSetId: rrs.id },
  });
  const sk = await sessionSet(db, a1.id, s1, "session-satisfaction", "parent");
  const satValues: Record<string, number | string | null> = {
    relationship: 9,
    goals: 8,
    approach: 10,
    overall: 7,
    comment: `Thanks, ${USERNAME_LIKE}`,
  };
  await answerAll(db, sk, (id) => satValues[id] ?? null);
  await db.note.create({
    data: {
      participantId: a1.id,
      accountId: facilitator.id,
      sessionId: s1.id,
      kind: "interview",
      text: `${NICKNAME}: "I made a friend", then left`,
      codes: JSON.stringify(["peer_support", "humour"]),
      createdAt: new Date("2025-03-02T10:00:00Z"),
    },
  });
  await db.note.create({
    data: {
      participantId: a2.id,
      kind: "note",
      text: "Tired today, 多休息",
      createdAt: new Date("2025-03-03T10:00:00Z"),
    },
  });
});
afterEach(async () => t.cleanup());

describe("exportData", () => {
  it("writes every file and reports its row count", async () => {
    const r = await exportData(t.db, flows, outDir, cli);
    expect(readdirSync(outDir).sort()).toEqual([...EXPORT_FILES].sort());
    const items = flows.instrumentList.reduce((n, i) => n + i.items.length, 0);
    const answers = await t.db.answer.count({
      where: { responseSet: { participantId: { not: null } } },
    });
    expect(r.files).toEqual([
      { name: "answers_long.csv", rows: answers },
      { name: "scores_wide.csv", rows: 3 },
      { name: "sessions.csv", rows: 1 },
      { name: "attendance.csv", rows: 2 },
      { name: "observations.csv", rows: 6 },
      { name: "reflections.csv", rows: ins("facilitator-reflection").items.length },
      { name: "notes.csv", rows: 2 },
      { name: "satisfaction.csv", rows: 1 },
      { name: "codebook.csv", rows: items },
      { name: "codebook.json", rows: flows.instrumentList.length },
    ]);
    for (const f of r.files.filter((x) => x.name.endsWith(".csv")))
      expect(readCsv(outDir, f.name)).toHaveLength(f.rows);
  });

  it("answers_long has one row per answer, matching the database", async () => {
    await exportData(t.db, flows, outDir, cli);
    const rows = readCsv(outDir, "answers_long.csv");
    expect(Object.keys(rows[0]!)).toEqual([
      "participant",
      "arm",
      "group",
      "gender",
      "age",
      "timepoint",
      "instrument",
      "instrument_hash",
      "item",
      "value",
      "respondent",
      "answered_at",
      "source",
    ]);
    const db = await t.db.answer.findMany({
      where: { responseSet: { participantId: { not: null } } },
      include: { responseSet: { include: { participant: { include: { group: true } } } } },
    });
    const expected = db.map((a) => {
      const p = a.responseSet.participant!;
      return {
        participant: p.code,
        arm: p.arm ?? "",
        group: p.group?.name ?? "",
        gender: p.gender,
        age: String(p.ageYears),
        timepoint: a.responseSet.slot,
        instrument: a.responseSet.instrumentId,
        instrument_hash: a.instrumentHash,
        item: a.itemId,
        value: a.skipped ? "" : a.value !== null ? String(a.value) : a.text!,
        respondent: a.respondent,
        answered_at: a.answeredAt.toISOString(),
        source: a.source,
      };
    });
    const key = (r: Row) => `${r.participant}|${r.timepoint}|${r.instrument}|${r.item}`;
    expect([...rows].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      expected.sort((a, b) => key(a).localeCompare(key(b))),
    );
    // Study order: A-01's pre questionnaires (qol-proxy before social-skills), then session 1.
    const a1 = rows
      .filter((r) => r.participant === "A-01")
      .map((r) => `${r.timepoint} ${r.instrument}`);
    expect([...new Set(a1)]).toEqual([
      "pre qol-proxy",
      "pre social-skills",
      "session:1 session-satisfaction",
    ]);
    expect(
      rows
        .filter((r) => r.participant === "A-01" && r.instrument === "social-skills")
        .map((r) => r.item),
    ).toEqual(ins("social-skills").items.map((i) => i.id));
    // A skipped item is an empty cell; the satisfaction comment is text.
    expect(
      rows.find((r) => r.participant === "A-02" && r.item === ins("social-skills").items[0]!.id)!
        .value,
    ).toBe("");
    expect(rows.find((r) => r.item === "comment")!.value).toBe(`Thanks, ${USERNAME_LIKE}`);
  });

  it("scores_wide has a column per subscale/total × timepoint and the scores", async () => {
    await exportData(t.db, flows, outDir, cli);
    const rows = readCsv(outDir, "scores_wide.csv");
    const header = Object.keys(rows[0]!);
    expect(header.slice(0, 5)).toEqual(["participant", "arm", "group", "gender", "age"]);
    expect(header).toContain("qol-proxy.physical.pre");
    expect(header).toContain("social-skills.total.post");
    expect(header).not.toContain("social-skills-child.total.group-end");
    expect(header.filter((h) => h.startsWith("session-satisfaction"))).toEqual([]); // not given at a timepoint
    expect(header.indexOf("qol-proxy.physical.pre")).toBe(
      header.indexOf("qol-proxy.physical.post") - 1,
    );
    // Each of these is given at pre, post and follow-up.
    expect(header.indexOf("social-skills.total.follow-up")).toBe(
      header.indexOf("social-skills.total.post") + 1,
    );
    const expectedCols = ["qol-proxy", "social-skills", "social-skills-child"].reduce(
      (n, id) => n + (ins(id).subscales.length + 1) * 3,
      5,
    );
    expect(header).toHaveLength(expectedCols);
    // Declined participants are left out.
    expect(rows.map((r) => r.participant)).toEqual(["A-01", "A-02", "B-01"]);
    const [a1, a2, b1] = rows as [Row, Row, Row];
    for (const s of ins("qol-proxy").subscales) expect(a1[`qol-proxy.${s.id}.pre`]).toBe("100");
    expect(a1["qol-proxy.total.pre"]).toBe("100");
    for (const s of ins("social-skills").subscales)
      expect(a1[`social-skills.${s.id}.pre`]).toBe("3");
    expect(a1["social-skills.total.post"]).toBe("");
    // One QoL item of 23 is below the 50 % rule: empty, not 0.
    expect(a2["qol-proxy.physical.pre"]).toBe("");
    expect(a2["qol-proxy.total.pre"]).toBe("");
    expect(Number(a2["social-skills.total.pre"])).toBeGreaterThan(1);
    expect(b1).toMatchObject({
      participant: "B-01",
      arm: "",
      group: "",
      gender: "female",
      age: "7",
      "qol-proxy.total.pre": "",
    });
  });

  it("session files carry codes, numbers and the 0–40 satisfaction total", async () => {
    await exportData(t.db, flows, outDir, cli);
    expect(readCsv(outDir, "sessions.csv")).toEqual([
      {
        group: "G1",
        session: "1",
        held_on: "2025-03-01",
        status: "closed",
        present: "1",
        absent: "1",
        log_complete: "1",
        satisfaction_responses: "1",
        satisfaction_mean: "34",
      },
    ]);
    expect(readCsv(outDir, "attendance.csv")).toEqual([
      { group: "G1", session: "1", participant: "A-01", present: "1" },
      { group: "G1", session: "1", participant: "A-02", present: "0" },
    ]);
    const obs = readCsv(outDir, "observations.csv");
    expect(obs.map((o) => o.dimension)).toEqual(
      ins("observation")
        .items.filter((i) => i.type !== "text")
        .map((i) => i.id),
    );
    expect(obs[0]).toMatchObject({
      group: "G1",
      session: "1",
      participant: "A-01",
      rating: "1",
      skipped: "0",
      note: `[A-01] spoke first, "loudly"`,
    });
    expect(readCsv(outDir, "satisfaction.csv")).toEqual([
      {
        participant: "A-01",
        group: "G1",
        session: "1",
        relationship: "9",
        goals: "8",
        approach: "10",
        overall: "7",
        total: "34",
      },
    ]);
    const refl = readCsv(outDir, "reflections.csv");
    expect(refl.map((r) => r.item)).toEqual(ins("facilitator-reflection").items.map((i) => i.id));
    expect(refl.find((r) => r.item === "overall")).toMatchObject({
      group: "G1",
      session: "1",
      reflection: "1",
      value: "4",
      status: "complete",
    });
    expect(refl.find((r) => r.item === "went_well")!.value).toBe(
      "Games, with [A-01] leading\nand laughing",
    );
    expect(readCsv(outDir, "notes.csv")).toEqual([
      {
        participant: "A-01",
        kind: "interview",
        session: "1",
        created_at: "2025-03-02T10:00:00.000Z",
        codes: "peer_support;humour",
        text: `[A-01]: "I made a friend", then left`,
      },
      {
        participant: "A-02",
        kind: "note",
        session: "",
        created_at: "2025-03-03T10:00:00.000Z",
        codes: "",
        text: "Tired today, 多休息",
      },
    ]);
  });

  it("ships the codebook unchanged and keeps Telegram ids and nicknames out of every file", async () => {
    await exportData(t.db, flows, outDir, cli);
    expect(readFileSync(join(outDir, "codebook.csv"), "utf8")).toBe(codebookCsv(flows));
    expect(JSON.parse(readFileSync(join(outDir, "codebook.json"), "utf8"))).toEqual(
      codebookJson(flows),
    );
    for (const name of EXPORT_FILES) {
      const bytes = readFileSync(join(outDir, name));
      expect(
        bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])),
        `${name} has a BOM`,
      ).toBe(false);
      const text = bytes.toString("utf8");
      expect(text, name).not.toContain(TELEGRAM_ID);
      expect(text.toLowerCase(), name).not.toContain(NICKNAME.toLowerCase());
    }
  });

  it("audits the export with file names and row counts", async () => {
    const r = await exportData(t.db, flows, outDir, cli);
    const ev = await t.db.auditEvent.findFirstOrThrow({ where: { action: "export" } });
    expect(ev.actor).toBe("cli");
    expect(JSON.parse(ev.data)).toEqual({ files: r.files });
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("is deterministic: a second export writes the same bytes", async () => {
    await exportData(t.db, flows, outDir, cli);
    const first = EXPORT_FILES.map((n) => readFileSync(join(outDir, n), "utf8"));
    const again = join(t.dir, "again");
    await exportData(t.db, flows, again, cli);
    expect(EXPORT_FILES.map((n) => readFileSync(join(again, n), "utf8"))).toEqual(first);
  });
});

describe("nicknameRedactor", () => {
  it("replaces whole-word Latin nicknames and Chinese ones anywhere, longest first", () => {
    const r = nicknameRedactor([
      { nickname: "Li", code: "A-01" },
      { nickname: "Lili", code: "A-02" },
      { nickname: "小明", code: "A-03" },
    ]);
    expect(r("Lili and li played; Lisa watched. 小明很开心")).toBe(
      "[A-02] and [A-01] played; Lisa watched. [A-03]很开心",
    );
    expect(r("no names here")).toBe("no names here");
  });
});

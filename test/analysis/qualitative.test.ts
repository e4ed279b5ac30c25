// The qualitative codes report on seeded notes: counts overall and by kind, arm, group and
// session against hand counts, distinct children, co-occurrence, excerpts; suppression in the
// text and HTML views (never in JSON or CSV); no nickname or Telegram id in any output; the CLI.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildCodeReport, codeReport, loadCodedNotes } from "../../src/analysis/qualitative.js";
import { codeReportText, suppressCount } from "../../src/analysis/qualitative-view.js";
import { verifyAuditChain } from "../../src/store/audit.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { runCircle } from "../support/cli.js";
import {
  EXPECTED,
  EXPECTED_PAIRS,
  flows,
  NICK_CJK,
  NICK_LATIN,
  seedNotes,
  TELEGRAM_ID_1,
  TELEGRAM_ID_2,
  type Seeded,
} from "./qualitative-seed.js";

const NOW = new Date("2025-05-01T12:00:00Z");
let t: TempDb;
let seeded: Seeded;

beforeEach(async () => {
  t = await tempDatabase();
  seeded = await seedNotes(t.db);
});
afterEach(async () => t.cleanup());

type Row = Record<string, string>;
const readCsv = (path: string): Row[] =>
  parse(readFileSync(path, "utf8"), { columns: true, skip_empty_lines: true }) as Row[];

/** Fails if any forbidden text (nicknames, Telegram ids) occurs in an output. */
function expectClean(output: string) {
  for (const secret of [NICK_LATIN, NICK_CJK, TELEGRAM_ID_1, TELEGRAM_ID_2]) {
    expect(output).not.toContain(secret);
    expect(output.toLowerCase()).not.toContain(secret.toLowerCase());
  }
}

describe("the codes report (JSON contract)", () => {
  it("counts every code overall, by kind, arm, group and session, as counted by hand", async () => {
    const { report } = await codeReport(t.db, flows, NOW);
    expect(report.generatedAt).toBe(NOW.toISOString());
    expect(report.study).toBe(flows.study.id);
    // Codebook order, then the stored code that is no longer in the codebook.
    expect(report.codes.map((c) => c.id)).toEqual([
      ...flows.study.codes.map((c) => c.id),
      "old_code",
    ]);
    for (const c of report.codes) {
      const e = EXPECTED[c.id]!;
      expect({ id: c.id, segments: c.segments, participants: c.participants }).toEqual({
        id: c.id,
        segments: e.segments,
        participants: e.participants,
      });
      expect(c.byKind).toEqual([
        { kind: "note", segments: e.note, participants: expect.any(Number) },
        { kind: "interview", segments: e.interview, participants: expect.any(Number) },
      ]);
      expect(c.byArm.map((a) => [a.arm, a.segments])).toEqual([
        ["experimental", e.experimental],
        ["control", e.control],
      ]);
      expect(c.byGroup.map((g) => [g.group, g.segments])).toEqual([
        ["G-C", e["G-C"]],
        ["G-E", e["G-E"]],
      ]);
      expect(c.bySession.map((s) => [s.session, s.segments])).toEqual([
        [1, e.s1],
        [2, e.s2],
        [3, 0],
        [4, 0],
        [5, 0],
        [6, 0],
        [null, e.none],
      ]);
      expect(c.excerpts).toHaveLength(e.segments);
    }
    const old = report.codes.find((c) => c.id === "old_code")!;
    expect(old).toMatchObject({ inCodebook: false, label: null });
    expect(report.codes[0]).toMatchObject({
      inCodebook: true,
      label: flows.study.codes[0]!.label,
    });
    // A code listed twice on one note counts once.
    expect(report.codes.find((c) => c.id === "peer_support")!.excerpts.map((x) => x.note)).toEqual([
      seeded.noteIds[0],
      seeded.noteIds[3],
      seeded.noteIds[1],
      seeded.noteIds[6],
    ]);
  });

  it("counts distinct children per level, and the totals are the denominators", async () => {
    const { report } = await codeReport(t.db, flows, NOW);
    const peer = report.codes.find((c) => c.id === "peer_support")!;
    // E-01 has a note and an interview with peer_support; E-02 two notes.
    expect(peer.byKind.map((k) => k.participants)).toEqual([2, 1]);
    expect(peer.bySession.find((s) => s.session === 2)!.participants).toBe(1);
    expect(report.totals).toMatchObject({
      segments: 8,
      participants: 5,
      coded: 7,
      uncoded: 1,
      byKind: [
        { kind: "note", segments: 6, participants: 5 },
        { kind: "interview", segments: 2, participants: 2 },
      ],
      byArm: [
        { arm: "experimental", segments: 5, participants: 3 },
        { arm: "control", segments: 3, participants: 2 },
      ],
      byGroup: [
        { group: "G-C", segments: 3, participants: 2 },
        { group: "G-E", segments: 5, participants: 3 },
      ],
    });
    expect(report.totals.bySession.map((s) => [s.session, s.segments])).toEqual([
      [1, 4],
      [2, 2],
      [3, 0],
      [4, 0],
      [5, 0],
      [6, 0],
      [null, 2],
    ]);
  });

  it("gives a symmetric co-occurrence matrix whose diagonal is each code's count", async () => {
    const { report } = await codeReport(t.db, flows, NOW);
    const { codes, segments, participants } = report.cooccurrence;
    expect(codes).toEqual(report.codes.map((c) => c.id));
    const at = (a: string, b: string) => segments[codes.indexOf(a)]![codes.indexOf(b)]!;
    for (const [i, a] of codes.entries()) {
      expect(segments[i]![i]).toBe(EXPECTED[a]!.segments);
      expect(participants[i]![i]).toBe(EXPECTED[a]!.participants);
      for (const b of codes) expect(at(a, b)).toBe(at(b, a));
    }
    const expectedPairs = new Map(EXPECTED_PAIRS.map(([a, b, n]) => [[a, b].sort().join("|"), n]));
    for (const a of codes)
      for (const b of codes)
        if (a !== b) expect(at(a, b)).toBe(expectedPairs.get([a, b].sort().join("|")) ?? 0);
  });

  it("excerpts carry the redacted text, participant code, kind, time and session", async () => {
    const { report } = await codeReport(t.db, flows, NOW);
    const humour = report.codes.find((c) => c.id === "humour")!;
    expect(humour.excerpts).toEqual([
      {
        note: seeded.noteIds[7],
        participant: "C-02",
        kind: "note",
        createdAt: "2025-03-02T11:30:00.000Z",
        session: { group: "G-C", number: 1, heldOn: "2025-03-02" },
        codes: ["humour"],
        text: "Joked with the nurse",
      },
      {
        note: seeded.noteIds[0],
        participant: "E-01",
        kind: "note",
        createdAt: "2025-03-01T10:00:00.000Z",
        session: { group: "G-E", number: 1, heldOn: "2025-03-01" },
        codes: ["peer_support", "humour"],
        text: "[E-01] shared crayons with E-02, laughing",
      },
    ]);
    const illness = report.codes.find((c) => c.id === "illness_talk")!;
    expect(illness.excerpts[0]!.text).toBe("[C-01]说起了化疗 & <chemo>");
    const emotion = report.codes.find((c) => c.id === "emotion_expression")!;
    expect(emotion.excerpts[0]).toMatchObject({ kind: "interview", session: null });
    const json = JSON.stringify(report);
    expectClean(json);
    expect(json).not.toMatch(/facilitator-\d|accountId|telegram/i);
  });

  it("is unsuppressed in JSON whatever the small-cell size", async () => {
    const r = await runCircle(t.url, ["report", "--codes", "--json", "--small-cell", "50"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Awaited<ReturnType<typeof codeReport>>["report"];
    expect(report.codes.find((c) => c.id === "peer_support")!.segments).toBe(4);
    expect(r.out).not.toContain("<50");
    expectClean(r.out);
  });

  it("builds an empty report (zeros, no excerpts) before anyone wrote a note", async () => {
    const report = buildCodeReport([], flows, { now: NOW, groups: [] });
    expect(report.totals).toMatchObject({ segments: 0, participants: 0, coded: 0, uncoded: 0 });
    expect(report.codes.every((c) => c.segments === 0 && c.excerpts.length === 0)).toBe(true);
    expect(codeReportText(report, flows, { locale: "en", smallCell: 5 })).toMatch(
      /No notes or interviews yet/,
    );
  });
});

describe("shared views suppress small cells", () => {
  it("shows counts below n as <n in text, and keeps 0 and counts ≥ n", async () => {
    expect(suppressCount(0, 3)).toBe("0");
    expect(suppressCount(2, 3)).toBe("<3");
    expect(suppressCount(3, 3)).toBe("3");
    const { report } = await codeReport(t.db, flows, NOW);
    const text = codeReportText(report, flows, { locale: "en", smallCell: 3 });
    // Peer support: 3 notes, 1 interview, 4 in all, 2 children.
    const row = text.split("\n").find((l) => l.startsWith("Peer support"))!;
    expect(row.split(/\s{2,}/)).toEqual(["Peer support", "3", "<3", "4", "<3"]);
    const initiative = text.split("\n").find((l) => l.startsWith("Taking initiative"))!;
    expect(initiative.split(/\s{2,}/)).toEqual(["Taking initiative", "0", "0", "0", "0"]);
    expect(text).toMatch(/^old_code \* {2}/m);
    expect(text).toContain("* not in the codebook");
    expect(text).toContain('Counts from 1 to 2 are shown as "<3"');
    // No excerpt text in the text view.
    expect(text).not.toContain("crayons");
    expect(text).not.toContain("Joked");
    expectClean(text);
  });

  it("suppresses with the study's smallCell (5) by default on the CLI, and --small-cell overrides", async () => {
    const def = await runCircle(t.url, ["report", "--codes"]);
    expect(def.code).toBe(0);
    const row = def.out.split("\n").find((l) => l.startsWith("Peer support"))!;
    expect(row.split(/\s{2,}/)).toEqual(["Peer support", "<5", "<5", "<5", "<5"]);
    // Totals: 8 notes → shown; 5 children → shown; 2 interviews → suppressed.
    expect(def.out).toContain("8 notes and interviews on 5 children (6 notes, <5 interviews)");
    const one = await runCircle(t.url, ["report", "--codes", "--text", "--small-cell", "1"]);
    const row1 = one.out.split("\n").find((l) => l.startsWith("Peer support"))!;
    expect(row1.split(/\s{2,}/)).toEqual(["Peer support", "3", "1", "4", "2"]);
    expectClean(def.out);
  });

  it("writes an HTML report with suppressed tables and the excerpts (or without them)", async () => {
    const file = join(t.dir, "codes.html");
    const r = await runCircle(t.url, ["report", "--codes", "--html", file, "--small-cell", "3"]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toContain(`wrote ${file}`);
    const html = readFileSync(file, "utf8");
    expect(html).toMatch(
      /<th>Peer support<\/th><td>3<\/td><td>&lt;3<\/td><td>4<\/td><td>&lt;3<\/td>/,
    );
    expect(html).toContain("[E-01] shared crayons with E-02, laughing");
    expect(html).toContain("[C-01]说起了化疗 &amp; &lt;chemo&gt;");
    expect(html).toContain("For the research team only");
    expectClean(html);
    const bare = join(t.dir, "bare.html");
    await runCircle(t.url, ["report", "--codes", "--html", bare, "--no-excerpts"]);
    const b = readFileSync(bare, "utf8");
    expect(b).not.toContain("crayons");
    expect(b).toContain("Peer support");
  });

  it("labels in Chinese with --locale zh", async () => {
    const { report } = await codeReport(t.db, flows, NOW);
    const text = codeReportText(report, flows, { locale: "zh", smallCell: 1 });
    expect(text).toContain("同伴支持");
    expect(text).toContain("质性编码");
  });
});

describe("CSV files", () => {
  it("writes codes_summary.csv and coded_segments.csv, unsuppressed, and audits them", async () => {
    const dir = join(t.dir, "codes");
    const r = await runCircle(t.url, ["report", "--codes", "--out", dir]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["coded_segments.csv", "codes_summary.csv"]);
    const summary = readCsv(join(dir, "codes_summary.csv"));
    expect(Object.keys(summary[0]!)).toEqual([
      "code",
      "label",
      "in_codebook",
      "dimension",
      "level",
      "segments",
      "participants",
    ]);
    const get = (code: string, dimension: string, level: string) =>
      summary.find((x) => x.code === code && x.dimension === dimension && x.level === level);
    expect(get("peer_support", "all", "")).toMatchObject({
      label: "Peer support",
      in_codebook: "1",
      segments: "4",
      participants: "2",
    });
    expect(get("peer_support", "kind", "interview")!.segments).toBe("1");
    expect(get("peer_support", "arm", "experimental")!.segments).toBe("4");
    expect(get("peer_support", "group", "G-C")!.segments).toBe("0");
    expect(get("peer_support", "session", "")!.segments).toBe("1"); // not tied to a session
    expect(get("peer_support", "co-occurrence", "humour")!.segments).toBe("1");
    expect(get("withdrawal", "co-occurrence", "illness_talk")).toMatchObject({
      segments: "1",
      participants: "1",
    });
    expect(get("old_code", "all", "")).toMatchObject({ in_codebook: "0", segments: "1" });
    expect(get("_all", "all", "")).toMatchObject({ segments: "8", participants: "5" });
    for (const [code, e] of Object.entries(EXPECTED)) {
      expect(get(code, "all", "")!.segments).toBe(String(e.segments));
      expect(get(code, "session", "1")!.segments).toBe(String(e.s1));
    }

    const segs = readCsv(join(dir, "coded_segments.csv"));
    // One row per note × code; the uncoded interview once with an empty code: 2+1+1+2+2+1+2+1.
    expect(segs).toHaveLength(12);
    expect(Object.keys(segs[0]!)).toEqual([
      "note",
      "participant",
      "arm",
      "group",
      "gender",
      "age",
      "kind",
      "session_group",
      "session",
      "held_on",
      "created_at",
      "code",
      "label",
      "chars",
      "text",
    ]);
    const interview = segs.filter((s) => s.note === String(seeded.noteIds[3]));
    expect(interview.map((s) => s.code)).toEqual(["peer_support", "emotion_expression"]);
    expect(interview[0]).toMatchObject({
      participant: "E-01",
      arm: "experimental",
      group: "G-E",
      kind: "interview",
      session: "",
      created_at: "2025-04-20T09:00:00.000Z",
      text: `我交了一个朋友。[E-01] said: "I'm happy 😊"\nand waved`,
    });
    // chars counts code points (the emoji is one), as the .qdpx positions do.
    const text = interview[0]!.text!;
    expect(Number(interview[0]!.chars)).toBe([...text].length);
    expect(Number(interview[0]!.chars)).toBe(text.length - 1);
    expect(segs.find((s) => s.participant === "C-02" && s.kind === "interview")).toMatchObject({
      code: "",
      label: "",
    });
    const all = readFileSync(join(dir, "coded_segments.csv"), "utf8");
    expect(all.charCodeAt(0)).not.toBe(0xfeff);
    expectClean(all + readFileSync(join(dir, "codes_summary.csv"), "utf8"));

    const events = await t.db.auditEvent.findMany({ where: { action: "export.codes" } });
    expect(events).toHaveLength(1);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });
});

describe("the command line", () => {
  it("requires --instrument unless --codes, and refuses --out/--qdpx without --codes", async () => {
    const none = await runCircle(t.url, ["report"]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--instrument <id> is required \(or --codes/);
    const both = await runCircle(t.url, ["report", "--codes", "--instrument", "social-skills"]);
    expect(both.code).toBe(2);
    const out = await runCircle(t.url, ["report", "--instrument", "social-skills", "--out", t.dir]);
    expect(out.code).toBe(2);
    expect(out.err).toMatch(/go with --codes/);
  });

  it("reads notes as loadCodedNotes does, without any account or Telegram data", async () => {
    const notes = await loadCodedNotes(t.db, flows);
    // Sorted by child, then time; C-02's first note came from an import (no author).
    expect(notes.map((n) => n.author)).toEqual([
      "facilitator-2",
      null,
      "facilitator-2",
      "facilitator-1",
      "facilitator-1",
      "facilitator-1",
      "facilitator-1",
      "facilitator-1",
    ]);
    expect(notes.map((n) => n.participant)).toEqual([
      "C-01",
      "C-02",
      "C-02",
      "E-01",
      "E-01",
      "E-02",
      "E-02",
      "E-03",
    ]);
  });
});

describe("the effect report", () => {
  it("gets a code-summary section in its HTML, suppressed and without excerpts", async () => {
    const csv = readFileSync("test/fixtures/report/answers.csv", "utf8");
    const { importAnswers } = await import("../../src/usecases/import.js");
    const imp = await importAnswers(t.db, flows, csv, {
      file: "answers.csv",
      actor: { kind: "cli" },
    });
    expect(imp.ok).toBe(true);
    const file = join(t.dir, "effect.html");
    const r = await runCircle(t.url, ["report", "--instrument", "social-skills", "--html", file]);
    expect(r.code).toBe(0);
    const html = readFileSync(file, "utf8");
    const section = html.slice(
      html.indexOf("<h2>Qualitative codes</h2>"),
      html.indexOf("<h2>Details</h2>"),
    );
    expect(section).toContain("<th>Peer support</th><td>&lt;5</td>");
    expect(section).not.toContain("crayons");
    expectClean(html);
  }, 60_000);
});

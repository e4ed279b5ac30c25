// The CONSORT participant flow on a study built like a real one: families enrol through the real
// bot (fake Bot API) with single-use invites, agree or decline consent and assent, one withdraws
// before consenting; paper families come in through `circle import`; answers are imported (one
// questionnaire left half-done, some post-tests missing); a facilitator's six sessions are on
// record; two consented children withdraw. Every count is checked against the scenario, against
// `circle progress` and against the n the effect report and the baseline report use — under
// both withdrawal policies (keep and delete).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBaseline } from "../../src/analysis/baseline.js";
import { buildConsort, outcomeInstruments, type ConsortFlow } from "../../src/analysis/consort.js";
import { consortPng, consortSvg, consortText } from "../../src/analysis/consort-view.js";
import { importAnswers } from "../../src/usecases/import.js";
import { buildProgress, type Progress } from "../../src/analysis/progress.js";
import { buildReport } from "../../src/analysis/report.js";
import { researcherFeature } from "../../src/telegram/features/researcher.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { timepointAssignments } from "../../src/usecases/assignments.js";
import { createInvite } from "../../src/usecases/invites.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { seededRandom } from "../../src/usecases/random.js";
import { withdrawParticipant } from "../../src/telegram/conversation/withdrawal.js";
import { makeTestBot, shippedFlows, type TestBot } from "../support/bot.js";
import { runCircle } from "../support/cli.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { copyFlows, type FlowsCopy } from "../study/support.js";

type Arm = "experimental" | "control" | null;
interface Child {
  code: string;
  arm: Arm;
  gender: "male" | "female";
  age: number;
}

const child = (code: string, arm: Arm, i: number): Child => ({
  code,
  arm,
  gender: i % 2 === 0 ? "female" : "male",
  age: 6 + (i % 7),
});
const E = Array.from({ length: 8 }, (_, i) => child(`E0${i + 1}`, "experimental", i));
const C = Array.from({ length: 7 }, (_, i) => child(`C0${i + 1}`, "control", i + 3));
const N = Array.from({ length: 10 }, (_, i) =>
  child(i < 9 ? `N0${i + 1}` : `N${i + 1}`, null, i + 5),
);
const byCode = new Map([...E, ...C, ...N].map((c) => [c.code, c]));
const PAPER = new Set(["E08", "N07", "N08", "N09", "N10"]);

let tmp: TempDb;
let tb: TestBot;
let copy: FlowsCopy | undefined;

async function cleanup() {
  await tb.db.$disconnect();
  await tmp.cleanup();
  copy?.cleanup();
  copy = undefined;
}

/** CSV rows (import format) for one questionnaire; `fraction` of the items answered. */
function rows(flows: LoadedFlows, c: Child, timepoint: string, id: string, fraction = 1): string[] {
  const ins = flows.instruments.get(id)!;
  const rnd = seededRandom("consort-test", c.code, timepoint, id);
  const items = ins.items.filter((it) => it.min !== null && it.max !== null);
  const keep = Math.ceil(items.length * fraction);
  return items.slice(0, keep).map((it) => {
    const v = it.min! + Math.floor(rnd() * (it.max! - it.min! + 1));
    return [c.code, c.arm ?? "", c.gender, c.age, timepoint, id, it.id, v].join(",");
  });
}

async function importRows(flows: LoadedFlows, lines: string[]): Promise<void> {
  const csv = ["participant,arm,gender,age,timepoint,instrument,item,value", ...lines].join("\n");
  const r = await importAnswers(tb.db, flows, csv, { file: "t.csv", actor: { kind: "cli" } });
  if (!r.ok) throw new Error(r.errors.join("\n"));
}

/** Builds the study described at the top; returns the researcher's chat. */
async function buildStudy(flows: LoadedFlows) {
  tmp = await tempDatabase();
  tb = makeTestBot(tmp.db, tmp.url, { flows, features: [researcherFeature] });
  const db = tb.db;
  const invites = new Map<string, string>();
  for (const c of [...E, ...C, ...N]) {
    if (PAPER.has(c.code)) continue;
    await addParticipant(
      db,
      {
        code: c.code,
        arm: c.arm ?? "none",
        gender: c.gender,
        ageYears: c.age,
        group: c.arm === "experimental" ? "ward-e" : c.arm === "control" ? "ward-c" : undefined,
      },
      { kind: "cli" },
    );
    const { code } = await createInvite(
      db,
      { role: "parent", participantCode: c.code, ttlHours: 48 },
      { kind: "cli" },
    );
    invites.set(c.code, code);
  }
  // Families in Telegram: agree, decline consent (E07), decline assent (C06), only open the link
  // (N05), or never use the invite (C07, N06).
  let uid = 1000;
  const users = new Map<string, ReturnType<TestBot["user"]>>();
  for (const [code, invite] of invites) {
    if (code === "C07" || code === "N06") continue;
    const u = tb.user(++uid);
    users.set(code, u);
    await u.send(`/start ${invite}`);
    if (code === "N05") continue;
    if (code === "E07") {
      await u.press("I do not agree");
      continue;
    }
    await u.press("I agree");
    await u.press(code === "C06" ? "My child does not agree" : "My child agrees");
  }
  // N05 withdraws through the bot before deciding on consent.
  const n05 = users.get("N05")!;
  await n05.send("/withdraw");
  await n05.press("Yes, withdraw");

  const lines: string[] = [];
  const consented = [...E, ...C, ...N].filter(
    (c) => !["E07", "C06", "C07", "N05", "N06"].includes(c.code),
  );
  for (const c of consented) {
    lines.push(...rows(flows, c, "pre", "qol-proxy"));
    if (c.code !== "N08")
      lines.push(...rows(flows, c, "pre", "social-skills", c.code === "E03" ? 0.2 : 1));
    if (c.arm && c.code !== "C05") lines.push(...rows(flows, c, "pre", "social-skills-child"));
  }
  for (const code of ["E01", "E02", "E04", "E05", "C01", "C02", "C03", "C04"]) {
    const c = byCode.get(code)!;
    for (const id of ["qol-proxy", "social-skills", "social-skills-child"])
      lines.push(...rows(flows, c, "post", id));
  }
  for (const id of ["qol-proxy", "social-skills"]) lines.push(...rows(flows, E[7]!, "post", id));
  await importRows(flows, lines);

  // The experimental group's six sessions, closed, with attendance.
  const group = await db.group.findUniqueOrThrow({ where: { name: "ward-e" } });
  const present: Record<string, number[]> = {
    E01: [1, 2, 3, 4, 5, 6],
    E02: [1, 2, 3, 4, 5],
    E03: [1, 2],
    E04: [],
    E05: [1],
    E06: [1, 2, 3, 4, 5, 6],
  };
  for (let n = 1; n <= 6; n++) {
    const session = await db.groupSession.create({
      data: {
        groupId: group.id,
        number: n,
        status: "closed",
        heldOn: new Date(Date.UTC(2026, 2, n * 7)),
      },
    });
    for (const [code, list] of Object.entries(present)) {
      if (code === "E03" && n > 2) continue;
      const p = await db.participant.findUniqueOrThrow({ where: { code } });
      await db.attendance.create({
        data: { sessionId: session.id, participantId: p.id, present: list.includes(n) },
      });
    }
  }
  // Two consented children withdraw later, as the study file says (keep or delete).
  for (const code of ["E03", "N02"]) {
    const p = await db.participant.findUniqueOrThrow({ where: { code } });
    await withdrawParticipant(db, p.id, flows.study.withdrawal.data, { kind: "cli" }, new Date());
  }

  const researcher = tb.user(9000);
  const { code } = await createInvite(db, { role: "researcher", ttlHours: 1 }, { kind: "cli" });
  await researcher.send(`/start ${code}`);
  return researcher;
}

/** Every count that `circle progress` also knows must agree with it. */
function expectConsistentWithProgress(flow: ConsortFlow, progress: Progress, flows: LoadedFlows) {
  const s = progress.summary.participants;
  expect(flow.registered).toEqual({ total: s.total, ...s.byArm });
  expect(flow.awaitingEnrolment).toBe(s.byStatus.invited);
  expect(flow.awaitingConsent).toBe(s.byStatus.enrolled);
  expect(flow.declined.total).toBe(s.byStatus.declined);
  const withdrawnAfter = flow.arms.experimental.withdrawn + flow.arms.control.withdrawn;
  expect(withdrawnAfter + flow.arms.none.withdrawn + flow.withdrawnBeforeConsent).toBe(
    s.byStatus.withdrawn,
  );
  expect(flow.included - withdrawnAfter - flow.arms.none.withdrawn).toBe(s.byStatus.consented);
  // The boxes add up.
  expect(flow.awaitingEnrolment + flow.enrolled).toBe(flow.registered.total);
  expect(
    flow.awaitingConsent + flow.declined.total + flow.withdrawnBeforeConsent + flow.included,
  ).toBe(flow.enrolled);
  expect(flow.declined.consent + flow.declined.assent).toBe(flow.declined.total);
  const arms = ["experimental", "control", "none"] as const;
  expect(arms.reduce((n, a) => n + flow.arms[a].allocated, 0)).toBe(flow.included);
  for (const a of arms) expect(flow.arms[a].registered).toBe(flow.registered[a]);

  // Completion: per questionnaire all arms together are progress's complete counts, and per arm
  // "completed all" is what progress's per-participant rows show.
  for (const row of progress.summary.completion) {
    const ours = arms.reduce(
      (n, a) =>
        n +
        (flow.arms[a].timepoints[row.timepoint]?.questionnaires.find(
          (q) => q.instrument === row.instrument && q.respondent === row.respondent,
        )?.complete ?? 0),
      0,
    );
    expect(ours, `${row.timepoint} ${row.instrument} ${row.respondent}`).toBe(row.complete);
  }
  for (const tp of flow.timepoints) {
    for (const a of arms) {
      const assigned = timepointAssignments(flows, tp, a === "none" ? null : a);
      const members = progress.participants.filter((p) => (p.arm ?? "none") === a);
      const done = (p: (typeof members)[number]) =>
        assigned.filter((x) =>
          p.questionnaires.some(
            (q) =>
              q.timepoint === tp &&
              q.instrument === x.instrument.id &&
              q.respondent === x.respondent &&
              q.status === "complete",
          ),
        ).length;
      const f = flow.arms[a].timepoints[tp]!;
      if (assigned.length === 0) {
        expect(f.completedAll).toBeNull();
        continue;
      }
      expect(f.completedAll, `${a} ${tp}`).toBe(
        members.filter((p) => done(p) === assigned.length).length,
      );
      expect(f.completedAny, `${a} ${tp}`).toBe(members.filter((p) => done(p) > 0).length);
    }
  }
  // Attendance: sessions held and children present as progress counts them.
  const presentRows = progress.sessions.reduce((n, x) => n + x.attendance, 0);
  expect(presentRows).toBeGreaterThan(0);
  expect(flow.sessions).toBe(flows.study.sessions.length);
}

/** "Analysed" is exactly the n of the effect report and of the baseline report. */
async function expectConsistentWithReports(flow: ConsortFlow, flows: LoadedFlows) {
  const { report: baseline } = await buildBaseline(tb.db, flows);
  const outcomes = outcomeInstruments(flows).map((i) => i.id);
  expect(flow.arms.experimental.analysed.map((a) => a.instrument)).toEqual(outcomes);
  for (const id of outcomes) {
    const { report } = await buildReport(tb.db, flows, id);
    const total = report.scores.find((s) => s.id === "total")!;
    const e = flow.arms.experimental.analysed.find((a) => a.instrument === id)!;
    const c = flow.arms.control.analysed.find((a) => a.instrument === id)!;
    const n = flow.arms.none.analysed.find((a) => a.instrument === id)!;
    expect(e.change, id).toBe(total.arms.experimental.change.n);
    expect(c.change, id).toBe(total.arms.control.change.n);
    expect(n.change).toBeNull();
    // The ANCOVA uses both arms' complete pairs: df = n − 3.
    if (total.between.ancova.df !== null)
      expect(total.between.ancova.df + 3).toBe(e.change! + c.change!);
    const b = baseline.instruments.find((x) => x.instrument === id);
    if (b) {
      const bt = b.scores.find((s) => s.id === "total")!;
      expect(e.baseline + c.baseline + n.baseline, id).toBe(bt.n);
    }
  }
}

describe("participant flow (withdrawal policy keep)", () => {
  let researcher: Awaited<ReturnType<typeof buildStudy>>;
  let flow: ConsortFlow;
  let flows: LoadedFlows;
  beforeAll(async () => {
    flows = shippedFlows();
    expect(flows.study.withdrawal.data).toBe("keep");
    researcher = await buildStudy(flows);
    flow = await buildConsort(tb.db, flows);
  });
  afterAll(cleanup);

  it("counts every box of the scenario", () => {
    expect(flow.withdrawalPolicy).toBe("keep");
    expect(flow.registered).toEqual({ total: 25, experimental: 8, control: 7, none: 10 });
    expect(flow.invited).toEqual({ participants: 20, invites: 20, used: 18 });
    expect(flow.notInvited).toBe(5);
    expect(flow.awaitingEnrolment).toBe(2);
    expect(flow.enrolled).toBe(23);
    expect(flow.awaitingConsent).toBe(0);
    expect(flow.declined).toEqual({ total: 2, consent: 1, assent: 1 });
    expect(flow.withdrawnBeforeConsent).toBe(1);
    expect(flow.included).toBe(20);
    const e = flow.arms.experimental;
    const c = flow.arms.control;
    const n = flow.arms.none;
    expect([e.allocated, c.allocated, n.allocated]).toEqual([7, 5, 8]);
    expect(e.attended).toEqual({ any: 5, all: 2 });
    expect(c.attended).toBeNull();
    expect(n.attended).toBeNull();
    expect([e.withdrawn, c.withdrawn, n.withdrawn]).toEqual([1, 0, 1]);
    expect(e.timepoints.pre).toMatchObject({ assigned: 3, completedAll: 6, completedAny: 7 });
    expect(c.timepoints.pre).toMatchObject({ assigned: 3, completedAll: 4, completedAny: 5 });
    expect(n.timepoints.pre).toMatchObject({ assigned: 2, completedAll: 7, completedAny: 8 });
    expect(e.timepoints.post).toMatchObject({ completedAll: 4, completedAny: 5 });
    expect(c.timepoints.post).toMatchObject({ completedAll: 4, completedAny: 4 });
    expect(n.timepoints.post).toMatchObject({
      assigned: 0,
      completedAll: null,
      completedAny: null,
    });
    const analysed = (a: typeof e) =>
      Object.fromEntries(a.analysed.map((x) => [x.instrument, [x.baseline, x.change]]));
    // E03's social-skills pre is too incomplete for a total; E06 and C05 have no post-test.
    expect(analysed(e)).toEqual({
      "qol-proxy": [7, 5],
      "social-skills": [6, 5],
      "social-skills-child": [7, 4],
    });
    expect(analysed(c)).toEqual({
      "qol-proxy": [5, 4],
      "social-skills": [5, 4],
      "social-skills-child": [4, 4],
    });
    expect(analysed(n)).toEqual({
      "qol-proxy": [8, null],
      "social-skills": [7, null],
      "social-skills-child": [0, null],
    });
  });

  it("agrees with circle progress and with the n of the effect and baseline reports", async () => {
    expectConsistentWithProgress(flow, await buildProgress(tb.db, flows), flows);
    await expectConsistentWithReports(flow, flows);
  });

  it("prints the same JSON through the CLI, and suppresses small counts only in shared views", async () => {
    const env = { FLOWS_DIR: "flows" };
    const json = await runCircle(tmp.url, ["report", "--flow", "--json"], env);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out) as ConsortFlow;
    expect({ ...parsed, generatedAt: "" }).toEqual({ ...flow, generatedAt: "" });
    expect(parsed.declined.consent).toBe(1);

    const text = await runCircle(tmp.url, ["report", "--flow"], env);
    expect(text.code).toBe(0);
    expect(text.out).toContain("declined consent: <5");
    expect(text.out).toContain("Included (n = 20)");
    expect(text.out).not.toMatch(/declined consent: 1\b/);
    const exact = await runCircle(tmp.url, ["report", "--flow", "--small-cell", "1"], env);
    expect(exact.out).toContain("declined consent: 1");
    expect(exact.out).toContain("attended all 6 sessions: 2");

    const file = join(tmp.dir, "flow.html");
    const html = await runCircle(tmp.url, ["report", "--flow", "--html", file], env);
    expect(html).toMatchObject({ code: 0, out: `wrote ${file} (participant flow diagram)\n` });
    const page = readFileSync(file, "utf8");
    expect(page).toContain("<svg");
    expect(page).toContain("declined consent: &lt;5");

    const usage = await runCircle(tmp.url, ["report", "--flow", "--instrument", "qol-proxy"], env);
    expect(usage.code).toBe(2);
    const both = await runCircle(tmp.url, ["report", "--flow", "--baseline"], env);
    expect(both).toMatchObject({
      code: 2,
      err: "circle: choose one of --baseline, --flow, --codes\n",
    });
    const none = await runCircle(tmp.url, ["report"], env);
    expect(none.code).toBe(2);
  });

  it("draws the diagram (SVG and PNG) with suppressed counts", async () => {
    const view = { locale: "en", smallCell: 5 };
    const svg = consortSvg(flow, flows, view);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
    for (const label of ["Registered (n = 25)", "Included (n = 20)", "Allocated: Group sessions"])
      expect(svg).toContain(label);
    expect(svg).toContain("declined assent: &lt;5");
    expect(svg).not.toContain("NaN");
    const png = await consortPng(flow, flows, view);
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png.readUInt32BE(16)).toBeGreaterThan(1000);
    // Chinese labels come from the flows and the diagram's own words.
    expect(consortText(flow, flows, { locale: "zh", smallCell: 5 })).toContain("小组活动组");
  });

  it("answers /report flow in Telegram with the suppressed text, the diagram and an HTML file", async () => {
    await researcher.send("/report flow");
    const msgs = researcher.messages();
    const text = msgs
      .filter((m) => m.kind === "text")
      .map((m) => m.text)
      .join("\n");
    expect(text).toContain("Included (n = 20)");
    expect(text).toContain("declined consent: <5");
    expect(msgs.filter((m) => m.kind === "photo")).toHaveLength(1);
    const doc = tb.tg.callsOf("sendDocument").at(-1)!;
    expect((doc.payload.document as { filename?: string }).filename).toMatch(
      /^flow-\d{4}-\d{2}-\d{2}\.html$/,
    );
    expect(tb.tg.rejections).toEqual([]);
  });
});

describe("participant flow (withdrawal policy delete)", () => {
  afterAll(cleanup);
  it("drops the withdrawn children's answers from every count and still agrees with progress and the reports", async () => {
    copy = copyFlows();
    copy.edit("study.yaml", (d) => (d.withdrawal.data = "delete"));
    const r = copy.load();
    if (!r.ok) throw new Error(r.errors.join("\n"));
    const flows = r.flows;
    await buildStudy(flows);
    const flow = await buildConsort(tb.db, flows);
    expect(flow.withdrawalPolicy).toBe("delete");
    expect([flow.arms.experimental.withdrawn, flow.arms.none.withdrawn]).toEqual([1, 1]);
    // E03's and N02's answers are gone; attendance is kept (it is the group's record).
    expect(flow.arms.experimental.attended).toEqual({ any: 5, all: 2 });
    expect(flow.arms.experimental.timepoints.pre).toMatchObject({ completedAny: 6 });
    expect(flow.arms.none.timepoints.pre).toMatchObject({ completedAll: 6, completedAny: 7 });
    const base = (arm: "experimental" | "none", id: string) =>
      flow.arms[arm].analysed.find((a) => a.instrument === id)!.baseline;
    expect(base("experimental", "qol-proxy")).toBe(6);
    expect(base("experimental", "social-skills-child")).toBe(6);
    expect(base("none", "qol-proxy")).toBe(7);
    expectConsistentWithProgress(flow, await buildProgress(tb.db, flows), flows);
    await expectConsistentWithReports(flow, flows);
  });
});

// The baseline needs assessment: the committed R reference (no R needed here; the live R run is
// baseline-r.test.ts), the rules the reference does not reach (degenerate samples, the cut-off
// slack, ranking ties, subscales on different ranges), the cut-off field of the instrument
// files, and the command line, Telegram and HTML views with their small-cell suppression.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildBaseline,
  comparableBasis,
  computeBaselineInstrument,
  descriptives,
  pearsonWithCi,
  type BaselineReport,
  type BaselineRow,
} from "../../src/analysis/baseline.js";
import { baselineText, displayOrder } from "../../src/analysis/baseline-view.js";
import { allProfileWords } from "../../src/analysis/charts/baseline-profile.js";
import { missingGlyphs } from "../../src/analysis/charts/fonts.js";
import { allFlowWords } from "../../src/analysis/consort-view.js";
import { buildReport } from "../../src/analysis/report.js";
import { researcherFeature } from "../../src/telegram/features/researcher.js";
import { codebookJson } from "../../src/study/codebook.js";
import type { Instrument, LoadedFlows } from "../../src/study/model.js";
import { createInvite } from "../../src/usecases/invites.js";
import { makeTestBot, shippedFlows, type TestBot } from "../support/bot.js";
import { runCircle } from "../support/cli.js";
import { tempDatabase, type TempDb } from "../support/db.js";
import { copyFlows, errorsOf, type FlowsCopy } from "../study/support.js";
import {
  differences,
  fixturePath,
  flowsWithCutoffs,
  importSeededStudy,
  withoutTimestamp,
} from "./baseline-support.js";

const social = () => shippedFlows().instruments.get("social-skills")!;
const subIds = () => social().subscales.map((s) => s.id);

/** A child whose every social-skills subscale (and total) has the given scores. */
function row(
  scores: (number | null)[],
  opts: { gender?: string; age?: number; arm?: string | null } = {},
): BaselineRow {
  const ids = subIds();
  const subscales = Object.fromEntries(ids.map((id, i) => [id, scores[i] ?? null]));
  const present = scores.filter((x): x is number => x !== null);
  return {
    arm: opts.arm ?? null,
    gender: opts.gender ?? "female",
    ageYears: opts.age ?? 8,
    scores: {
      subscales,
      total: present.length ? present.reduce((a, b) => a + b, 0) / present.length : null,
    },
  };
}

describe("baseline report: the committed R reference", () => {
  let tmp: TempDb;
  let copy: FlowsCopy;
  let flows: LoadedFlows;
  beforeAll(async () => {
    ({ copy, flows } = flowsWithCutoffs());
    tmp = await tempDatabase();
    await importSeededStudy(tmp.db, flows);
  });
  afterAll(async () => {
    await tmp.cleanup();
    copy.cleanup();
  });

  it("reproduces test/fixtures/report/baseline/expected.json to 1e-9 (every number, null and key)", async () => {
    const expected: unknown = JSON.parse(
      readFileSync(fixturePath("baseline/expected.json"), "utf8"),
    );
    const { report } = await buildBaseline(tmp.db, flows);
    expect(differences(withoutTimestamp(report), expected, 1e-9)).toEqual([]);
    expect(report.instruments.map((i) => i.instrument)).toEqual([
      "qol-proxy",
      "social-skills",
      "social-skills-child",
    ]);
    expect(Date.parse(report.generatedAt)).not.toBeNaN();
  });

  it("agrees with the effect report's own baseline comparison of boys and girls", async () => {
    const { report: baseline } = await buildBaseline(tmp.db, flows);
    for (const id of ["qol-proxy", "social-skills"]) {
      const { report } = await buildReport(tmp.db, flows, id);
      const b = baseline.instruments.find((i) => i.instrument === id)!;
      for (const s of report.scores) {
        const g = b.scores.find((x) => x.id === s.id)!.gender;
        expect(g.male).toEqual(s.baselineByGender.male);
        expect(g.female).toEqual(s.baselineByGender.female);
        expect([g.welchT.t, g.welchT.df, g.welchT.p]).toEqual([
          s.baselineByGender.welchT.t,
          s.baselineByGender.welchT.df,
          s.baselineByGender.welchT.p,
        ]);
      }
    }
  });

  it("gives one instrument with --instrument, the same numbers, through the CLI", async () => {
    const env = { FLOWS_DIR: copy.dir };
    const r = await runCircle(
      tmp.url,
      ["report", "--baseline", "--instrument", "social-skills", "--json"],
      env,
    );
    expect(r.code).toBe(0);
    const one = JSON.parse(r.out) as BaselineReport;
    const { report } = await buildBaseline(tmp.db, flows);
    expect(one.instruments).toEqual([report.instruments[1]]);
    const bad = await runCircle(tmp.url, ["report", "--baseline", "--instrument", "nope"], env);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^circle: unknown instrument "nope"/);
  });

  it("suppresses small cells in the text and HTML views but never in JSON", async () => {
    const env = { FLOWS_DIR: copy.dir };
    const text = await runCircle(tmp.url, ["report", "--baseline"], env);
    expect(text.code).toBe(0);
    expect(text.out).toContain("Baseline needs assessment: Before the group (pre)");
    expect(text.out).toMatch(/1 {5}Joining a new group {8}62 {2}2\.92 ± 0\.98/);
    expect(text.out).toContain("≤ 3: 37 (60%)");
    // With a small-cell size above every n, no mean, test or count of 1..n−1 is left.
    const hidden = await runCircle(tmp.url, ["report", "--baseline", "--small-cell", "63"], env);
    expect(hidden.out).not.toMatch(/\d\.\d\d ±/);
    expect(hidden.out).not.toMatch(/t\(\d/);
    expect(hidden.out).not.toMatch(/\br = -?\d/);
    expect(hidden.out).toContain("<63 children");
    const json = await runCircle(
      tmp.url,
      ["report", "--baseline", "--json", "--small-cell", "63"],
      env,
    );
    expect((JSON.parse(json.out) as BaselineReport).instruments[1]!.scores[0]!.mean).toBeCloseTo(
      2.97,
      2,
    );
    const file = join(tmp.dir, "baseline.html");
    const html = await runCircle(tmp.url, ["report", "--baseline", "--html", file], env);
    expect(html.out).toBe(`wrote ${file} (3 chart(s))\n`);
    const page = readFileSync(file, "utf8");
    expect(page.match(/<img alt=/g)).toHaveLength(3);
    expect(page).toContain('<section id="baseline">');
    expect(page).not.toContain("NaN");
  });

  it("adds the participant flow and the instrument's baseline profile to the effect report's HTML", async () => {
    const file = join(tmp.dir, "effect.html");
    const r = await runCircle(tmp.url, ["report", "--instrument", "qol-proxy", "--html", file], {
      FLOWS_DIR: copy.dir,
    });
    expect(r.code).toBe(0);
    const page = readFileSync(file, "utf8");
    expect(page).toContain('<section id="participant-flow">');
    expect(page).toContain('<section id="baseline">');
    expect(page).toMatch(/<img alt="[^"]*quality of life[^"]*: baseline profile"/);
    // Only the report's own outcome in the flow's "analysed" boxes.
    expect(page).toMatch(/qol-proxy: \d+<\/text>/);
    expect(page).not.toMatch(/social-skills: \d+<\/text>/);
    // The effect report's own contract is unchanged.
    const json = await runCircle(tmp.url, ["report", "--instrument", "qol-proxy", "--json"], {
      FLOWS_DIR: copy.dir,
    });
    expect(Object.keys(JSON.parse(json.out) as object)).toEqual([
      "instrument",
      "generatedAt",
      "scores",
    ]);
  });
});

describe("baseline report: rules", () => {
  it("descriptives: n = 0 and n = 1 give nulls, a constant sample a zero-width interval", () => {
    expect(descriptives([])).toEqual({
      n: 0,
      mean: null,
      sd: null,
      ci95: null,
      median: null,
      q1: null,
      q3: null,
    });
    expect(descriptives([3])).toEqual({
      n: 1,
      mean: 3,
      sd: null,
      ci95: null,
      median: 3,
      q1: 3,
      q3: 3,
    });
    expect(descriptives([2, 2, 2]).ci95).toEqual([2, 2]);
    // R: quantile(c(1, 2, 4, 8), type = 7) → 1.75, 3, 5
    expect(descriptives([8, 1, 4, 2])).toMatchObject({ median: 3, q1: 1.75, q3: 5 });
  });

  it("Fisher-z interval: null below n = 4, a point at |r| = 1, null r for a constant variable", () => {
    expect(pearsonWithCi([1, 2, 3], [2, 4, 5]).ci95).toBeNull();
    expect(pearsonWithCi([1, 2, 3, 4], [2, 4, 6, 8])).toMatchObject({ r: 1, ci95: [1, 1] });
    expect(pearsonWithCi([5, 5, 5, 5], [1, 2, 3, 4])).toMatchObject({
      r: null,
      p: null,
      ci95: null,
    });
    // R 4.2: cor.test(c(1,2,3,4,5), c(2,1,4,3,5))$conf.int → -0.2796400420, 0.9861961933
    const ci = pearsonWithCi([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).ci95!;
    expect(ci[0]).toBeCloseTo(-0.279640042, 9);
    expect(ci[1]).toBeCloseTo(0.9861961933, 9);
  });

  it("counts a score that is the cut-off on paper but not in binary as at the cut-off", () => {
    const ins: Instrument = {
      ...social(),
      subscales: social().subscales.map((s, i) => (i === 0 ? { ...s, cutoff: 3.4 } : s)),
    };
    const b = computeBaselineInstrument(ins, [
      row([3.4000000000000004, 3, 3, 3, 3, 3]),
      row([3.41, 3, 3, 3, 3, 3]),
      row([1, 3, 3, 3, 3, 3]),
    ]);
    expect(b.scores[0]!.atOrBelowCutoff).toEqual({ n: 2, percent: 200 / 3 });
    expect(b.scores[1]!.cutoff).toBeNull();
    expect(b.scores[1]!.atOrBelowCutoff).toBeNull();
  });

  it("ranks from the lowest mean, ties in definition order, subscales without a mean left out", () => {
    const b = computeBaselineInstrument(social(), [
      row([3, 2, 3, 1, 5, null]),
      row([3, 2, 3, 1, 5, null]),
    ]);
    expect(b.ranking).toEqual([
      "social_learning",
      "peer_acceptance",
      "active_expression",
      "group_integration",
      "behaviour_patterns",
    ]);
    expect(b.scores.map((s) => s.rank)).toEqual([3, 2, 4, 1, 5, null, null]);
    // Nobody has every subscale: the profile comparison has no cases.
    expect(b.scores[0]!.relative).toMatchObject({ n: 0, t: null, p: null, pHolm: null });
  });

  it("tests each subscale against the child's other subscales (complete cases, Holm)", () => {
    const rows = [
      row([2, 3, 3, 3, 3, 3]),
      row([1, 4, 4, 3, 4, 4]),
      row([2, 3, 4, 4, 3, 3]),
      row([3, 4, 4, 4, 4, 5]),
      row([1, 2, 3, 2, 3, 3]),
      row([2, 3, 3, null, 3, 3]),
    ];
    const b = computeBaselineInstrument(social(), rows);
    const first = b.scores[0]!.relative!;
    // Child by child: 2 − 3, 1 − 3.8, 2 − 3.4, 3 − 4.2, 1 − 2.6 (the sixth lacks a subscale).
    const d = [-1, -2.8, -1.4, -1.2, -1.6];
    const m = d.reduce((a, x) => a + x, 0) / 5;
    expect(first.n).toBe(5);
    expect(first.meanDiff).toBeCloseTo(m, 12);
    expect(first.df).toBe(4);
    const ps = b.scores.slice(0, 6).map((s) => s.relative!.p!);
    const sorted = [...ps].sort((a, c) => a - c);
    expect(b.scores[0]!.relative!.pHolm).toBeCloseTo(Math.min(1, 6 * sorted[0]!), 12);
    expect(b.scores.at(-1)!.relative).toBeNull();
    expect(b.scores.at(-1)!.rank).toBeNull();
  });

  it("compares boys and girls with Welch and Hedges' g, and keeps shapes with one gender only", () => {
    const rows = [
      row([1, 1, 1, 1, 1, 1], { gender: "male", age: 6 }),
      row([2, 2, 2, 2, 2, 2], { gender: "male", age: 7 }),
      row([3, 3, 3, 3, 3, 3], { gender: "female", age: 9 }),
      row([5, 5, 5, 5, 5, 5], { gender: "female", age: 12 }),
    ];
    const g = computeBaselineInstrument(social(), rows).scores[0]!.gender;
    // Boys 1, 2 (mean 1.5, var 0.5); girls 3, 5 (mean 4, var 2): se = √(0.25 + 1) and
    // df = 1.25² / (0.25²/1 + 1²/1); pooled sd = √1.25, J = 1 − 3/(4·4 − 9).
    expect(g.welchT.diff).toBe(-2.5);
    expect(g.welchT.t).toBeCloseTo(-2.5 / Math.sqrt(1.25), 12);
    expect(g.welchT.df).toBeCloseTo(1.5625 / (0.0625 + 1), 12);
    expect(g.hedgesG).toBeCloseTo((1 - 3 / 7) * (-2.5 / Math.sqrt(1.25)), 12);
    const girls = computeBaselineInstrument(social(), rows.slice(2)).scores[0]!.gender;
    expect(girls.male).toEqual({ n: 0, mean: null, sd: null });
    expect(girls.welchT).toEqual({
      t: null,
      df: null,
      p: null,
      pHolm: null,
      diff: null,
      ci95: null,
    });
    expect(girls.hedgesG).toBeNull();
  });

  it("ranks subscales on different answer ranges as percent of their range", () => {
    const base = social();
    const first = base.subscales[0]!.id;
    // The first subscale's items answer 0–10 instead of 1–5.
    const ins: Instrument = {
      ...base,
      items: base.items.map((it) => (it.subscale === first ? { ...it, min: 0, max: 10 } : it)),
    };
    const basis = comparableBasis(ins);
    expect(basis.kind).toBe("percent-of-range");
    expect(basis.map(first, 5)).toBe(50);
    expect(basis.map(base.subscales[1]!.id, 2)).toBe(25);
    const b = computeBaselineInstrument(ins, [row([5, 2, 3, 4, 4, 4]), row([5, 2, 3, 4, 4, 4])]);
    expect(b.scale).toEqual({ basis: "percent-of-range", min: 0, max: 100 });
    expect(b.ranking.slice(0, 2)).toEqual([base.subscales[1]!.id, first]);
    expect(comparableBasis(shippedFlows().instruments.get("qol-proxy")!)).toMatchObject({
      kind: "score",
      min: 0,
      max: 100,
    });
  });

  it("shared views put a suppressed subscale last and print no ranks that would give it away", () => {
    // Six children; the first subscale (lowest) is answered by only two of them.
    const rows = Array.from({ length: 6 }, (_, i) => row([i < 2 ? 1 : null, 3, 2, 4, 5, 4.5]));
    const b = computeBaselineInstrument(social(), rows);
    expect(b.ranking[0]).toBe("active_expression");
    const shared = displayOrder(b, 5);
    expect(shared.showRanks).toBe(false);
    expect(shared.ordered.map((s) => s.id)).toEqual([
      "group_integration",
      "peer_acceptance",
      "social_learning",
      "interpersonal_cognition",
      "behaviour_patterns",
      "active_expression",
    ]);
    const text = baselineText(
      { timepoint: "pre", generatedAt: "2026-01-01T00:00:00.000Z", instruments: [b] },
      { instruments: [social()], timepoint: "pre" },
      shippedFlows(),
      { locale: "en", smallCell: 5 },
    );
    expect(text).toMatch(/\n {8}Joining a new group/);
    expect(text).toMatch(/Active expression +<5 +suppressed/);
    expect(displayOrder(b, 2).showRanks).toBe(true);
  });

  it("draws every fixed word of the profile chart and the flow diagram with the chart fonts", () => {
    expect(missingGlyphs([...allProfileWords(), ...allFlowWords(), "≤ ≥ − ±"].join(""))).toEqual(
      [],
    );
  });

  it("a view of an empty instrument says so instead of printing empty tables", () => {
    const b = computeBaselineInstrument(social(), []);
    const text = baselineText(
      { timepoint: "pre", generatedAt: "2026-01-01T00:00:00.000Z", instruments: [b] },
      { instruments: [social()], timepoint: "pre" },
      shippedFlows(),
      { locale: "en", smallCell: 5 },
    );
    expect(text).toContain("0 children");
    expect(text).toContain("no answers at baseline yet");
  });
});

describe("instrument cut-offs in the flow files", () => {
  let copy: FlowsCopy;
  beforeAll(() => {
    copy = copyFlows();
  });
  afterAll(() => copy.cleanup());

  it("are optional, leave the content hash and the codebook contract alone", () => {
    const before = copy.load();
    if (!before.ok) throw new Error(before.errors.join("\n"));
    copy.edit("instruments/qol-proxy.yaml", (d) => {
      d.cutoff = 60;
      d.subscales[0].cutoff = 62.5;
    });
    const after = copy.load();
    if (!after.ok) throw new Error(after.errors.join("\n"));
    const a = after.flows.instruments.get("qol-proxy")!;
    expect(a.cutoff).toBe(60);
    expect(a.subscales[0]!.cutoff).toBe(62.5);
    expect(a.subscales[1]!.cutoff).toBeUndefined();
    expect(a.hash).toBe(before.flows.instruments.get("qol-proxy")!.hash);
    expect(codebookJson(after.flows)).toEqual(codebookJson(before.flows));
  });

  it("must lie on the score's scale and be a number", () => {
    copy.edit("instruments/social-skills.yaml", (d) => {
      d.cutoff = 7;
      d.subscales[1].cutoff = "low";
    });
    const errors = errorsOf(copy.load());
    expect(errors.some((e) => /social-skills\.yaml: subscales\[1\]\.cutoff: /.test(e))).toBe(true);
    copy.edit("instruments/social-skills.yaml", (d) => {
      d.subscales[1].cutoff = 3;
    });
    expect(errorsOf(copy.load())).toEqual([
      expect.stringMatching(
        /social-skills\.yaml: cutoff: cut-off 7 is outside the score range 1–5$/,
      ),
    ]);
  });
});

describe("/report baseline in Telegram", () => {
  let tmp: TempDb;
  let tb: TestBot;
  let copy: FlowsCopy;
  beforeAll(async () => {
    let flows: LoadedFlows;
    ({ copy, flows } = flowsWithCutoffs());
    tmp = await tempDatabase();
    await importSeededStudy(tmp.db, flows);
    tb = makeTestBot(tmp.db, tmp.url, { flows, features: [researcherFeature] });
  });
  afterAll(async () => {
    await tb.db.$disconnect();
    await tmp.cleanup();
    copy.cleanup();
  });

  it("sends a summary of the lowest subscales, one profile chart per instrument and the HTML file", async () => {
    const { code } = await createInvite(
      tb.db,
      { role: "researcher", ttlHours: 1 },
      { kind: "cli" },
    );
    const r = tb.user(700);
    await r.send(`/start ${code}`);
    const before = r.messages().length;
    await r.send("/report baseline");
    const msgs = r.messages().slice(before);
    const text = msgs.find((m) => m.kind === "text")!;
    expect(text.html).toContain("<b>Baseline needs assessment</b>");
    expect(text.text).toMatch(/1\. Joining a new group: 2\.92 \[2\.67, 3\.16\]; ≤ 3: 60%/);
    expect(msgs.filter((m) => m.kind === "photo")).toHaveLength(3);
    const doc = tb.tg.callsOf("sendDocument").at(-1)!;
    expect((doc.payload.document as { filename?: string }).filename).toMatch(/^baseline-.*\.html$/);

    await r.send("/report baseline social-skills");
    expect(tb.tg.callsOf("sendPhoto").at(-1)!.payload.caption).toContain("social skills");
    await r.send("/report baseline nope");
    expect(r.last().text).toMatch(/unknown instrument "nope"/);
    await r.send("/report");
    expect(r.last().text).toContain("/report baseline [instrument-id]");

    // The effect report's HTML document carries the flow and the baseline profile.
    await r.send("/report social-skills");
    const doc2 = tb.tg.callsOf("sendDocument").at(-1)!.payload.document as unknown as {
      filename: string;
      fileData: Uint8Array;
    };
    expect(doc2.filename).toBe("report-social-skills.html");
    const page = Buffer.from(doc2.fileData).toString("utf8");
    expect(page).toContain('<section id="participant-flow">');
    expect(page).toContain('<section id="baseline">');
    expect(tb.tg.rejections).toEqual([]);
  });
});

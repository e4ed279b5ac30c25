// The effect report's mixed-model block end to end: a study with a follow-up and two experimental
// groups goes through the real import into a fresh database; buildReport must give, for every
// subscale and the total, what R gives when it scores the same raw item answers itself and fits
// lmer(y ~ arm * timepoint + (1 | participant) + (0 + exp | group)) with lmerTest (Satterthwaite).
// R runs inside the test (r-base-core, r-cran-lme4, r-cran-lmertest); without Rscript it fails.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importAnswers } from "../../src/usecases/import.js";
import { buildReport, type Report, type ReportContext } from "../../src/analysis/report.js";
import {
  mixedModelObservations,
  mixedModelWanted,
  termMeaning,
  type MixedModelBlock,
} from "../../src/analysis/report-mixed.js";
import { reportHtml, reportText } from "../../src/analysis/report-view.js";
import type { LoadedFlows } from "../../src/study/model.js";
import { addParticipant } from "../../src/usecases/participants.js";
import { shippedFlows } from "../support/bot.js";
import { tempDatabase, type TempDb } from "../support/db.js";

const INSTRUMENT = "social-skills";
const TIMEPOINTS = ["pre", "post", "follow-up"];

/** A small deterministic generator (mulberry32), so R and Circle see the same answers. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
}

interface Child {
  code: string;
  arm: "experimental" | "control" | null;
  group: string | null;
  gender: "male" | "female";
  age: number;
}

const children: Child[] = [
  ...Array.from({ length: 12 }, (_, i): Child => ({
    code: `E${String(i + 1).padStart(2, "0")}`,
    arm: "experimental",
    group: i < 6 ? "ward-a" : "ward-c",
    gender: i % 2 ? "female" : "male",
    age: 6 + (i % 6),
  })),
  ...Array.from({ length: 10 }, (_, i): Child => ({
    code: `C${String(i + 1).padStart(2, "0")}`,
    arm: "control",
    group: "ward-b",
    gender: i % 2 ? "male" : "female",
    age: 6 + (i % 6),
  })),
  ...Array.from({ length: 4 }, (_, i): Child => ({
    code: `B${String(i + 1).padStart(2, "0")}`,
    arm: null,
    group: null,
    gender: i % 2 ? "male" : "female",
    age: 7,
  })),
];

/** Who misses what: lost to follow-up, a missed post-test, a half-answered follow-up. */
const MISSING = new Set(["E04|follow-up", "E11|follow-up", "C03|follow-up", "E07|post"]);
const PARTIAL = "E02|follow-up";

interface AnswerRow {
  code: string;
  arm: string;
  group: string;
  timepoint: string;
  item: string;
  value: number;
}

function answers(flows: LoadedFlows): AnswerRow[] {
  const ins = flows.instruments.get(INSTRUMENT)!;
  const r = rng(20261202);
  const groupShift: Record<string, number> = { "ward-a": 0.35, "ward-c": -0.3 };
  const gain: Record<string, Record<string, number>> = {
    experimental: { pre: 0, post: 0.9, "follow-up": 0.6 },
    control: { pre: 0, post: 0.15, "follow-up": 0.2 },
  };
  const out: AnswerRow[] = [];
  for (const c of children) {
    const level = normal(r) * 0.6;
    const tps = c.arm ? TIMEPOINTS : ["pre"];
    for (const tp of tps) {
      if (MISSING.has(`${c.code}|${tp}`)) continue;
      const shift =
        (c.arm ? gain[c.arm]![tp]! : 0) +
        (c.arm === "experimental" && tp !== "pre" ? groupShift[c.group!]! : 0);
      ins.items.forEach((it, i) => {
        if (it.subscale === null || it.min === null || it.max === null) return;
        // The partly answered follow-up: one item of active expression (too few for its score;
        // the total is still computed from the answered items).
        if (`${c.code}|${tp}` === PARTIAL && it.subscale === "active_expression" && i > 0) return;
        const z = level + shift + normal(r) * 0.7;
        const raw = Math.round(3 + (it.reverse ? -z : z));
        out.push({
          code: c.code,
          arm: c.arm ?? "",
          group: c.group ?? "",
          timepoint: tp,
          item: it.id,
          value: Math.min(it.max, Math.max(it.min, raw)),
        });
      });
    }
  }
  return out;
}

// The reference: R scores the raw answers itself (reverse-keying, mean of the answered items,
// null under minAnsweredFraction) and fits each score. Output: one line per number.
const R_SCRIPT = String.raw`
suppressPackageStartupMessages({ library(lme4); library(lmerTest) })
args <- commandArgs(trailingOnly = TRUE)
a <- read.csv(args[1], stringsAsFactors = FALSE, na.strings = character(0))
meta <- read.csv(args[2], stringsAsFactors = FALSE)
frac <- as.numeric(args[3])
tps <- strsplit(args[4], ",")[[1]]
a <- merge(a, meta, by = "item")
a$keyed <- ifelse(a$reverse == "true", a$min + a$max - a$value, a$value)
a <- a[a$arm != "", ]
score_of <- function(rows, k) {
  n <- nrow(rows)
  if (n == 0 || n < frac * k - 1e-9) NA else mean(rows$keyed)
}
tight <- lmerControl(optimizer = "nloptwrap",
  optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5))
num <- function(x) sprintf("%.17g", x)
ids <- c(unique(meta$subscale), "total")
for (id in ids) {
  items <- if (id == "total") meta$item else meta$item[meta$subscale == id]
  keys <- unique(a[, c("participant", "arm", "group", "timepoint")])
  keys$y <- mapply(function(p, tp) {
    score_of(a[a$participant == p & a$timepoint == tp & a$item %in% items, ], length(items))
  }, keys$participant, keys$timepoint)
  d <- keys[!is.na(keys$y), ]
  d$arm <- factor(d$arm, levels = c("control", "experimental"))
  d$timepoint <- factor(d$timepoint, levels = tps)
  d$exp <- as.numeric(d$arm == "experimental")
  d$grp <- ifelse(d$arm == "experimental", d$group, "(control)")
  fit <- suppressMessages(suppressWarnings(lmer(
    y ~ arm * timepoint + (1 | participant) + (0 + exp | grp),
    data = d, REML = TRUE, control = tight)))
  co <- summary(fit)$coefficients
  for (term in rownames(co)) {
    est <- co[term, "Estimate"]; se <- co[term, "Std. Error"]; df <- co[term, "df"]
    h <- qt(0.975, df) * se
    cat("fixed", id, term, num(est), num(se), num(df), num(co[term, "t value"]),
        num(co[term, "Pr(>|t|)"]), num(est - h), num(est + h), "\n", sep = "\t")
  }
  vc <- as.data.frame(VarCorr(fit))
  cat("model", id, num(vc$vcov[vc$grp == "participant"]), num(vc$vcov[vc$grp == "grp"]),
      num(sigma(fit)^2), num(as.numeric(logLik(fit))), nrow(d),
      length(unique(d$participant)), as.integer(isSingular(fit)), "\n", sep = "\t")
}
`;

interface RFixed {
  term: string;
  values: number[];
}
interface RModel {
  fixed: RFixed[];
  participant: number;
  group: number;
  residual: number;
  logLik: number;
  n: number;
  participants: number;
  singular: boolean;
}

function rReference(dir: string, flows: LoadedFlows, rows: AnswerRow[]): Map<string, RModel> {
  const ins = flows.instruments.get(INSTRUMENT)!;
  const answersCsv = join(dir, "items.csv");
  const metaCsv = join(dir, "meta.csv");
  const script = join(dir, "reference.R");
  writeFileSync(
    answersCsv,
    [
      "participant,arm,group,timepoint,item,value",
      ...rows.map((r) => [r.code, r.arm, r.group, r.timepoint, r.item, r.value].join(",")),
    ].join("\n") + "\n",
  );
  writeFileSync(
    metaCsv,
    [
      "item,subscale,reverse,min,max",
      ...ins.items
        .filter((it) => it.subscale !== null)
        .map((it) => [it.id, it.subscale, it.reverse, it.min, it.max].join(",")),
    ].join("\n") + "\n",
  );
  writeFileSync(script, R_SCRIPT);
  let out: string;
  try {
    out = execFileSync(
      "Rscript",
      [script, answersCsv, metaCsv, String(ins.minAnsweredFraction), TIMEPOINTS.join(",")],
      { encoding: "utf8", timeout: 120_000 },
    );
  } catch (e) {
    throw new Error(
      `this test needs R with lme4 and lmerTest (apt-get install r-base-core r-cran-lme4 r-cran-lmertest): ${(e as Error).message}`,
    );
  }
  const models = new Map<string, RModel>();
  const model = (id: string) => {
    let m = models.get(id);
    if (!m) {
      m = {
        fixed: [],
        participant: NaN,
        group: NaN,
        residual: NaN,
        logLik: NaN,
        n: 0,
        participants: 0,
        singular: false,
      };
      models.set(id, m);
    }
    return m;
  };
  for (const line of out.split("\n")) {
    const f = line.split("\t").filter((x) => x !== "");
    if (f[0] === "fixed")
      model(f[1]!).fixed.push({ term: f[2]!, values: f.slice(3, 10).map(Number) });
    else if (f[0] === "model") {
      const m = model(f[1]!);
      [m.participant, m.group, m.residual, m.logLik] = f.slice(2, 6).map(Number) as [
        number,
        number,
        number,
        number,
      ];
      m.n = Number(f[6]);
      m.participants = Number(f[7]);
      m.singular = f[8] === "1";
    }
  }
  return models;
}

let tmp: TempDb;
let flows: LoadedFlows;
let rows: AnswerRow[];
let built: { report: Report; context: ReportContext };

beforeAll(async () => {
  flows = shippedFlows();
  tmp = await tempDatabase();
  for (const c of children)
    await addParticipant(
      tmp.db,
      {
        code: c.code,
        arm: c.arm ?? "none",
        gender: c.gender,
        ageYears: c.age,
        group: c.group ?? undefined,
      },
      { kind: "cli" },
    );
  rows = answers(flows);
  const csv = [
    "participant,arm,gender,age,timepoint,instrument,item,value",
    ...rows.map((r) => {
      const c = children.find((x) => x.code === r.code)!;
      return [r.code, r.arm, c.gender, c.age, r.timepoint, INSTRUMENT, r.item, r.value].join(",");
    }),
  ].join("\n");
  const imported = await importAnswers(tmp.db, flows, `${csv}\n`, {
    file: "answers.csv",
    actor: { kind: "import" },
  });
  if (!imported.ok) throw new Error(imported.errors.join("\n"));
  built = await buildReport(tmp.db, flows, INSTRUMENT, new Date("2030-01-01T00:00:00Z"));
}, 60_000);

afterAll(async () => {
  await tmp.cleanup();
});

/** |a − b| within rel·|b| (or abs near 0). */
function close(a: number | null | undefined, b: number, rel: number, abs = 1e-9): boolean {
  return typeof a === "number" && Math.abs(a - b) <= Math.max(rel * Math.abs(b), abs);
}

describe("the mixed-model block against lme4 + lmerTest", () => {
  it("is there for every score, with the group term over the two experimental groups", () => {
    const ids = built.report.scores.map((s) => s.id);
    expect(ids).toEqual([
      ...flows.instruments.get(INSTRUMENT)!.subscales.map((s) => s.id),
      "total",
    ]);
    for (const s of built.report.scores) {
      const m = s.mixedModel!;
      expect(m.formula).toBe("score ~ arm * timepoint + (1 | participant) + (0 + exp | group)");
      expect(m.timepoints).toEqual(TIMEPOINTS);
      expect(m.groupEffect).toBe(true);
      expect(m.groups).toBe(2);
      expect(m.participantsByArm).toEqual({ experimental: 12, control: 10 });
      expect(m.ungroupedExcluded).toBe(0);
      expect(m.reason).toBeNull();
      expect(m.converged).toBe(true);
      expect(m.descriptives.map((d) => d.timepoint)).toEqual(TIMEPOINTS);
    }
    // Baseline-only children are not in the model; the existing pre/post blocks are untouched.
    const total = built.report.scores.at(-1)!;
    expect(total.mixedModel!.descriptives[0]!.experimental.n).toBe(12);
    expect(total.mixedModel!.descriptives[2]!.experimental.n).toBe(10);
    // E02's follow-up has one active-expression item: no score there, but a total.
    const ae = built.report.scores.find((s) => s.id === "active_expression")!;
    expect(ae.mixedModel!.descriptives[2]!.experimental.n).toBe(9);
    expect(total.mixedModel!.descriptives[2]!.control.n).toBe(9);
    expect(total.arms.experimental.pre.n).toBe(12);
  });

  it("matches R for every subscale and the total: coefficients, SE, df, t, p, CI, variances, ICC", () => {
    const dir = tmp.dir;
    const ref = rReference(dir, flows, rows);
    const worst = { estimate: 0, se: 0, df: 0, p: 0, variance: 0 };
    const relDev = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
    const problems: string[] = [];
    for (const s of built.report.scores) {
      const m = s.mixedModel!;
      const r = ref.get(s.id);
      if (!r) {
        problems.push(`${s.id}: no R fit`);
        continue;
      }
      expect(m.n, s.id).toBe(r.n);
      expect(m.participants, s.id).toBe(r.participants);
      expect(
        m.fixed!.map((x) => x.term),
        s.id,
      ).toEqual(r.fixed.map((x) => x.term));
      m.fixed!.forEach((x, i) => {
        const [est, se, df, t, p, lo, hi] = r.fixed[i]!.values as number[];
        const check = (name: string, a: number | null, b: number, rel: number) => {
          if (!close(a, b!, rel)) problems.push(`${s.id} ${x.term} ${name}: ${a} vs R ${b}`);
        };
        check("estimate", x.estimate, est!, 1e-6);
        check("se", x.se, se!, 1e-5);
        check("df", x.df, df!, 1e-4);
        check("t", x.t, t!, 1e-5);
        check("p", x.p, p!, 1e-4);
        check("ciLow", x.ciLow, lo!, 1e-5);
        check("ciHigh", x.ciHigh, hi!, 1e-5);
        worst.estimate = Math.max(worst.estimate, relDev(x.estimate, est!));
        worst.se = Math.max(worst.se, relDev(x.se!, se!));
        worst.df = Math.max(worst.df, relDev(x.df!, df!));
        worst.p = Math.max(worst.p, relDev(x.p!, p!));
      });
      const v = m.variance!;
      // Variances near 0 (a singular group term) are compared on the scale of the total.
      const scale = r.participant + r.group + r.residual;
      for (const [name, a, b] of [
        ["participant", v.participant, r.participant],
        ["group", v.group, r.group],
        ["residual", v.residual, r.residual],
      ] as const) {
        if (!close(a, b, 1e-5, 1e-6 * scale))
          problems.push(`${s.id} variance ${name}: ${a} vs R ${b}`);
        worst.variance = Math.max(worst.variance, Math.abs(a! - b) / scale);
      }
      if (!close(m.icc!.group, r.group / scale, 1e-5, 1e-6))
        problems.push(`${s.id} icc.group: ${m.icc!.group} vs R ${r.group / scale}`);
      if (!close(m.icc!.participant, r.participant / scale, 1e-5, 1e-6))
        problems.push(
          `${s.id} icc.participant: ${m.icc!.participant} vs R ${r.participant / scale}`,
        );
      if (!close(m.logLikREML, r.logLik, 1e-8))
        problems.push(`${s.id} logLik: ${m.logLikREML} vs R ${r.logLik}`);
      expect(m.singular, s.id).toBe(r.singular);
    }
    console.log(`mixed model vs R, max relative deviation: ${JSON.stringify(worst)}`);
    expect(problems).toEqual([]);
  }, 120_000);
});

describe("when the block is there", () => {
  const withTimepoints = (ids: string[]): LoadedFlows => {
    const f = shippedFlows();
    return {
      ...f,
      study: { ...f.study, timepoints: f.study.timepoints.filter((t) => ids.includes(t.id)) },
    };
  };

  it("only with more than two timepoints or two or more experimental groups", () => {
    expect(mixedModelWanted(withTimepoints(["pre", "post"]), 1)).toBe(false);
    expect(mixedModelWanted(withTimepoints(["pre", "post"]), 0)).toBe(false);
    expect(mixedModelWanted(withTimepoints(["pre", "post"]), 2)).toBe(true);
    expect(mixedModelWanted(withTimepoints(TIMEPOINTS), 1)).toBe(true);
  });

  it("a pre/post study with two experimental groups gets it, with the group term", async () => {
    const prePost = withTimepoints(["pre", "post"]);
    const { report } = await buildReport(tmp.db, prePost, INSTRUMENT);
    const m = report.scores.at(-1)!.mixedModel!;
    expect(m.timepoints).toEqual(["pre", "post"]);
    expect(m.groupEffect).toBe(true);
    expect(m.fixed!.map((x) => x.term)).toEqual([
      "(Intercept)",
      "armexperimental",
      "timepointpost",
      "armexperimental:timepointpost",
    ]);
  });

  it("a pre/post study whose experimental arm is one group has no mixedModel key at all", async () => {
    const t2 = await tempDatabase();
    try {
      for (const c of children)
        await addParticipant(
          t2.db,
          {
            code: c.code,
            arm: c.arm ?? "none",
            gender: c.gender,
            ageYears: c.age,
            group: c.arm === "experimental" ? "ward-a" : (c.group ?? undefined),
          },
          { kind: "cli" },
        );
      const prePost = withTimepoints(["pre", "post"]);
      const csv = [
        "participant,arm,gender,age,timepoint,instrument,item,value",
        ...rows
          .filter((r) => r.timepoint !== "follow-up")
          .map((r) => {
            const c = children.find((x) => x.code === r.code)!;
            return [r.code, r.arm, c.gender, c.age, r.timepoint, INSTRUMENT, r.item, r.value].join(
              ",",
            );
          }),
      ].join("\n");
      const imported = await importAnswers(t2.db, prePost, `${csv}\n`, {
        file: "answers.csv",
        actor: { kind: "import" },
      });
      expect(imported.ok).toBe(true);
      const { report } = await buildReport(t2.db, prePost, INSTRUMENT);
      for (const s of report.scores) expect(Object.keys(s)).not.toContain("mixedModel");
      expect(JSON.stringify(report)).not.toContain("mixedModel");
      // The same data with the follow-up declared (none answered yet): the block, without the
      // group term (one experimental group), over the timepoints that have scores.
      const { report: declared } = await buildReport(t2.db, shippedFlows(), INSTRUMENT);
      const m = declared.scores.at(-1)!.mixedModel!;
      expect(m.groupEffect).toBe(false);
      expect(m.groups).toBeNull();
      expect(m.formula).toBe("score ~ arm * timepoint + (1 | participant)");
      expect(m.timepoints).toEqual(["pre", "post"]);
      expect(m.variance!.group).toBeNull();
    } finally {
      await t2.cleanup();
    }
  });
});

describe("observations", () => {
  const row = (
    code: string,
    arm: string | null,
    group: string | null,
    scores: [string, number | null][],
  ) => ({
    code,
    arm,
    group,
    scores: new Map(scores),
  });

  it("leave out baseline-only participants and missing scores; control rows carry no group", () => {
    const { observations, ungroupedExcluded } = mixedModelObservations(
      [
        row("B1", null, null, [["pre", 3]]),
        row("E1", "experimental", "g1", [
          ["pre", 2],
          ["post", null],
          ["follow-up", 4],
        ]),
        row("C1", "control", "ctl", [["pre", 3]]),
      ],
      TIMEPOINTS,
      true,
    );
    expect(observations).toEqual([
      { participant: "E1", group: "g1", arm: "experimental", timepoint: "pre", y: 2 },
      { participant: "E1", group: "g1", arm: "experimental", timepoint: "follow-up", y: 4 },
      { participant: "C1", group: null, arm: "control", timepoint: "pre", y: 3 },
    ]);
    expect(ungroupedExcluded).toBe(0);
  });

  it("with the group term, an experimental participant without a group is left out and counted", () => {
    const input = [
      row("E1", "experimental", null, [["pre", 2]]),
      row("E2", "experimental", "g1", [["pre", 1]]),
    ];
    expect(mixedModelObservations(input, TIMEPOINTS, true)).toEqual({
      observations: [
        { participant: "E2", group: "g1", arm: "experimental", timepoint: "pre", y: 1 },
      ],
      ungroupedExcluded: 1,
    });
    expect(mixedModelObservations(input, TIMEPOINTS, false).observations).toHaveLength(2);
  });

  it("name what each coefficient means", () => {
    expect(termMeaning("(Intercept)", "pre")).toBe("control at pre");
    expect(termMeaning("armexperimental:timepointfollow-up", "pre")).toBe(
      "extra change pre → follow-up in the experimental arm",
    );
    expect(termMeaning("timepointpost", "pre")).toBe("change pre → post in the control arm");
  });
});

describe("text and HTML views", () => {
  it("show the mixed-model table: fixed effects with SE, df, p and CI, variance components and the group ICC", () => {
    const opts = { locale: "en", smallCell: 5 };
    const text = reportText(built.report, built.context, flows, opts);
    const total = built.report.scores.at(-1)!.mixedModel! as MixedModelBlock;
    const inter = total.fixed!.find((x) => x.term === "armexperimental:timepointfollow-up")!;
    expect(text).toContain(
      "Mixed model score ~ arm * timepoint + (1 | participant) + (0 + exp | group) (REML, Satterthwaite df)",
    );
    expect(text).toContain(
      `armexperimental:timepointfollow-up (extra change pre → follow-up in the experimental arm): ${inter.estimate.toFixed(2)} [${inter.ciLow!.toFixed(2)}, ${inter.ciHigh!.toFixed(2)}], SE ${inter.se!.toFixed(2)}, t(${inter.df!.toFixed(1)})`,
    );
    expect(text).toMatch(/ICC participant \d\.\d{3}, group \d\.\d{3}/);
    expect(text).toContain("analysed in one linear mixed model per score (REML, as lme4");
    const html = reportHtml(built.report, built.context, flows, [], opts);
    expect(html).toContain("<h2>Mixed model (arm × timepoint)</h2>");
    expect(html.match(/<table class="mixed-model">/g)).toHaveLength(built.report.scores.length);
    expect(html).toContain("<th>SE</th><th>df</th><th>t</th><th>p</th><th>95% CI</th>");
    expect(html).toContain("<code>armexperimental:timepointfollow-up</code>");
  });

  it("suppress the model when an arm has fewer than smallCell participants in it", () => {
    const opts = { locale: "en", smallCell: 11 };
    const text = reportText(built.report, built.context, flows, opts);
    expect(text).toContain(
      "Mixed model: suppressed (fewer than 11 participants per arm in the model)",
    );
    expect(text).not.toContain("armexperimental:timepointpost (");
    expect(text).not.toMatch(/ICC participant/);
    const html = reportHtml(built.report, built.context, flows, [], opts);
    expect(html).not.toContain('<table class="mixed-model">');
  });
});

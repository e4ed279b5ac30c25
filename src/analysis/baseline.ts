// The baseline needs assessment (JSON contract: README "The baseline report"). The study surveyed
// every child at its first timepoint — baseline-only children (no arm) and group children alike —
// to see which domains need attention. Per instrument answered at baseline, per subscale and the
// total:
// - descriptives: n, mean, sample SD, 95% t-interval of the mean, median and quartiles (R's
//   quantile type 7), and how many children score at or below the cut-off the instrument declares;
// - a ranking from the lowest subscale mean, on a scale where subscales are comparable;
// - the child's own profile: per child, subscale − mean of the child's other subscales, tested
//   against 0 with a one-sample (= paired) t, Holm-adjusted across the subscales;
// - boys − girls: Welch t (Welch–Satterthwaite df, 95% CI), Hedges' g with the effect report's J;
// - age: Pearson r with its t-test p and a Fisher-z 95% CI.
// Which cases enter what:
// - every participant with a response set of the instrument at the first timepoint, whatever the
//   arm or status (withdrawn children's kept answers count; deleted ones are gone); a score is
//   missing under scoring.ts's minimum-answered rule;
// - descriptives, gender and age: children with that score;
// - the profile comparison: children with every subscale scored (complete cases, so each child's
//   "other subscales" are the same ones and the Holm family shares one sample);
// - pHolm covers the subscales only (the total is not in the family; its pHolm is null).
// Pure statistics below `buildBaseline`: no grammY, and Prisma only through the data loader.
import { quantileSorted } from "simple-statistics";
import type { Db } from "../db/client.js";
import type { Instrument, LoadedFlows } from "../study/model.js";
import { answersRecord, loadInstrumentData } from "./dataset.js";
import { ReportError, type Ci, type D } from "./report.js";
import { scoreResponseSet, scoredItems, type ResponseSetScores } from "./scoring.js";
import { describe, hedgesG, holm, pairedT, pearson, tQuantile, welchT } from "./stats/index.js";

/** R's qnorm(0.975): the normal quantile of the Fisher-z interval. */
export const Z_975 = 1.9599639845400536;
/**
 * A score counts as "at or below" a cut-off up to this slack, so that a mean that is the cut-off
 * on paper (3.4) but 3.4000000000000004 in binary is not lost.
 */
export const CUTOFF_SLACK = 1e-9;

export interface Descriptives extends D {
  ci95: Ci;
  median: number | null;
  q1: number | null;
  q3: number | null;
}

export interface CutoffCount {
  /** Children with a score ≤ cut-off. */
  n: number;
  /** 100 · n / (children with the score); null when nobody has the score. */
  percent: number | null;
}

export interface RelativeBlock {
  /** Children with every subscale scored. */
  n: number;
  /** Mean of (subscale − mean of the child's other subscales). */
  meanDiff: number | null;
  sdDiff: number | null;
  t: number | null;
  df: number | null;
  p: number | null;
  pHolm: number | null;
  ci95: Ci;
}

export interface GenderBlock {
  male: D;
  female: D;
  /** Boys − girls. */
  welchT: {
    t: number | null;
    df: number | null;
    p: number | null;
    pHolm: number | null;
    diff: number | null;
    ci95: Ci;
  };
  /** Boys − girls, J = 1 − 3/(4(n1+n2) − 9) as in the effect report. */
  hedgesG: number | null;
}

export interface AgeBlock {
  n: number;
  r: number | null;
  p: number | null;
  pHolm: number | null;
  /** Fisher z: tanh(atanh(r) ± 1.96/√(n − 3)); null for n < 4. */
  ci95: Ci;
}

export interface BaselineScore extends Descriptives {
  /** Subscale id, or "total". */
  id: string;
  cutoff: number | null;
  atOrBelowCutoff: CutoffCount | null;
  /** 1 = lowest subscale mean on the comparable scale; null for the total or without a mean. */
  rank: number | null;
  /** Subscale against the child's other subscales; null for the total and one-subscale instruments. */
  relative: RelativeBlock | null;
  gender: GenderBlock;
  age: AgeBlock;
}

export interface BaselineInstrument {
  instrument: string;
  respondent: string;
  /**
   * The scale on which subscales are ranked and compared: the instrument's own score scale when
   * every subscale shares it (0–100 after the transform, or one item range), otherwise percent of
   * each subscale's range (0–100).
   */
  scale: { basis: "score" | "percent-of-range"; min: number | null; max: number | null };
  /** Children with at least one score at baseline, in all and per arm ("none" = no arm). */
  participants: { total: number; experimental: number; control: number; none: number };
  /** Subscale ids from the lowest mean up (subscales without a mean are left out). */
  ranking: string[];
  scores: BaselineScore[];
}

export interface BaselineReport {
  timepoint: string;
  generatedAt: string;
  instruments: BaselineInstrument[];
}

/** One child's baseline scores for one instrument (input of the pure computation). */
export interface BaselineRow {
  arm: string | null;
  gender: string;
  ageYears: number;
  scores: ResponseSetScores;
}

const nullCi = (lo: number | null, hi: number | null): Ci =>
  lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi) ? null : [lo, hi];

export function descriptives(xs: readonly number[]): Descriptives {
  const d = describe(xs);
  const sorted = [...xs].sort((a, b) => a - b);
  const q = (p: number) => (sorted.length === 0 ? null : quantileSorted(sorted, p));
  let ci95: Ci = null;
  if (d.mean !== null && d.sd !== null && d.n >= 2) {
    const t = tQuantile(0.975, d.n - 1);
    const h = t === null ? null : (t * d.sd) / Math.sqrt(d.n);
    ci95 = h === null ? null : nullCi(d.mean - h, d.mean + h);
  }
  return { n: d.n, mean: d.mean, sd: d.sd, ci95, median: q(0.5), q1: q(0.25), q3: q(0.75) };
}

/** Pearson r with R's cor.test p and its Fisher-z interval. */
export function pearsonWithCi(x: readonly number[], y: readonly number[]): Omit<AgeBlock, "pHolm"> {
  const pr = pearson(x, y);
  let ci95: Ci = null;
  if (pr.r !== null && pr.n > 3) {
    if (Math.abs(pr.r) === 1) ci95 = [pr.r, pr.r];
    else {
      const z = Math.atanh(pr.r);
      const h = Z_975 / Math.sqrt(pr.n - 3);
      ci95 = nullCi(Math.tanh(z - h), Math.tanh(z + h));
    }
  }
  return { n: pr.n, r: pr.r, p: pr.p, ci95 };
}

function scoreOf(s: ResponseSetScores, id: string): number | null {
  return id === "total" ? s.total : (s.subscales[id] ?? null);
}

interface Basis {
  kind: "score" | "percent-of-range";
  min: number | null;
  max: number | null;
  /** Maps a subscale score onto the comparable scale. */
  map: (subscale: string, v: number) => number;
}

/** The scale on which an instrument's subscales can be ranked against each other. */
export function comparableBasis(instrument: Instrument): Basis {
  if (instrument.transform === "0-100")
    return { kind: "score", min: 0, max: 100, map: (_s, v) => v };
  const items = scoredItems(instrument);
  const ranges = new Set(items.map((it) => `${it.min}|${it.max}`));
  if (ranges.size <= 1) {
    const it = items[0];
    return { kind: "score", min: it?.min ?? null, max: it?.max ?? null, map: (_s, v) => v };
  }
  // Items of different ranges: a subscale's score lives between its items' mean min and max.
  const bounds = new Map(
    instrument.subscales.map((s) => {
      const own = items.filter((it) => it.subscale === s.id);
      const lo = own.reduce((a, it) => a + it.min!, 0) / own.length;
      const hi = own.reduce((a, it) => a + it.max!, 0) / own.length;
      return [s.id, [lo, hi] as const];
    }),
  );
  return {
    kind: "percent-of-range",
    min: 0,
    max: 100,
    map: (s, v) => {
      const [lo, hi] = bounds.get(s)!;
      return ((v - lo) / (hi - lo)) * 100;
    },
  };
}

/** The baseline block of one instrument from its children's scores. */
export function computeBaselineInstrument(
  instrument: Instrument,
  rows: readonly BaselineRow[],
): BaselineInstrument {
  const subIds = instrument.subscales.map((s) => s.id);
  const ids = [...subIds, "total"];
  const basis = comparableBasis(instrument);
  const scored = rows.filter(
    (r) => r.scores.total !== null || subIds.some((id) => scoreOf(r.scores, id) !== null),
  );
  const armCount = (arm: string | null) => scored.filter((r) => r.arm === arm).length;

  // The profile comparison: complete cases over the subscales, on the comparable scale.
  const complete = scored
    .filter((r) => subIds.every((id) => scoreOf(r.scores, id) !== null))
    .map((r) => subIds.map((id) => basis.map(id, scoreOf(r.scores, id)!)));
  const k = subIds.length;
  const relative = subIds.map((_id, j): Omit<RelativeBlock, "pHolm"> | null => {
    if (k < 2) return null;
    const own = complete.map((b) => b[j]!);
    const others = complete.map((b) => (b.reduce((a, v) => a + v, 0) - b[j]!) / (k - 1));
    const pt = pairedT(others, own);
    return {
      n: pt.n,
      meanDiff: pt.meanDiff,
      sdDiff: pt.sdDiff,
      t: pt.t,
      df: pt.df,
      p: pt.p,
      ci95: pt.ci95,
    };
  });
  const relHolm = holm(relative.map((r) => r?.p ?? null));

  const blocks = ids.map((id) => {
    const have = scored.filter((r) => scoreOf(r.scores, id) !== null);
    const values = have.map((r) => scoreOf(r.scores, id)!);
    const cutoff =
      (id === "total"
        ? instrument.cutoff
        : instrument.subscales.find((s) => s.id === id)?.cutoff) ?? null;
    const below = cutoff === null ? 0 : values.filter((v) => v <= cutoff + CUTOFF_SLACK).length;
    const male = have.filter((r) => r.gender === "male").map((r) => scoreOf(r.scores, id)!);
    const female = have.filter((r) => r.gender === "female").map((r) => scoreOf(r.scores, id)!);
    const wt = welchT(male, female);
    const age = pearsonWithCi(
      have.map((r) => r.ageYears),
      values,
    );
    return {
      id,
      cutoff,
      ...descriptives(values),
      atOrBelowCutoff:
        cutoff === null
          ? null
          : { n: below, percent: values.length === 0 ? null : (100 * below) / values.length },
      wt,
      g: hedgesG(male, female).g,
      male: describe(male),
      female: describe(female),
      age,
    };
  });
  const genderHolm = holm(blocks.slice(0, -1).map((b) => b.wt.p));
  const ageHolm = holm(blocks.slice(0, -1).map((b) => b.age.p));

  // Ranking: lowest mean on the comparable scale first; ties keep the definition order.
  const ranked = subIds
    .map((id, i) => {
      const m = blocks[i]!.mean;
      return { id, i, m: m === null ? null : basis.map(id, m) };
    })
    .filter((x): x is { id: string; i: number; m: number } => x.m !== null)
    .sort((a, b) => a.m - b.m || a.i - b.i);
  const rankOf = new Map(ranked.map((x, r) => [x.id, r + 1]));

  const scores: BaselineScore[] = blocks.map((b, i) => {
    const isTotal = b.id === "total";
    const rel = isTotal ? null : (relative[i] ?? null);
    return {
      id: b.id,
      cutoff: b.cutoff,
      n: b.n,
      mean: b.mean,
      sd: b.sd,
      ci95: b.ci95,
      median: b.median,
      q1: b.q1,
      q3: b.q3,
      atOrBelowCutoff: b.atOrBelowCutoff,
      rank: isTotal ? null : (rankOf.get(b.id) ?? null),
      relative: rel
        ? {
            n: rel.n,
            meanDiff: rel.meanDiff,
            sdDiff: rel.sdDiff,
            t: rel.t,
            df: rel.df,
            p: rel.p,
            pHolm: relHolm[i] ?? null,
            ci95: rel.ci95,
          }
        : null,
      gender: {
        male: { n: b.male.n, mean: b.male.mean, sd: b.male.sd },
        female: { n: b.female.n, mean: b.female.mean, sd: b.female.sd },
        welchT: {
          t: b.wt.t,
          df: b.wt.df,
          p: b.wt.p,
          pHolm: isTotal ? null : (genderHolm[i] ?? null),
          diff: b.wt.diff,
          ci95: b.wt.ci95,
        },
        hedgesG: b.g,
      },
      age: {
        n: b.age.n,
        r: b.age.r,
        p: b.age.p,
        pHolm: isTotal ? null : (ageHolm[i] ?? null),
        ci95: b.age.ci95,
      },
    };
  });

  return {
    instrument: instrument.id,
    respondent: instrument.respondent,
    scale: { basis: basis.kind, min: basis.min, max: basis.max },
    participants: {
      total: scored.length,
      experimental: armCount("experimental"),
      control: armCount("control"),
      none: armCount(null),
    },
    ranking: ranked.map((x) => x.id),
    scores,
  };
}

/** The instruments the baseline report covers by default: scored ones asked at the first timepoint. */
export function baselineInstruments(flows: LoadedFlows): Instrument[] {
  const first = flows.study.timepoints[0]?.id;
  const asked = new Set(
    flows.study.assignments.timepoints
      .filter((a) => a.timepoint === first)
      .flatMap((a) => [...a.parent, ...a.child]),
  );
  return flows.instrumentList.filter(
    (i) => asked.has(i.id) && i.subscales.length > 0 && i.respondent !== "facilitator",
  );
}

/** Extra facts the text/HTML views show (not part of the JSON contract). */
export interface BaselineContext {
  instruments: Instrument[];
  timepoint: string;
}

export async function buildBaseline(
  db: Db,
  flows: LoadedFlows,
  opts: { instrument?: string | undefined; now?: Date } = {},
): Promise<{ report: BaselineReport; context: BaselineContext }> {
  const timepoint = flows.study.timepoints[0]?.id;
  if (!timepoint) throw new ReportError("the study has no timepoints");
  let instruments: Instrument[];
  if (opts.instrument !== undefined) {
    const ins = flows.instruments.get(opts.instrument);
    if (!ins)
      throw new ReportError(
        `unknown instrument "${opts.instrument}" (known: ${[...flows.instruments.keys()].join(", ")})`,
      );
    if (ins.subscales.length === 0)
      throw new ReportError(`instrument "${opts.instrument}" has no scored subscales`);
    instruments = [ins];
  } else instruments = baselineInstruments(flows);

  const blocks: BaselineInstrument[] = [];
  for (const instrument of instruments) {
    const data = await loadInstrumentData(db, instrument, [timepoint]);
    const rows: BaselineRow[] = [];
    for (const p of data) {
      const values = p.answers.get(timepoint);
      if (!values) continue;
      rows.push({
        arm: p.arm,
        gender: p.gender,
        ageYears: p.ageYears,
        scores: scoreResponseSet(instrument, answersRecord(instrument, values)),
      });
    }
    blocks.push(computeBaselineInstrument(instrument, rows));
  }
  return {
    report: {
      timepoint,
      generatedAt: (opts.now ?? new Date()).toISOString(),
      instruments: blocks,
    },
    context: { instruments, timepoint },
  };
}

// The effect report for one instrument (JSON contract in the analysis issue; every name kept).
// Which cases enter what:
// - pre/post descriptives: every arm member with that score;
// - change, paired t, Wilcoxon, all between-arm statistics and RCI: members with both scores;
// - between-arm statistics compare change scores, experimental − control; ANCOVA post ~ 1 + arm + pre
//   with experimental = 1 over members of both arms with both scores (df = n − 3);
// - pHolm: Holm over the instrument's subscales (the total is not in the family: its pHolm is null);
// - alpha: Cronbach's α on reverse-keyed item values, complete cases at pre, all participants;
// - RCI: S_diff = SD(all pre scores)·√(2(1 − α)); improved > 1.96, deteriorated < −1.96;
// - baselineByGender: pre scores of all participants, Welch t male − female;
// - attendanceDose: experimental arm, Pearson r of sessions attended with change.
import type { Db } from "../db/client.js";
import type { Instrument, LoadedFlows } from "../study/model.js";
import { scoreResponseSet, scoredItemValues, type ResponseSetScores } from "./scoring.js";
import { answersRecord, loadInstrumentData, type ParticipantData } from "./dataset.js";
import {
  experimentalGroupCount,
  mixedModelBlock,
  mixedModelWanted,
  participantGroups,
  type MixedModelBlock,
} from "./report-mixed.js";
import {
  ancova,
  cronbachAlpha,
  describe,
  hedgesG,
  holm,
  mannWhitney,
  morrisDppc2,
  pairedT,
  pearson,
  rci,
  sampleSd,
  welchT,
  wilcoxonSignedRank,
} from "./stats/index.js";

export type D = { n: number; mean: number | null; sd: number | null };
export type Ci = [number, number] | null;

export interface ArmBlock {
  pre: D;
  post: D;
  change: D;
  pairedT: {
    t: number | null;
    df: number | null;
    p: number | null;
    ci95: Ci;
    dz: number | null;
    dav: number | null;
  };
  wilcoxon: { wPlus: number | null; n: number; p: number | null };
}

export interface RciCounts {
  improved: number | null;
  unchanged: number | null;
  deteriorated: number | null;
}

export interface ScoreBlock {
  id: string;
  arms: { experimental: ArmBlock; control: ArmBlock };
  between: {
    welchT: {
      t: number | null;
      df: number | null;
      p: number | null;
      pHolm: number | null;
      diff: number | null;
      ci95: Ci;
    };
    hedgesG: number | null;
    dppc2: number | null;
    mannWhitney: { u: number | null; p: number | null };
    ancova: {
      effect: number | null;
      se: number | null;
      t: number | null;
      df: number | null;
      p: number | null;
      ci95: Ci;
    };
  };
  alpha: number | null;
  rci: { experimental: RciCounts; control: RciCounts };
  baselineByGender: {
    male: D;
    female: D;
    welchT: { t: number | null; df: number | null; p: number | null };
  };
  attendanceDose: { r: number | null; p: number | null; n: number } | null;
  /**
   * Only when the study has more than two timepoints or the experimental arm two or more groups
   * (report-mixed.ts); a pre/post study with one group has no such key.
   */
  mixedModel?: MixedModelBlock;
}

export interface Report {
  instrument: string;
  generatedAt: string;
  scores: ScoreBlock[];
}

/** Extra facts the text/HTML views show (not part of the JSON contract). */
export interface ReportContext {
  instrument: Instrument;
  preTimepoint: string;
  postTimepoint: string;
  /** n used for α per score id. */
  alphaN: Record<string, number>;
  participants: number;
}

const d = (xs: number[]): D => describe(xs);

function armBlock(
  pre: number[],
  post: number[],
  pairsPre: number[],
  pairsPost: number[],
): ArmBlock {
  const change = pairsPost.map((v, i) => v - pairsPre[i]!);
  const pt = pairedT(pairsPre, pairsPost);
  const w = wilcoxonSignedRank(change);
  return {
    pre: d(pre),
    post: d(post),
    change: d(change),
    pairedT: { t: pt.t, df: pt.df, p: pt.p, ci95: pt.ci95, dz: pt.dz, dav: pt.dav },
    wilcoxon: { wPlus: w.wPlus, n: w.n, p: w.p },
  };
}

interface Scored {
  p: ParticipantData;
  pre: number | null;
  post: number | null;
}

export function computeScoreBlock(
  id: string,
  rows: Scored[],
  alpha: number | null,
): Omit<ScoreBlock, "between"> & {
  between: Omit<ScoreBlock["between"], "welchT"> & {
    welchT: Omit<ScoreBlock["between"]["welchT"], "pHolm">;
  };
} {
  const inArm = (arm: string) => rows.filter((r) => r.p.arm === arm);
  const both = (rs: Scored[]) =>
    rs.filter((r) => r.pre !== null && r.post !== null) as (Scored & {
      pre: number;
      post: number;
    })[];
  const e = inArm("experimental");
  const c = inArm("control");
  const eBoth = both(e);
  const cBoth = both(c);
  const vals = (rs: Scored[], k: "pre" | "post") =>
    rs.map((r) => r[k]).filter((v): v is number => v !== null);
  const eChange = eBoth.map((r) => r.post - r.pre);
  const cChange = cBoth.map((r) => r.post - r.pre);

  const wt = welchT(eChange, cChange);
  const mw = mannWhitney(eChange, cChange);
  const all = [...eBoth, ...cBoth];
  const an = ancova(
    all.map((r) => r.post),
    all.map((r) => (r.p.arm === "experimental" ? 1 : 0)),
    all.map((r) => r.pre),
  );
  const dppc2 = morrisDppc2({
    preT: eBoth.map((r) => r.pre),
    postT: eBoth.map((r) => r.post),
    preC: cBoth.map((r) => r.pre),
    postC: cBoth.map((r) => r.post),
  });

  const allPre = rows.map((r) => r.pre).filter((v): v is number => v !== null);
  const sdPre = sampleSd(allPre);
  const rciFor = (changes: number[]): RciCounts => {
    if (sdPre === null || alpha === null)
      return { improved: null, unchanged: null, deteriorated: null };
    const r = rci({ changes, sdPre, reliability: alpha });
    return { improved: r.improved, unchanged: r.unchanged, deteriorated: r.deteriorated };
  };

  const male = rows
    .filter((r) => r.p.gender === "male")
    .map((r) => r.pre)
    .filter((v): v is number => v !== null);
  const female = rows
    .filter((r) => r.p.gender === "female")
    .map((r) => r.pre)
    .filter((v): v is number => v !== null);
  const g = welchT(male, female);

  const dose = eBoth.filter((r) => r.p.attended !== null);
  const pr = dose.length
    ? pearson(
        dose.map((r) => r.p.attended!),
        dose.map((r) => r.post - r.pre),
      )
    : null;

  return {
    id,
    arms: {
      experimental: armBlock(
        vals(e, "pre"),
        vals(e, "post"),
        eBoth.map((r) => r.pre),
        eBoth.map((r) => r.post),
      ),
      control: armBlock(
        vals(c, "pre"),
        vals(c, "post"),
        cBoth.map((r) => r.pre),
        cBoth.map((r) => r.post),
      ),
    },
    between: {
      welchT: { t: wt.t, df: wt.df, p: wt.p, diff: wt.diff, ci95: wt.ci95 },
      hedgesG: hedgesG(eChange, cChange).g,
      dppc2: dppc2.d,
      mannWhitney: { u: mw.u, p: mw.p },
      ancova: { effect: an.effect, se: an.se, t: an.t, df: an.df, p: an.p, ci95: an.ci95 },
    },
    alpha,
    rci: { experimental: rciFor(eChange), control: rciFor(cChange) },
    baselineByGender: { male: d(male), female: d(female), welchT: { t: g.t, df: g.df, p: g.p } },
    attendanceDose: pr ? { r: pr.r, p: pr.p, n: pr.n } : null,
  };
}

export class ReportError extends Error {}

export async function buildReport(
  db: Db,
  flows: LoadedFlows,
  instrumentId: string,
  now = new Date(),
): Promise<{ report: Report; context: ReportContext }> {
  const instrument = flows.instruments.get(instrumentId);
  if (!instrument)
    throw new ReportError(
      `unknown instrument "${instrumentId}" (known: ${[...flows.instruments.keys()].join(", ")})`,
    );
  if (instrument.subscales.length === 0)
    throw new ReportError(`instrument "${instrumentId}" has no scored subscales`);
  const [pre, post] = flows.study.timepoints.map((t) => t.id);
  if (!pre || !post)
    throw new ReportError("the study needs two timepoints (pre and post) for an effect report");
  const allTimepoints = flows.study.timepoints.map((t) => t.id);
  const roster = await participantGroups(db);
  const groupOf = (code: string) => roster.get(code)?.group ?? null;
  const mixed = mixedModelWanted(flows, experimentalGroupCount([...roster.values()]));
  const data = await loadInstrumentData(db, instrument, mixed ? allTimepoints : [pre, post]);

  const itemIndex = new Map(instrument.items.map((it, i) => [it.id, i]));
  const scored = data.map((p) => {
    const preValues = p.answers.get(pre);
    const postValues = p.answers.get(post);
    const preAnswers = preValues ? answersRecord(instrument, preValues) : null;
    const postAnswers = postValues ? answersRecord(instrument, postValues) : null;
    // Reverse-keyed pre values for α, kept compact (NaN = unanswered) in item order.
    let preItems: Float64Array | null = null;
    if (preAnswers) {
      preItems = new Float64Array(instrument.items.length).fill(NaN);
      for (const [id, v] of Object.entries(scoredItemValues(instrument, preAnswers)))
        if (v !== null) preItems[itemIndex.get(id)!] = v;
    }
    const pre_ = preAnswers ? scoreResponseSet(instrument, preAnswers) : null;
    const post_ = postAnswers ? scoreResponseSet(instrument, postAnswers) : null;
    // Scores at every timepoint, for the mixed model.
    const at = new Map<string, ResponseSetScores>();
    if (mixed)
      for (const [tp, values] of p.answers) {
        const known = tp === pre ? pre_ : tp === post ? post_ : null;
        at.set(tp, known ?? scoreResponseSet(instrument, answersRecord(instrument, values)));
      }
    // The raw answers are not needed any more (memory at 10k participants).
    p.answers.clear();
    return { p, pre: pre_, post: post_, preItems, at };
  });

  const ids = [...instrument.subscales.map((s) => s.id), "total"];
  const alphaN: Record<string, number> = {};
  const blocks = ids.map((id) => {
    const itemIds =
      id === "total"
        ? instrument.subscales.flatMap((s) => s.items)
        : instrument.subscales.find((s) => s.id === id)!.items;
    const matrix = scored
      .filter((s) => s.preItems !== null)
      .map((s) =>
        itemIds.map((it) => {
          const v = s.preItems![itemIndex.get(it)!]!;
          return Number.isNaN(v) ? null : v;
        }),
      );
    const a = cronbachAlpha(matrix);
    alphaN[id] = a.n;
    const rows: Scored[] = scored.map((s) => ({
      p: s.p,
      pre: s.pre ? (id === "total" ? s.pre.total : (s.pre.subscales[id] ?? null)) : null,
      post: s.post ? (id === "total" ? s.post.total : (s.post.subscales[id] ?? null)) : null,
    }));
    const block: ReturnType<typeof computeScoreBlock> & { mixedModel?: MixedModelBlock } =
      computeScoreBlock(id, rows, a.alpha);
    if (mixed) {
      const pick = (r: ResponseSetScores) => (id === "total" ? r.total : (r.subscales[id] ?? null));
      block.mixedModel = mixedModelBlock(
        scored.map((s) => ({
          code: s.p.code,
          arm: s.p.arm,
          group: groupOf(s.p.code),
          scores: new Map([...s.at].map(([tp, r]) => [tp, pick(r)])),
        })),
        allTimepoints,
      );
    }
    return block;
  });
  const adjusted = holm(blocks.slice(0, -1).map((b) => b.between.welchT.p));
  const scores: ScoreBlock[] = blocks.map((b, i) => ({
    ...b,
    between: {
      ...b.between,
      welchT: { ...b.between.welchT, pHolm: b.id === "total" ? null : (adjusted[i] ?? null) },
    },
  }));
  // Key order of the contract: t, df, p, pHolm, diff, ci95.
  for (const s of scores) {
    const w = s.between.welchT;
    s.between.welchT = { t: w.t, df: w.df, p: w.p, pHolm: w.pHolm, diff: w.diff, ci95: w.ci95 };
  }
  return {
    report: { instrument: instrument.id, generatedAt: now.toISOString(), scores },
    context: {
      instrument,
      preTimepoint: pre,
      postTimepoint: post,
      alphaN,
      participants: data.length,
    },
  };
}

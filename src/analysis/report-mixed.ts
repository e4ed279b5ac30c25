// The effect report's mixed-model block: every score of every arm member at every timepoint in
// one linear mixed model, score ~ arm × timepoint + (1 | participant), with a random group effect
// in the experimental arm when it met in two or more groups (the partially nested design of
// group-treatment trials; the statistics are in stats/mixed-model.ts).
//
// When the block is there: only when the pre/post statistics cannot say it all, i.e. the study
// declares more than two timepoints (a follow-up) or the experimental arm has two or more groups.
// A pre/post study with one group keeps the report exactly as it was. The block is appended to
// each score under `mixedModel`; no existing field changes.
import type { Db } from "../db/client.js";
import type { LoadedFlows } from "../study/model.js";
import { t } from "../study/model.js";
import { describe, type Description } from "./stats/index.js";
import {
  fitMixedModelWithReason,
  type LmmFixedEffect,
  type LmmObservation,
  type LmmResult,
} from "./stats/mixed-model.js";

export interface MixedModelBlock {
  /** The model in lme4 notation (`exp` is 1 on experimental rows). */
  formula: string;
  /** Timepoint levels in the model, reference first (study order; levels without scores left out). */
  timepoints: string[];
  /** Whether the group term is in the model (the experimental arm has ≥ 2 groups with scores). */
  groupEffect: boolean;
  /** Observations (participant × timepoint scores) and participants in the model. */
  n: number;
  participants: number;
  participantsByArm: { experimental: number; control: number };
  /** Experimental groups in the group term; null without it. */
  groups: number | null;
  /** Experimental participants left out because they belong to no group (group term only). */
  ungroupedExcluded: number;
  /** Scores entering the model, per timepoint and arm. */
  descriptives: { timepoint: string; experimental: Description; control: Description }[];
  /** R's coefficients (treatment contrasts: control and the first timepoint are the reference). */
  fixed: LmmFixedEffect[] | null;
  variance: LmmResult["variance"] | null;
  icc: LmmResult["icc"] | null;
  logLikREML: number | null;
  singular: boolean | null;
  converged: boolean | null;
  /** Why the model could not be fitted (null when it was). */
  reason: string | null;
}

/** One arm member's scores of one (sub)scale, by timepoint (null: not computable there). */
export interface MixedModelRow {
  code: string;
  arm: string | null;
  group: string | null;
  scores: ReadonlyMap<string, number | null>;
}

/** Distinct groups of the experimental arm's participants. */
export function experimentalGroupCount(
  participants: readonly { arm: string | null; group: string | null }[],
): number {
  return new Set(
    participants.filter((p) => p.arm === "experimental" && p.group !== null).map((p) => p.group),
  ).size;
}

export function mixedModelWanted(flows: LoadedFlows, experimentalGroups: number): boolean {
  return flows.study.timepoints.length > 2 || experimentalGroups >= 2;
}

/** Each participant's arm and group name by code (the report's dataset does not carry groups). */
export async function participantGroups(
  db: Db,
): Promise<Map<string, { arm: string | null; group: string | null }>> {
  const rows = await db.participant.findMany({
    select: { code: true, arm: true, group: { select: { name: true } } },
  });
  return new Map(rows.map((r) => [r.code, { arm: r.arm, group: r.group?.name ?? null }]));
}

/**
 * The observations: one per arm member and timepoint with a score (baseline-only participants
 * have no arm and stay out). With the group term, an experimental participant without a group
 * cannot be placed in it and is left out (counted in `ungroupedExcluded`); control participants
 * never carry a group (only the experimental arm meets).
 */
export function mixedModelObservations(
  rows: readonly MixedModelRow[],
  timepoints: readonly string[],
  groupEffect: boolean,
): { observations: LmmObservation[]; ungroupedExcluded: number } {
  const observations: LmmObservation[] = [];
  let ungroupedExcluded = 0;
  for (const r of rows) {
    if (r.arm !== "experimental" && r.arm !== "control") continue;
    const own: LmmObservation[] = [];
    for (const tp of timepoints) {
      const y = r.scores.get(tp);
      if (y === null || y === undefined) continue;
      own.push({
        participant: r.code,
        group: r.arm === "experimental" ? r.group : null,
        arm: r.arm,
        timepoint: tp,
        y,
      });
    }
    if (own.length === 0) continue;
    if (groupEffect && r.arm === "experimental" && r.group === null) {
      ungroupedExcluded++;
      continue;
    }
    observations.push(...own);
  }
  return { observations, ungroupedExcluded };
}

function formula(groupEffect: boolean): string {
  return `score ~ arm * timepoint + (1 | participant)${groupEffect ? " + (0 + exp | group)" : ""}`;
}

/** The block for one score: fitted when the data allow, otherwise with the reason. */
export function mixedModelBlock(
  rows: readonly MixedModelRow[],
  studyTimepoints: readonly string[],
): MixedModelBlock {
  const armRows = rows.filter((r) => r.arm === "experimental" || r.arm === "control");
  const withScores = armRows.filter((r) =>
    studyTimepoints.some((tp) => typeof r.scores.get(tp) === "number"),
  );
  const groupEffect = experimentalGroupCount(withScores) >= 2;
  const { observations, ungroupedExcluded } = mixedModelObservations(
    armRows,
    studyTimepoints,
    groupEffect,
  );
  const timepoints = studyTimepoints.filter((tp) => observations.some((o) => o.timepoint === tp));
  const inArm = (arm: "experimental" | "control") =>
    new Set(observations.filter((o) => o.arm === arm).map((o) => o.participant)).size;
  const participantsByArm = { experimental: inArm("experimental"), control: inArm("control") };
  const descriptives = timepoints.map((tp) => {
    const ys = (arm: string) =>
      observations.filter((o) => o.timepoint === tp && o.arm === arm).map((o) => o.y);
    return {
      timepoint: tp,
      experimental: describe(ys("experimental")),
      control: describe(ys("control")),
    };
  });
  const fit =
    observations.length === 0
      ? ({ ok: false, reason: "no arm member has a score" } as const)
      : fitMixedModelWithReason(observations, { timepoints: [...timepoints], groupEffect });
  const r = fit.ok ? fit.result : null;
  const groups = groupEffect
    ? new Set(observations.filter((o) => o.arm === "experimental").map((o) => o.group)).size
    : null;
  return {
    formula: formula(groupEffect),
    timepoints,
    groupEffect,
    n: r?.n ?? observations.length,
    participants: r?.participants ?? participantsByArm.experimental + participantsByArm.control,
    participantsByArm,
    groups: r ? r.groups : groups,
    ungroupedExcluded,
    descriptives,
    fixed: r?.fixed ?? null,
    variance: r?.variance ?? null,
    icc: r?.icc ?? null,
    logLikREML: r?.logLikREML ?? null,
    singular: r?.singular ?? null,
    converged: r?.converged ?? null,
    reason: fit.ok ? null : fit.reason,
  };
}

// ---------------------------------------------------------------------------------------------
// Views (text and HTML), with the shared views' small-cell rule: nothing model-based is shown
// when an arm has fewer than smallCell participants in the model, and no mean of fewer cases.

const f = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? "–" : x.toFixed(digits);
const fp = (p: number | null | undefined) =>
  p === null || p === undefined ? "–" : p < 0.001 ? p.toExponential(2) : p.toFixed(3);
const cell = (d: Description, small: number) =>
  d.n === 0 ? "n=0" : d.n < small ? `n<${small}` : `${f(d.mean)} ± ${f(d.sd)} (n=${d.n})`;

function tpLabel(flows: LoadedFlows, id: string, locale: string): string {
  const tp = flows.study.timepoints.find((x) => x.id === id);
  return tp ? t(tp.label, locale) : id;
}

/** What a coefficient means, in words (treatment contrasts). */
export function termMeaning(term: string, reference: string): string {
  if (term === "(Intercept)") return `control at ${reference}`;
  if (term === "armexperimental") return `experimental − control at ${reference}`;
  const inter = /^armexperimental:timepoint(.+)$/.exec(term);
  if (inter) return `extra change ${reference} → ${inter[1]} in the experimental arm`;
  const tp = /^timepoint(.+)$/.exec(term);
  if (tp) return `change ${reference} → ${tp[1]} in the control arm`;
  return term;
}

function suppressed(m: MixedModelBlock, small: number): boolean {
  return m.participantsByArm.experimental < small || m.participantsByArm.control < small;
}

function varianceText(m: MixedModelBlock): string {
  const v = m.variance!;
  const icc = m.icc!;
  const parts = [
    `variance: participant ${f(v.participant, 3)}`,
    ...(v.group !== null ? [`group ${f(v.group, 3)}`] : []),
    `residual ${f(v.residual, 3)}`,
  ];
  const iccs = [
    `ICC participant ${f(icc.participant, 3)}`,
    ...(icc.group !== null ? [`group ${f(icc.group, 3)}`] : []),
  ];
  const flags = [
    ...(m.singular ? ["singular fit: a variance is at 0"] : []),
    ...(m.converged === false ? ["did not converge"] : []),
  ];
  return `${parts.join(", ")}; ${iccs.join(", ")}; REML log-likelihood ${f(m.logLikREML, 2)}${flags.length ? ` (${flags.join("; ")})` : ""}`;
}

function header(m: MixedModelBlock): string {
  const groups = m.groupEffect ? `, ${m.groups} experimental groups` : "";
  const left = m.ungroupedExcluded
    ? `; ${m.ungroupedExcluded} ungrouped experimental participant(s) left out`
    : "";
  return `${m.formula} (REML, Satterthwaite df): ${m.n} scores of ${m.participants} participants (E ${m.participantsByArm.experimental}, C ${m.participantsByArm.control})${groups}${left}`;
}

/** Lines for one score in the text report (indented like the rest of the score's block). */
export function mixedModelLines(
  m: MixedModelBlock,
  flows: LoadedFlows,
  opts: { locale: string; smallCell: number },
): string[] {
  const small = opts.smallCell;
  if (suppressed(m, small))
    return [`  Mixed model: suppressed (fewer than ${small} participants per arm in the model)`];
  const out = [`  Mixed model ${header(m)}`];
  out.push(
    `    Means: ${m.descriptives
      .map(
        (d) =>
          `${tpLabel(flows, d.timepoint, opts.locale)}: E ${cell(d.experimental, small)}, C ${cell(d.control, small)}`,
      )
      .join("; ")}`,
  );
  if (!m.fixed) {
    out.push(`    not fitted: ${m.reason ?? "unknown reason"}`);
    return out;
  }
  const ref = m.timepoints[0] ?? "";
  for (const x of m.fixed)
    out.push(
      `    ${x.term} (${termMeaning(x.term, ref)}): ${f(x.estimate)} [${f(x.ciLow)}, ${f(x.ciHigh)}], SE ${f(x.se)}, t(${f(x.df, 1)}) = ${f(x.t)}, p = ${fp(x.p)}`,
    );
  out.push(`    ${varianceText(m)}`);
  return out;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The methods sentence for the mixed model (text and HTML views). */
export const MIXED_MODEL_METHODS =
  "All scores of both arms at every timepoint were analysed in one linear mixed model per score (REML, as lme4; Satterthwaite df and p as lmerTest), with a random intercept per participant and, when the experimental arm met in two or more groups, a random group effect on the experimental arm's scores (control participants are not clustered). Coefficients use treatment contrasts: control and the first timepoint are the reference, so each armexperimental:timepoint… term is the experimental arm's extra change since then. A singular fit means a variance was estimated at 0.";

/** The HTML section: one table of fixed effects per score, with its variance components. */
export function mixedModelHtml(
  scores: readonly { id: string; label: string; mixedModel?: MixedModelBlock | undefined }[],
  flows: LoadedFlows,
  opts: { locale: string; smallCell: number },
): string {
  const withModel = scores.filter((s) => s.mixedModel);
  if (withModel.length === 0) return "";
  const small = opts.smallCell;
  const parts = withModel.map(({ label, mixedModel: m }) => {
    const title = `<h3>${esc(label)}</h3>`;
    if (suppressed(m!, small))
      return `${title}<p>Suppressed (fewer than ${small} participants per arm in the model).</p>`;
    const means = m!.descriptives
      .map(
        (d) =>
          `<tr><th>${esc(tpLabel(flows, d.timepoint, opts.locale))}</th><td>${esc(cell(d.experimental, small))}</td><td>${esc(cell(d.control, small))}</td></tr>`,
      )
      .join("");
    const meansTable = `<table><thead><tr><th>Timepoint</th><th>Experimental</th><th>Control</th></tr></thead><tbody>${means}</tbody></table>`;
    if (!m!.fixed)
      return `${title}<p>${esc(header(m!))}</p>${meansTable}<p>Not fitted: ${esc(m!.reason ?? "unknown reason")}</p>`;
    const ref = m!.timepoints[0] ?? "";
    const rows = m!.fixed
      .map(
        (x) =>
          `<tr><th><code>${esc(x.term)}</code><br><small>${esc(termMeaning(x.term, ref))}</small></th><td>${f(x.estimate)}</td><td>${f(x.se)}</td><td>${f(x.df, 1)}</td><td>${f(x.t)}</td><td>${fp(x.p)}</td><td>[${f(x.ciLow)}, ${f(x.ciHigh)}]</td></tr>`,
      )
      .join("\n");
    return `${title}<p>${esc(header(m!))}</p>${meansTable}
<table class="mixed-model"><thead><tr><th>Fixed effect</th><th>Estimate</th><th>SE</th><th>df</th><th>t</th><th>p</th><th>95% CI</th></tr></thead>
<tbody>${rows}</tbody></table>
<p>${esc(varianceText(m!))}</p>`;
  });
  return `<h2>Mixed model (arm × timepoint)</h2>
<p>${esc(MIXED_MODEL_METHODS)}</p>
${parts.join("\n")}`;
}

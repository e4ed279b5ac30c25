// Linear mixed model for repeated scores in a group-treatment trial, fitted by REML as lme4 does,
// with lmerTest's Satterthwaite degrees of freedom. In R:
//
//   lmer(y ~ arm * timepoint + (1 | participant) [+ (0 + exp | group)], REML = TRUE)
//
// arm has reference "control", timepoint the first level of opts.timepoints (treatment contrasts);
// exp = 1 on experimental rows. The optional group term is the partially nested design of
// group-treatment trials: only the experimental arm meets in groups, so only there can a group
// share a random effect; control participants have none (their group column is zero).
//
// Method (lme4's formulation, Bates et al. 2015, J Stat Softw 67(1)):
// - b = σ Λθ u, u ~ N(0, I), Λθ diagonal with θ = σ_b / σ per term. For each θ the fixed effects
//   and σ are profiled out; the REML criterion is
//     d(θ) = log|ΛᵀZᵀZΛ + I| + log|XᵀV⁻¹X| + (n − p)(1 + log(2π r²/(n − p))),
//   V = I + ZΛΛᵀZᵀ, r² = (y − Xβ̂)ᵀV⁻¹(y − Xβ̂), σ̂² = r²/(n − p).
// - ZᵀZ has a diagonal participant block, a diagonal group block and a cross block with one
//   entry per experimental participant (one group each), so every product with V⁻¹ (Woodbury)
//   needs only per-participant sums of [X y], and the group Schur complement is diagonal. A
//   participant enters only through its group and row count, so the sums are pooled once per
//   such class: one evaluation is O(classes · p²), whatever the participant or row count
//   (a few dozen classes for a pre/post study of any size).
// - d(θ) is even in each θ (V depends on θ² only), so it is minimised over all of ℝᵏ and θ = |x|:
//   a boundary optimum (σ_group = 0, the usual "singular fit") is then an ordinary interior
//   minimum at 0, with no bound constraints to handle. Nelder–Mead from the best point of a coarse
//   grid, restarted once, then Newton steps on Richardson-extrapolated derivatives (newtonPolish).
// - Satterthwaite, as lmerTest 3.1: varpar = (θ, σ) (lmerTest 3.1.3's devfun_vp and get_covbeta
//   take the relative θ, not σθ; at an interior optimum the df do not depend on that choice, the
//   gradient of the deviance being 0); H = Hessian of the unprofiled REML deviance
//   in varpar, A = 2·H⁺ (pseudo-inverse over eigenvalues > 1e-8); C(varpar) = σ²(XᵀV⁻¹X)⁻¹;
//   for each coefficient df = 2·C_jj² / (gᵀ A g) with g = ∂C_jj/∂varpar. The derivatives use the
//   same Richardson scheme and steps as lmerTest's numDeriv calls (linalg.ts).
import { tQuantile, tTwoSidedP } from "./distributions.js";
import {
  cholInverse,
  cholLogDet,
  cholSolve,
  cholesky,
  richardsonGradient,
  richardsonHessian,
  richardsonJacobian,
  symmetricPseudoInverse,
} from "./linalg.js";
import { finite } from "./numeric.js";

export interface LmmObservation {
  participant: string;
  group: string | null;
  arm: "experimental" | "control";
  timepoint: string;
  y: number;
}

export interface LmmOptions {
  /** Level order; the first is the reference. Levels without observations are dropped (as R's droplevels). */
  timepoints: string[];
  /** Random group effect in the experimental arm (needs at least 2 experimental groups). */
  groupEffect: boolean;
}

export interface LmmFixedEffect {
  /** R's coefficient name: "(Intercept)", "armexperimental", "timepointpost", "armexperimental:timepointpost". */
  term: string;
  estimate: number;
  se: number | null;
  /** Satterthwaite df (lmerTest). */
  df: number | null;
  t: number | null;
  /** Two-sided, from t with the Satterthwaite df. */
  p: number | null;
  /** 95% CI: estimate ± t(0.975, df) · SE. */
  ciLow: number | null;
  ciHigh: number | null;
}

export interface LmmResult {
  fixed: LmmFixedEffect[];
  /** Variance components σ²; group is null without a group effect (0 at a singular fit). */
  variance: { participant: number; group: number | null; residual: number };
  /** Share of the total variance σ²_group + σ²_participant + σ²_residual. */
  icc: { participant: number | null; group: number | null };
  /** REML log-likelihood, R's logLik(fit); the REML deviance is −2 times it. */
  logLikREML: number;
  /** Observations used. */
  n: number;
  participants: number;
  /** Experimental groups in the group term; null without a group effect. */
  groups: number | null;
  /** A relative SD θ below 1e-4, as lme4's isSingular(): that variance is at (or next to) 0. */
  singular: boolean;
  converged: boolean;
}

export type LmmFit = { ok: true; result: LmmResult } | { ok: false; reason: string };

/** lme4's isSingular() tolerance on θ. */
const SINGULAR_THETA = 1e-4;
/** lmerTest's tolerance on the Hessian's eigenvalues. */
const HESSIAN_EIGEN_TOL = 1e-8;
/** Cholesky pivot of XᵀX relative to its diagonal below this: X is rank-deficient (R's QR uses 1e-7 on R's diagonal, i.e. 1e-14 here). */
const RANK_TOL = 1e-10;

const ARM_TERM = "armexperimental";

// ---- input checks and design ----

/**
 * Why these observations cannot be fitted as given (empty when they can, apart from numerical
 * degeneracy found while fitting). Each message names the offending value.
 */
export function mixedModelInputProblems(
  obs: readonly LmmObservation[],
  opts: LmmOptions,
): string[] {
  const problems: string[] = [];
  const levels = opts.timepoints;
  if (levels.length < 2) problems.push("at least 2 timepoints are needed");
  if (new Set(levels).size !== levels.length) problems.push("timepoints contain duplicates");
  const known = new Set(levels);
  // One record per participant, so each row costs a single map lookup (reports check 20,000 rows
  // per score). group: undefined until the participant's first experimental row with a group effect.
  const seen = new Map<string, { arm: string; group: string | null | undefined; at: string[] }>();
  const expGroups = new Set<string>();
  for (let i = 0; i < obs.length; i++) {
    const o = obs[i]!;
    if (typeof o.participant !== "string" || o.participant === "") {
      problems.push(`observation ${i + 1}: participant is empty`);
      continue;
    }
    if (o.arm !== "experimental" && o.arm !== "control") {
      problems.push(
        `observation ${i + 1}: arm "${String(o.arm)}" is neither experimental nor control`,
      );
    }
    if (!known.has(o.timepoint)) {
      problems.push(`observation ${i + 1}: timepoint "${o.timepoint}" is not listed`);
    }
    if (typeof o.y !== "number" || !Number.isFinite(o.y)) {
      problems.push(`observation ${i + 1}: score ${String(o.y)} is not a finite number`);
    }
    let rec = seen.get(o.participant);
    if (rec === undefined) {
      rec = { arm: o.arm, group: undefined, at: [] };
      seen.set(o.participant, rec);
    } else if (rec.arm !== o.arm) problems.push(`participant ${o.participant} is in both arms`);
    if (opts.groupEffect && o.arm === "experimental") {
      if (o.group === null || o.group === "") {
        problems.push(
          `observation ${i + 1}: experimental participant ${o.participant} has no group`,
        );
      } else expGroups.add(o.group);
      if (rec.group === undefined) rec.group = o.group;
      else if (rec.group !== o.group)
        problems.push(`participant ${o.participant} is in more than one group`);
    }
    if (rec.at.includes(o.timepoint))
      problems.push(`participant ${o.participant} has two scores at ${o.timepoint}`);
    else rec.at.push(o.timepoint);
  }
  if (opts.groupEffect && expGroups.size < 2) {
    problems.push(
      `a group effect needs at least 2 experimental groups (found ${expGroups.size}); fit without it`,
    );
  }
  return [...new Set(problems)];
}

/** Everything the REML criterion needs, as sums over participants and groups. */
interface Design {
  n: number;
  /** Fixed-effect columns. */
  p: number;
  /** p + 1: the columns of M = [X y], y centred. */
  m: number;
  terms: string[];
  yMean: number;
  participants: number;
  groups: number;
  /**
   * Participants pooled into classes of equal block structure: same group (or none) and same
   * number of rows. V⁻¹ restricted to a participant depends on nothing else, so a class enters
   * the criterion only through these sums (see evaluate).
   */
  classes: number;
  /** Participants in each class. */
  classCount: Float64Array;
  /** Rows per participant of each class (n_i). */
  classRows: Float64Array;
  /** Experimental group of each class, −1 for none (control, or no group effect). */
  classGroup: Int32Array;
  /** Σ s_i over the class, s_i = participant i's column sums of M (classes × m). */
  classSum: Float64Array;
  /** Σ s_i s_iᵀ over the class, upper triangles (classes × m × m). */
  classOuter: Float64Array;
  /** MᵀM. */
  mtm: Float64Array;
}

function buildDesign(obs: readonly LmmObservation[], opts: LmmOptions): Design | string {
  const used = new Set<string>();
  for (const o of obs) used.add(o.timepoint);
  if (!used.has(opts.timepoints[0]!)) {
    return `no observations at the reference timepoint "${opts.timepoints[0]}"`;
  }
  const levels = opts.timepoints.filter((t) => used.has(t));
  if (levels.length < 2) return "observations at only one timepoint";
  const terms = [
    "(Intercept)",
    ARM_TERM,
    ...levels.slice(1).map((t) => `timepoint${t}`),
    ...levels.slice(1).map((t) => `${ARM_TERM}:timepoint${t}`),
  ];
  const p = terms.length;
  const m = p + 1;
  const n = obs.length;
  const level = new Map(levels.map((t, i) => [t, i]));
  // Indices per row in one pass of map lookups; the sums below then touch only typed arrays.
  const partIndex = new Map<string, number>();
  const groupIndex = new Map<string, number>();
  const partOf = new Int32Array(n);
  const groupOfPart: number[] = [];
  let ySum = 0;
  for (let r = 0; r < n; r++) {
    const o = obs[r]!;
    let i = partIndex.get(o.participant);
    if (i === undefined) {
      i = partIndex.size;
      partIndex.set(o.participant, i);
      groupOfPart.push(-1);
    }
    partOf[r] = i;
    // (Input checks guarantee one arm and at most one group per participant.)
    if (opts.groupEffect && o.arm === "experimental") {
      let g = groupIndex.get(o.group!);
      if (g === undefined) {
        g = groupIndex.size;
        groupIndex.set(o.group!, g);
      }
      groupOfPart[i] = g;
    }
    ySum += o.y;
  }
  const P = partIndex.size;
  const G = groupIndex.size;
  const yMean = ySum / n;
  const nPart = new Float64Array(P);
  const sPart = new Float64Array(P * m);
  const partGroup = Int32Array.from(groupOfPart);
  const mtm = new Float64Array(m * m);
  const row = new Float64Array(m);
  const T = levels.length - 1;
  for (let ir = 0; ir < n; ir++) {
    const o = obs[ir]!;
    row.fill(0);
    const exp = o.arm === "experimental" ? 1 : 0;
    const k = level.get(o.timepoint)!;
    row[0] = 1;
    row[1] = exp;
    if (k > 0) {
      row[1 + k] = 1;
      row[1 + T + k] = exp;
    }
    row[p] = o.y - yMean;
    const i = partOf[ir]!;
    nPart[i]! += 1;
    for (let c = 0; c < m; c++) sPart[i * m + c]! += row[c]!;
    for (let r = 0; r < m; r++) {
      const vr = row[r]!;
      if (vr === 0) continue;
      for (let c = r; c < m; c++) mtm[r * m + c]! += vr * row[c]!;
    }
  }
  // R's checks: the fixed effects need n > p, and lme4 stops when a grouping factor has as many
  // levels as there are rows or the random effects (the control placeholder level included)
  // are at least as many as the rows.
  if (n <= p) return `${n} observations for ${p} fixed effects`;
  if (P >= n) return `every participant has a single observation (${n} observations)`;
  const q = P + (opts.groupEffect ? G + 1 : 0);
  if (q >= n) return `${n} observations for ${q} random effects`;
  for (let r = 0; r < m; r++) for (let c = 0; c < r; c++) mtm[r * m + c] = mtm[c * m + r]!;
  const xtx = new Float64Array(p * p);
  for (let r = 0; r < p; r++) for (let c = 0; c < p; c++) xtx[r * p + c] = mtm[r * m + c]!;
  if (!fullRank(xtx, p)) {
    return "the arm × timepoint design is rank-deficient (an arm has no observations at some timepoint)";
  }
  return {
    n,
    p,
    m,
    terms,
    yMean,
    participants: P,
    groups: G,
    ...poolClasses(nPart, sPart, partGroup, m),
    mtm,
  };
}

/** Sums per class of participants with the same group and row count (Design.classes). */
function poolClasses(
  nPart: Float64Array,
  sPart: Float64Array,
  partGroup: Int32Array,
  m: number,
): Pick<Design, "classes" | "classCount" | "classRows" | "classGroup" | "classSum" | "classOuter"> {
  let maxRows = 0;
  for (const n of nPart) maxRows = Math.max(maxRows, n);
  // Key (group + 1)·(maxRows + 1) + n_i: distinct for each (group, n_i), exact in a double.
  const index = new Map<number, number>();
  const classOf = new Int32Array(nPart.length);
  const rows: number[] = [];
  const group: number[] = [];
  for (let i = 0; i < nPart.length; i++) {
    const n = nPart[i]!;
    const g = partGroup[i]!;
    const key = (g + 1) * (maxRows + 1) + n;
    let c = index.get(key);
    if (c === undefined) {
      c = index.size;
      index.set(key, c);
      rows.push(n);
      group.push(g);
    }
    classOf[i] = c;
  }
  const C = index.size;
  const classCount = new Float64Array(C);
  const classSum = new Float64Array(C * m);
  const classOuter = new Float64Array(C * m * m);
  for (let i = 0; i < nPart.length; i++) {
    const c = classOf[i]!;
    classCount[c]! += 1;
    const off = i * m;
    const sum = c * m;
    const outer = c * m * m;
    for (let r = 0; r < m; r++) {
      const sr = sPart[off + r]!;
      classSum[sum + r]! += sr;
      if (sr === 0) continue;
      for (let k = r; k < m; k++) classOuter[outer + r * m + k]! += sr * sPart[off + k]!;
    }
  }
  return {
    classes: C,
    classCount,
    classRows: Float64Array.from(rows),
    classGroup: Int32Array.from(group),
    classSum,
    classOuter,
  };
}

/** Cholesky of XᵀX with every pivot checked against its column's own scale. */
function fullRank(xtx: Float64Array, p: number): boolean {
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let d = xtx[j * p + j]!;
    for (let k = 0; k < j; k++) d -= l[j * p + k]! ** 2;
    if (!(d > RANK_TOL * xtx[j * p + j]!)) return false;
    const ljj = Math.sqrt(d);
    l[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = xtx[i * p + j]!;
      for (let k = 0; k < j; k++) s -= l[i * p + k]! * l[j * p + k]!;
      l[i * p + j] = s / ljj;
    }
  }
  return true;
}

// ---- the REML criterion ----

interface Evaluation {
  /** log|ΛᵀZᵀZΛ + I| (lme4's ldL2). */
  logDetA: number;
  /** Cholesky factor of MᵀV⁻¹M (m×m): its leading p×p block factors XᵀV⁻¹X, its last pivot² is r². */
  l: Float64Array;
  /** log|XᵀV⁻¹X| (lme4's ldRX2). */
  logDetK: number;
  /** Penalised residual sum of squares r² (lme4's pwrss). */
  r2: number;
}

/**
 * MᵀV⁻¹M and log|A| at θ = (θ_participant[, θ_group]), by Woodbury on the block structure.
 *
 * Participant i (n_i rows, column sums s_i of M) has D_i = 1 + θp²·n_i; eliminating the
 * participant block subtracts (θp²/D_i)·s_i s_iᵀ from MᵀM and adds log D_i to log|A|. Each
 * participant is in at most one group, so after that elimination the group block is diagonal:
 *   S_g = 1 + θg²·Σ_{i∈g} n_i/D_i,   R_g = θg·Σ_{i∈g} s_i/D_i
 * (Dg − EᵀDp⁻¹E and Bg − EᵀDp⁻¹Bp with E = θpθg·ZpᵀZg, simplified: n_i − θp²n_i²/D_i = n_i/D_i),
 * subtracting R_g R_gᵀ/S_g and adding log S_g. Everything depends on a participant only through
 * (group, n_i), so the sums over s_i are pooled per class once (poolClasses) and one evaluation
 * costs O(classes · m²), whatever the number of participants.
 */
function evaluate(d: Design, theta: readonly number[]): Evaluation | null {
  const { m, p, groups: G, classes: C, classCount, classRows, classGroup, classSum } = d;
  const tp2 = theta[0]! * theta[0]!;
  const tg2 = G > 0 ? theta[1]! * theta[1]! : 0;
  const q = Float64Array.from(d.mtm);
  const outer = d.classOuter;
  let logDetA = 0;
  const sg = G > 0 ? new Float64Array(G).fill(1) : null;
  const rg = G > 0 ? new Float64Array(G * m) : null;
  for (let c = 0; c < C; c++) {
    const n = classRows[c]!;
    const inv = 1 / (1 + tp2 * n);
    logDetA += classCount[c]! * Math.log1p(tp2 * n);
    const w = tp2 * inv;
    if (w !== 0) {
      const off = c * m * m;
      for (let r = 0; r < m; r++) {
        for (let k = r; k < m; k++) q[r * m + k]! -= w * outer[off + r * m + k]!;
      }
    }
    const g = classGroup[c]!;
    if (g >= 0 && sg !== null && rg !== null) {
      sg[g]! += tg2 * classCount[c]! * n * inv;
      for (let r = 0; r < m; r++) rg[g * m + r]! += inv * classSum[c * m + r]!;
    }
  }
  if (sg !== null && rg !== null) {
    // R_g = θg·rg; R_g R_gᵀ / S_g = (θg²/S_g)·rg rgᵀ.
    for (let g = 0; g < G; g++) {
      const s = sg[g]!;
      if (!(s > 0) || !Number.isFinite(s)) return null;
      logDetA += Math.log(s);
      const f = tg2 / s;
      if (f === 0) continue;
      const off = g * m;
      for (let r = 0; r < m; r++) {
        const vr = f * rg[off + r]!;
        for (let k = r; k < m; k++) q[r * m + k]! -= vr * rg[off + k]!;
      }
    }
  }
  for (let r = 0; r < m; r++) for (let c = 0; c < r; c++) q[r * m + c] = q[c * m + r]!;
  const l = cholesky(q, m);
  if (l === null) return null;
  const r2 = l[p * m + p]! ** 2;
  return { logDetA, l, logDetK: cholLogDet(l, m, p), r2 };
}

/** lme4's profiled REML criterion (REMLcrit), or +∞ where it cannot be evaluated. */
function remlCriterion(d: Design, theta: readonly number[]): number {
  const e = evaluate(d, theta);
  if (e === null || !(e.r2 > 0)) return Number.POSITIVE_INFINITY;
  const nmp = d.n - d.p;
  return e.logDetA + e.logDetK + nmp * (1 + Math.log((2 * Math.PI * e.r2) / nmp));
}

/** lmerTest's devfun_vp: the REML deviance at varpar = (θ…, σ), σ not profiled out. */
function remlDevianceVarpar(d: Design, varpar: readonly number[]): number {
  const k = varpar.length - 1;
  const e = evaluate(d, varpar.slice(0, k));
  const sigma2 = varpar[k]! ** 2;
  if (e === null || !(sigma2 > 0)) return Number.NaN;
  return e.logDetA + e.logDetK + e.r2 / sigma2 + (d.n - d.p) * Math.log(2 * Math.PI * sigma2);
}

/** lmerTest's get_covbeta: σ²(XᵀV⁻¹X)⁻¹ at varpar, flattened row-major. */
function covBetaVarpar(d: Design, varpar: readonly number[]): Float64Array {
  const k = varpar.length - 1;
  const e = evaluate(d, varpar.slice(0, k));
  const out = new Float64Array(d.p * d.p);
  if (e === null) return out.fill(Number.NaN);
  const inv = cholInverse(e.l, d.m, d.p);
  const s2 = varpar[k]! ** 2;
  for (let i = 0; i < out.length; i++) out[i] = s2 * inv[i]!;
  return out;
}

// ---- optimisation over θ ----

interface Minimum {
  x: number[];
  f: number;
  converged: boolean;
}

function nelderMead(
  f: (x: number[]) => number,
  x0: readonly number[],
  step: readonly number[],
  maxEval: number,
): Minimum {
  const k = x0.length;
  let simplex = [x0.slice()];
  for (let j = 0; j < k; j++) {
    const v = x0.slice();
    v[j] = v[j]! + step[j]!;
    simplex.push(v);
  }
  let values = simplex.map((v) => f(v));
  let evals = k + 1;
  const combine = (a: number[], b: number[], t: number) => a.map((ai, i) => ai + t * (b[i]! - ai));
  while (evals < maxEval) {
    const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
    simplex = order.map((i) => simplex[i]!);
    values = order.map((i) => values[i]!);
    const best = simplex[0]!;
    const fBest = values[0]!;
    let diameter = 0;
    for (const v of simplex) {
      for (let j = 0; j < k; j++) diameter = Math.max(diameter, Math.abs(v[j]! - best[j]!));
    }
    const scale = 1 + Math.max(...best.map(Math.abs));
    const spread = values[k]! - fBest;
    if (diameter <= 1e-8 * scale || (spread <= 1e-15 * Math.abs(fBest) && diameter <= 1e-6)) {
      return { x: best, f: fBest, converged: true };
    }
    const centroid = new Array<number>(k).fill(0);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) centroid[j]! += simplex[i]![j]! / k;
    const worst = simplex[k]!;
    const xr = combine(centroid, worst, -1);
    const fr = f(xr);
    evals++;
    if (fr < fBest) {
      const xe = combine(centroid, worst, -2);
      const fe = f(xe);
      evals++;
      if (fe < fr) {
        simplex[k] = xe;
        values[k] = fe;
      } else {
        simplex[k] = xr;
        values[k] = fr;
      }
    } else if (fr < values[k - 1]!) {
      simplex[k] = xr;
      values[k] = fr;
    } else {
      const outside = fr < values[k]!;
      const xc = combine(centroid, worst, outside ? -0.5 : 0.5);
      const fc = f(xc);
      evals++;
      if (fc < (outside ? fr : values[k]!)) {
        simplex[k] = xc;
        values[k] = fc;
      } else {
        for (let i = 1; i <= k; i++) {
          simplex[i] = combine(best, simplex[i]!, 0.5);
          values[i] = f(simplex[i]!);
          evals++;
        }
      }
    }
  }
  const iBest = values.indexOf(Math.min(...values));
  return { x: simplex[iBest]!, f: values[iBest]!, converged: false };
}

/**
 * Newton steps with Richardson-extrapolated derivatives. Nelder–Mead compares deviance values,
 * which pins θ down only to about sqrt(ε·|d| / curvature), coarse where the criterion is flat
 * (a small group variance); the extrapolated gradient, taken over wide steps, is accurate to
 * ~1e-9 there, so its zero locates the optimum about a thousand times more finely.
 */
function newtonPolish(f: (x: number[]) => number, start: Minimum): Minimum {
  const k = start.x.length;
  let { x, f: fx } = start;
  let converged = false;
  for (let iter = 0; iter < 10; iter++) {
    const grad = richardsonGradient(f, x, 0.01, 1e-3);
    const l = cholesky(richardsonHessian(f, x), k);
    if (l === null || !grad.every(Number.isFinite)) {
      // Not locally convex (e.g. a flat, quartic minimum at θ = 0): accept a vanishing gradient.
      converged = grad.every((g) => Math.abs(g) < 1e-6);
      break;
    }
    const delta = cholSolve(l, k, grad);
    const size = Math.max(...Array.from(delta, Math.abs));
    const scale = Math.max(1, ...x.map(Math.abs));
    if (size <= 1e-6 * scale) converged = true;
    // Accept a step that does not raise the criterion beyond its rounding noise.
    const noise = 1e-13 * Math.max(1, Math.abs(fx));
    let t = 1;
    let moved = false;
    for (let back = 0; back < 30; back++) {
      const y = x.map((xi, i) => xi - t * delta[i]!);
      const fy = f(y);
      if (fy <= fx + noise) {
        x = y;
        fx = Math.min(fx, fy);
        moved = true;
        break;
      }
      t /= 2;
    }
    if (!moved || size <= 1e-10 * scale) break;
  }
  return { x, f: f(x), converged };
}

function minimiseTheta(d: Design): Minimum {
  const k = d.groups > 0 ? 2 : 1;
  const f = (x: number[]) => remlCriterion(d, x);
  // Coarse grid (θ from 0 to 5) for a start, so a far-off local minimum is unlikely.
  const grid = [0, 0.1, 0.3, 1, 3];
  let start = new Array<number>(k).fill(1);
  let fStart = f(start);
  const visit = (x: number[]) => {
    const fx = f(x);
    if (fx < fStart) {
      start = x;
      fStart = fx;
    }
  };
  if (k === 1) for (const a of grid) visit([a]);
  else for (const a of grid) for (const b of grid) visit([a, b]);
  // A start at exactly 0 gives Nelder–Mead nothing to reflect across; nudge it.
  const x0 = start.map((v) => (v === 0 ? 0.05 : v));
  let best = nelderMead(
    f,
    x0,
    x0.map((v) => 0.2 * Math.max(Math.abs(v), 0.25)),
    4000,
  );
  const again = nelderMead(
    f,
    best.x,
    best.x.map((v) => 1e-3 * Math.max(Math.abs(v), 0.1)),
    4000,
  );
  if (again.f <= best.f) best = { ...again, converged: best.converged && again.converged };
  const polished = newtonPolish(f, best);
  let result: Minimum = {
    x: polished.x.map(Math.abs),
    f: polished.f,
    converged: best.converged && polished.converged && Number.isFinite(polished.f),
  };
  // A θ next to 0 whose exact 0 is no worse is the boundary optimum lme4 reports as 0.
  result.x.forEach((v, j) => {
    if (v === 0 || v >= SINGULAR_THETA) return;
    const y = result.x.slice();
    y[j] = 0;
    const fy = f(y);
    if (fy <= result.f + 1e-12 * Math.max(1, Math.abs(result.f)))
      result = { ...result, x: y, f: fy };
  });
  return result;
}

// ---- the fit ----

interface Satterthwaite {
  df: Array<number | null>;
  /** The deviance Hessian has a negative eigenvalue: not a minimum (lmerTest warns "failed to converge"). */
  saddle: boolean;
}

function satterthwaite(d: Design, varpar: number[], cov: Float64Array): Satterthwaite {
  const hess = richardsonHessian((v) => remlDevianceVarpar(d, v), varpar);
  if (!hess.every(Number.isFinite)) return { df: d.terms.map(() => null), saddle: false };
  const k = varpar.length;
  // As lmerTest: eigenvalues at or below the tolerance (a boundary θ with a flat deviance) are
  // left out of the inverse, and the df computed from the rest.
  const { inverse, negative } = symmetricPseudoInverse(hess, k, HESSIAN_EIGEN_TOL);
  const jac = richardsonJacobian((v) => covBetaVarpar(d, v), varpar);
  const df = d.terms.map((_, j) => {
    const g = jac.map((col) => col[j * d.p + j]!);
    let denom = 0;
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) denom += g[a]! * 2 * inverse[a * k + b]! * g[b]!;
    }
    const v = cov[j * d.p + j]!;
    const value = (2 * v * v) / denom;
    return Number.isFinite(value) && value > 0 ? value : null;
  });
  return { df, saddle: negative > 0 };
}

/** Fits the model, or says why it cannot be fitted. */
export function fitMixedModelWithReason(obs: readonly LmmObservation[], opts: LmmOptions): LmmFit {
  const problems = mixedModelInputProblems(obs, opts);
  if (problems.length > 0) return { ok: false, reason: problems.join("; ") };
  const design = buildDesign(obs, opts);
  if (typeof design === "string") return { ok: false, reason: design };
  const d = design;
  const opt = minimiseTheta(d);
  const e = evaluate(d, opt.x);
  if (e === null || !Number.isFinite(opt.f)) {
    return { ok: false, reason: "the REML criterion could not be evaluated (degenerate data)" };
  }
  const nmp = d.n - d.p;
  const sigma2 = e.r2 / nmp;
  // Residual variance at rounding level (below 1e-10 of the scores' variance): the fixed and
  // participant effects reproduce the scores exactly, and every standard error would be noise.
  const yVariance = d.mtm[d.p * d.m + d.p]! / d.n;
  if (!(sigma2 > 1e-10 * yVariance)) {
    return { ok: false, reason: "the scores leave no residual variation (perfect fit)" };
  }
  // β̂ = K⁻¹ XᵀV⁻¹y (y centred, so the intercept gets the mean back).
  // XᵀV⁻¹y from the factor of Q = MᵀV⁻¹M: Q[p, j] = Σ_{k ≤ j} L[j, k]·L[p, k].
  const xtvy = new Float64Array(d.p);
  for (let j = 0; j < d.p; j++) {
    let s = 0;
    for (let k = 0; k <= j; k++) s += e.l[j * d.m + k]! * e.l[d.p * d.m + k]!;
    xtvy[j] = s;
  }
  const beta = cholSolve(e.l, d.m, xtvy, d.p);
  beta[0] = beta[0]! + d.yMean;
  const kInv = cholInverse(e.l, d.m, d.p);
  const cov = kInv.map((v) => v * sigma2);
  const sigma = Math.sqrt(sigma2);
  const theta = opt.x;
  const satt = satterthwaite(d, [...theta, sigma], cov);
  const q975 = (df: number | null) => (df === null ? null : tQuantile(0.975, df));
  const fixed: LmmFixedEffect[] = d.terms.map((term, j) => {
    const estimate = beta[j]!;
    const se = finite(Math.sqrt(cov[j * d.p + j]!));
    const df = satt.df[j] ?? null;
    const t = se !== null && se > 0 ? finite(estimate / se) : null;
    const q = q975(df);
    return {
      term,
      estimate,
      se,
      df,
      t,
      p: t !== null && df !== null ? tTwoSidedP(t, df) : null,
      ciLow: se !== null && q !== null ? finite(estimate - q * se) : null,
      ciHigh: se !== null && q !== null ? finite(estimate + q * se) : null,
    };
  });
  const vPart = sigma2 * theta[0]! ** 2;
  const vGroup = d.groups > 0 ? sigma2 * theta[1]! ** 2 : null;
  const total = vPart + (vGroup ?? 0) + sigma2;
  return {
    ok: true,
    result: {
      fixed,
      variance: { participant: vPart, group: vGroup, residual: sigma2 },
      icc: {
        participant: total > 0 ? finite(vPart / total) : null,
        group: vGroup !== null && total > 0 ? finite(vGroup / total) : null,
      },
      logLikREML: -opt.f / 2,
      n: d.n,
      participants: d.participants,
      groups: d.groups > 0 ? d.groups : null,
      singular: theta.some((t) => t < SINGULAR_THETA),
      converged: opt.converged && !satt.saddle,
    },
  };
}

/** The fit, or null when the design cannot be fitted (see fitMixedModelWithReason for why). */
export function fitMixedModel(obs: readonly LmmObservation[], opts: LmmOptions): LmmResult | null {
  const fit = fitMixedModelWithReason(obs, opts);
  return fit.ok ? fit.result : null;
}

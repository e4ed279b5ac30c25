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
// - ZᵀZ has a diagonal participant block, a diagonal group block and a sparse cross block, so
//   every product with V⁻¹ (Woodbury) needs only per-participant and per-group sums of [X y] and
//   a G×G Schur complement: one evaluation is O(participants · p²), whatever the row count.
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
  const armOf = new Map<string, string>();
  const groupOf = new Map<string, string | null>();
  const seen = new Set<string>();
  const expGroups = new Set<string>();
  obs.forEach((o, i) => {
    const at = `observation ${i + 1}`;
    if (typeof o.participant !== "string" || o.participant === "") {
      problems.push(`${at}: participant is empty`);
      return;
    }
    if (o.arm !== "experimental" && o.arm !== "control") {
      problems.push(`${at}: arm "${String(o.arm)}" is neither experimental nor control`);
    }
    if (!known.has(o.timepoint)) problems.push(`${at}: timepoint "${o.timepoint}" is not listed`);
    if (typeof o.y !== "number" || !Number.isFinite(o.y)) {
      problems.push(`${at}: score ${String(o.y)} is not a finite number`);
    }
    const arm = armOf.get(o.participant);
    if (arm === undefined) armOf.set(o.participant, o.arm);
    else if (arm !== o.arm) problems.push(`participant ${o.participant} is in both arms`);
    if (opts.groupEffect && o.arm === "experimental") {
      if (o.group === null || o.group === "") {
        problems.push(`${at}: experimental participant ${o.participant} has no group`);
      } else expGroups.add(o.group);
      const g = groupOf.get(o.participant);
      if (g === undefined) groupOf.set(o.participant, o.group);
      else if (g !== o.group)
        problems.push(`participant ${o.participant} is in more than one group`);
    }
    const key = `${o.participant}\u0000${o.timepoint}`;
    if (seen.has(key))
      problems.push(`participant ${o.participant} has two scores at ${o.timepoint}`);
    seen.add(key);
  });
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
  /** Rows per participant and per group (ZᵀZ's diagonal blocks). */
  nPart: Float64Array;
  nGroup: Float64Array;
  /** Zᵀ M for participants (participants × m) and groups (groups × m). */
  sPart: Float64Array;
  sGroup: Float64Array;
  /** Sparse participant × group counts (ZpᵀZg) in compressed rows: participant i's entries are
   * crossStart[i] .. crossStart[i + 1] − 1 of crossGroup / crossCount. */
  crossStart: Int32Array;
  crossGroup: Int32Array;
  crossCount: Float64Array;
  /** MᵀM. */
  mtm: Float64Array;
}

function buildDesign(obs: readonly LmmObservation[], opts: LmmOptions): Design | string {
  const used = new Set(obs.map((o) => o.timepoint));
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
  const partIndex = new Map<string, number>();
  const groupIndex = new Map<string, number>();
  for (const o of obs) {
    if (!partIndex.has(o.participant)) partIndex.set(o.participant, partIndex.size);
    if (opts.groupEffect && o.arm === "experimental" && !groupIndex.has(o.group!)) {
      groupIndex.set(o.group!, groupIndex.size);
    }
  }
  const P = partIndex.size;
  const G = groupIndex.size;
  const yMean = obs.reduce((s, o) => s + o.y, 0) / n;
  const nPart = new Float64Array(P);
  const nGroup = new Float64Array(G);
  const sPart = new Float64Array(P * m);
  const sGroup = new Float64Array(G * m);
  const crossMaps = Array.from({ length: P }, () => new Map<number, number>());
  const mtm = new Float64Array(m * m);
  const row = new Float64Array(m);
  const T = levels.length - 1;
  for (const o of obs) {
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
    const i = partIndex.get(o.participant)!;
    nPart[i]! += 1;
    for (let c = 0; c < m; c++) sPart[i * m + c]! += row[c]!;
    if (opts.groupEffect && exp === 1) {
      const g = groupIndex.get(o.group!)!;
      nGroup[g]! += 1;
      for (let c = 0; c < m; c++) sGroup[g * m + c]! += row[c]!;
      crossMaps[i]!.set(g, (crossMaps[i]!.get(g) ?? 0) + 1);
    }
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) mtm[r * m + c]! += row[r]! * row[c]!;
    }
  }
  // R's checks: the fixed effects need n > p, and lme4 stops when a grouping factor has as many
  // levels as there are rows or the random effects (the control placeholder level included)
  // are at least as many as the rows.
  if (n <= p) return `${n} observations for ${p} fixed effects`;
  if (P >= n) return `every participant has a single observation (${n} observations)`;
  const q = P + (opts.groupEffect ? G + 1 : 0);
  if (q >= n) return `${n} observations for ${q} random effects`;
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
    nPart,
    nGroup,
    sPart,
    sGroup,
    ...compressCross(crossMaps),
    mtm,
  };
}

function compressCross(
  maps: ReadonlyArray<Map<number, number>>,
): Pick<Design, "crossStart" | "crossGroup" | "crossCount"> {
  const crossStart = new Int32Array(maps.length + 1);
  maps.forEach((mp, i) => (crossStart[i + 1] = crossStart[i]! + mp.size));
  const crossGroup = new Int32Array(crossStart[maps.length]!);
  const crossCount = new Float64Array(crossGroup.length);
  maps.forEach((mp, i) => {
    let at = crossStart[i]!;
    for (const [g, count] of mp) {
      crossGroup[at] = g;
      crossCount[at] = count;
      at++;
    }
  });
  return { crossStart, crossGroup, crossCount };
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

/** MᵀV⁻¹M and log|A| at θ = (θ_participant[, θ_group]), by Woodbury on the block structure. */
function evaluate(d: Design, theta: readonly number[]): Evaluation | null {
  const { m, p, participants: P, groups: G } = d;
  const tp = Math.abs(theta[0]!);
  const tg = G > 0 ? Math.abs(theta[1]!) : 0;
  const q = Float64Array.from(d.mtm);
  let logDetA = 0;
  // Participant block: subtract Bp_i Bp_iᵀ / Dp_i with Bp_i = θp·s_i, Dp_i = 1 + θp²·n_i.
  const tp2 = tp * tp;
  const wPart = new Float64Array(P);
  const { nPart, sPart } = d;
  for (let i = 0; i < P; i++) {
    const di = 1 + tp2 * nPart[i]!;
    logDetA += Math.log(di);
    const w = tp2 / di;
    wPart[i] = 1 / di;
    if (w === 0) continue;
    const off = i * m;
    for (let r = 0; r < m; r++) {
      const sr = w * sPart[off + r]!;
      if (sr === 0) continue;
      for (let c = r; c < m; c++) q[r * m + c]! -= sr * sPart[off + c]!;
    }
  }
  if (G > 0) {
    // Group block after eliminating participants: S = Dg − EᵀDp⁻¹E, R = Bg − EᵀDp⁻¹Bp,
    // E = θpθg·C; then MᵀV⁻¹M −= RᵀS⁻¹R and log|A| += log|S|.
    const s = new Float64Array(G * G);
    const rg = new Float64Array(G * m);
    for (let g = 0; g < G; g++) {
      s[g * G + g] = 1 + tg * tg * d.nGroup[g]!;
      for (let c = 0; c < m; c++) rg[g * m + c] = tg * d.sGroup[g * m + c]!;
    }
    const tpg = tp * tg;
    const { crossStart, crossGroup, crossCount } = d;
    for (let i = 0; i < P; i++) {
      const from = crossStart[i]!;
      const to = crossStart[i + 1]!;
      if (from === to) continue;
      const inv = wPart[i]!;
      for (let a = from; a < to; a++) {
        const g = crossGroup[a]!;
        const eg = tpg * crossCount[a]!;
        for (let b = from; b < to; b++) {
          s[g * G + crossGroup[b]!]! -= eg * tpg * crossCount[b]! * inv;
        }
        const f = eg * tp * inv;
        for (let c = 0; c < m; c++) rg[g * m + c]! -= f * sPart[i * m + c]!;
      }
    }
    const ls = cholesky(s, G);
    if (ls === null) return null;
    logDetA += cholLogDet(ls, G);
    // RᵀS⁻¹R = (Ls⁻¹R)ᵀ(Ls⁻¹R): forward-solve each column of R.
    const y = new Float64Array(G * m);
    for (let c = 0; c < m; c++) {
      for (let g = 0; g < G; g++) {
        let v = rg[g * m + c]!;
        for (let h = 0; h < g; h++) v -= ls[g * G + h]! * y[h * m + c]!;
        y[g * m + c] = v / ls[g * G + g]!;
      }
    }
    for (let r = 0; r < m; r++) {
      for (let c = r; c < m; c++) {
        let v = 0;
        for (let g = 0; g < G; g++) v += y[g * m + r]! * y[g * m + c]!;
        q[r * m + c]! -= v;
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

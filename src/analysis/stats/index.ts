// Circle's statistics library: pure functions on plain number arrays, no database, no bot.
// Every function returns null for what cannot be computed — never NaN, Infinity or a throw.
export { describe, sampleSd, type Description } from "./descriptives.js";
export {
  erfc,
  incompleteBeta,
  normalCdf,
  normalTwoSidedP,
  tCdf,
  tQuantile,
  tTwoSidedP,
} from "./distributions.js";
export { pairedT, welchT, type Interval, type PairedT, type WelchT } from "./t.js";
export { ancova, type Ancova } from "./regression.js";
export {
  mannWhitney,
  wilcoxonSignedRank,
  type RankMethod,
  type RankSum,
  type SignedRank,
} from "./nonparametric.js";
export {
  hedgesG,
  hedgesJ,
  morrisDppc2,
  type Dppc2,
  type HedgesG,
  type PrePostControlInput,
} from "./effect-sizes.js";
export {
  RCI_THRESHOLD,
  cronbachAlpha,
  rci,
  type Alpha,
  type ChangeClass,
  type Rci,
  type RciInput,
} from "./reliability.js";
export { pearson, type Pearson } from "./correlation.js";
export { holm } from "./holm.js";

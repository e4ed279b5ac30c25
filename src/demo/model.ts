// The seeded answer model the demo plays: each child has a latent level per dimension; boys start
// lower; the experimental arm improves more between pre and post, most in social-behaviour
// patterns and interpersonal cognition (as in the study Circle comes from), and keeps most of it
// at the follow-up three months later; each experimental group adds a small shift of its own
// after the sessions (a group effect). Answers are the latent level plus noise, mapped onto each
// item's scale (reverse-keyed items answered inversely).
import type { Instrument, Item } from "../study/model.js";
import { seededRandom } from "../usecases/random.js";

export interface Child {
  code: string;
  arm: "experimental" | "control" | null;
  /** The group the child is in (experimental children meet in one of several groups). */
  group: string | null;
  gender: "male" | "female";
  ageYears: number;
}

/** Improvement (in SD units of the latent scale) from pre to post, per arm and dimension. */
const GAIN: Record<string, { experimental: number; control: number }> = {
  active_expression: { experimental: 0.45, control: 0.1 },
  peer_acceptance: { experimental: 0.4, control: 0.1 },
  group_integration: { experimental: 0.45, control: 0.05 },
  social_learning: { experimental: 0.4, control: 0.1 },
  behaviour_patterns: { experimental: 0.9, control: 0.1 },
  interpersonal_cognition: { experimental: 0.85, control: 0.05 },
};
const QOL_GAIN = { experimental: 0.35, control: 0.1 };
/** Share of the post gain still there at the follow-up, per arm. */
const KEPT_AT_FOLLOW_UP = { experimental: 0.7, control: 1 };

function normal(rnd: () => number): number {
  // Box–Muller
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

export class AnswerModel {
  private readonly latent = new Map<string, number>();
  /**
   * `groupEffects`: the shift (latent SD units) each experimental group gives its children from
   * the post-test on — one group's sessions went a little better than another's.
   */
  constructor(
    private readonly seed: number,
    private readonly groupEffects: Readonly<Record<string, number>> = {},
  ) {}

  private level(child: Child, dimension: string): number {
    const key = `${child.code}|${dimension}`;
    let v = this.latent.get(key);
    if (v === undefined) {
      const rnd = seededRandom(this.seed, "latent", key);
      // Boys start lower (about half an SD), as observed in the original study.
      v = normal(rnd) * 0.8 + (child.gender === "male" ? -0.5 : 0.1);
      this.latent.set(key, v);
    }
    return v;
  }

  /** The value a respondent gives to an item (a valid option value or number), or null to skip. */
  answer(
    child: Child,
    instrument: Instrument,
    item: Item,
    timepoint: string,
    salt = "",
  ): number | null {
    const rnd = seededRandom(
      this.seed,
      "answer",
      child.code,
      instrument.id,
      item.id,
      timepoint,
      salt,
    );
    if (item.min === null || item.max === null) return null;
    const dimension = item.subscale ?? instrument.id;
    const isQol = instrument.transform === "0-100";
    let z = this.level(child, isQol ? `qol:${dimension}` : dimension);
    if ((timepoint === "post" || timepoint === "follow-up") && child.arm) {
      const g = isQol ? QOL_GAIN[child.arm] : (GAIN[dimension]?.[child.arm] ?? 0.2);
      const kept = timepoint === "follow-up" ? KEPT_AT_FOLLOW_UP[child.arm] : 1;
      z += g * kept * (1 + 0.3 * normal(rnd));
      if (child.arm === "experimental" && child.group) z += this.groupEffects[child.group] ?? 0;
    }
    z += 0.55 * normal(rnd);
    // Map z onto the item's range: 0 → the midpoint, ±2 → the ends.
    let frac = Math.min(1, Math.max(0, 0.5 + z / 4));
    // A QoL item asks about problems: good quality of life means low raw answers.
    if (isQol) frac = 1 - frac;
    if (item.reverse && !isQol) frac = 1 - frac;
    const raw = item.min + frac * (item.max - item.min);
    if (item.type === "number") return Math.round(raw);
    const values = item.options.map((o) => o.value);
    return values.reduce(
      (best, v) => (Math.abs(v - raw) < Math.abs(best - raw) ? v : best),
      values[0]!,
    );
  }

  /** Satisfaction ratings (0–10) after a session: mostly high, sometimes a low one. */
  satisfaction(child: Child, session: number, item: Item): number {
    const rnd = seededRandom(this.seed, "sat", child.code, session, item.id);
    const base = 8.6 + 0.15 * session + normal(rnd) * 0.9 - (rnd() < 0.06 ? 3 : 0);
    const values = item.options.map((o) => o.value);
    const v = Math.round(Math.min(item.max ?? 10, Math.max(item.min ?? 0, base)));
    return values.includes(v) ? v : values[values.length - 1]!;
  }

  /** A 1–5 observation rating on a dimension, improving over the sessions. */
  observation(child: Child, session: number, dimension: string): number {
    const rnd = seededRandom(this.seed, "obs", child.code, session, dimension);
    const z = this.level(child, dimension) + 0.12 * session + 0.5 * normal(rnd);
    return Math.min(5, Math.max(1, Math.round(3 + z)));
  }

  chance(p: number, ...key: (string | number)[]): boolean {
    return seededRandom(this.seed, "chance", ...key)() < p;
  }
}

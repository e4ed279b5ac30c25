// Shared by the reliability tests: counts for `npm test` vs `npm run test:stress`, a seeded
// random source, and the bot's English texts as the user sees them (HTML removed).
import { createI18n, translator } from "../../../src/telegram/i18n.js";
import { parseHtml } from "../../../src/sandbox/index.js";

/** `npm run test:stress` sets STRESS=1: full counts. Plain `npm test` runs small ones. */
export const STRESS = process.env.STRESS === "1" || process.env.STRESS === "true";

export function counts<T>(quick: T, stress: T): T {
  return STRESS ? stress : quick;
}

/** RELIABILITY_SEED reproduces a run's schedule (kills, answers, fault placement). */
export const SEED = Number(process.env.RELIABILITY_SEED ?? 20_240_611);

/** mulberry32: small, fast, good enough to place kills and pick answers reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: () => number, min: number, maxInclusive: number): number {
  return min + Math.floor(random() * (maxInclusive - min + 1));
}

const tr = translator(createI18n("en", () => "en") as never);

/** A bot text in English as it appears on the user's screen (entities stripped). */
export function botText(key: string, vars: Record<string, string | number> = {}): string {
  return parseHtml(tr("en", key, vars)).text;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export function seconds(sinceMs: number): string {
  return ((Date.now() - sinceMs) / 1000).toFixed(1);
}

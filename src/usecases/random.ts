// Seeded pseudo-random numbers for reproducible allocation sequences (mulberry32 over a
// SHA-256-derived seed). Not for secrets: invite codes use crypto.randomBytes.
import { createHash } from "node:crypto";

export function seededRandom(...seedParts: (string | number)[]): () => number {
  const digest = createHash("sha256").update(seedParts.join("\u0000")).digest();
  let a = digest.readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle with the given generator (returns a new array). */
export function shuffle<T>(items: readonly T[], rnd: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

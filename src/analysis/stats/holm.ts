// Holm (1979) step-down adjustment within one family of tests (domain.md §4.7), as R's
// p.adjust(p, "holm"): missing p-values are kept in place and do not count towards m.

/**
 * Holm-adjusted p-values in input order: p̃(i) = max_{j≤i} min(1, (m − j + 1)·p(j)) over the
 * sorted valid p-values. Null rules: an entry that is null, not finite or outside [0, 1] stays
 * null and is not counted in m.
 */
export function holm(ps: readonly (number | null)[]): (number | null)[] {
  const valid = ps.flatMap((p, i) =>
    p !== null && Number.isFinite(p) && p >= 0 && p <= 1 ? [i] : [],
  );
  const order = valid.sort((a, b) => ps[a]! - ps[b]!);
  const m = order.length;
  const out: (number | null)[] = ps.map(() => null);
  let running = 0;
  order.forEach((idx, j) => {
    running = Math.max(running, Math.min(1, (m - j) * ps[idx]!));
    out[idx] = running;
  });
  return out;
}

// Small dense linear algebra for the mixed model: symmetric matrices of a few rows (fixed effects,
// variance parameters, experimental groups), stored row-major in Float64Array.
// Numerical derivatives reproduce numDeriv's Richardson scheme, which lmerTest uses for the
// Satterthwaite degrees of freedom: same steps, same extrapolation, so both land on the same digits.

/** Lower Cholesky factor of a symmetric positive-definite n×n matrix, or null when not PD. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! * l[j * n + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** log det of the matrix whose Cholesky factor is l, over its leading `upto` rows. */
export function cholLogDet(l: Float64Array, n: number, upto = n): number {
  let s = 0;
  for (let j = 0; j < upto; j++) s += Math.log(l[j * n + j]!);
  return 2 * s;
}

/** Solves (L Lᵀ) x = b for the leading k×k block of an n×n factor l. */
export function cholSolve(l: Float64Array, n: number, b: ArrayLike<number>, k = n): Float64Array {
  const x = Float64Array.from({ length: k }, (_, i) => b[i]!);
  for (let i = 0; i < k; i++) {
    let s = x[i]!;
    for (let j = 0; j < i; j++) s -= l[i * n + j]! * x[j]!;
    x[i] = s / l[i * n + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let j = i + 1; j < k; j++) s -= l[j * n + i]! * x[j]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/** Inverse of the leading k×k block of L Lᵀ (symmetric), from its factor l (n×n). */
export function cholInverse(l: Float64Array, n: number, k = n): Float64Array {
  const inv = new Float64Array(k * k);
  const e = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    e.fill(0);
    e[c] = 1;
    const col = cholSolve(l, n, e, k);
    for (let r = 0; r < k; r++) inv[r * k + c] = col[r]!;
  }
  for (let r = 0; r < k; r++) {
    for (let c = r + 1; c < k; c++) {
      const s = (inv[r * k + c]! + inv[c * k + r]!) / 2;
      inv[r * k + c] = s;
      inv[c * k + r] = s;
    }
  }
  return inv;
}

export interface SymmetricEigen {
  values: number[];
  /** Column j of the row-major n×n matrix is the eigenvector of values[j]. */
  vectors: Float64Array;
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations. */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += m[i * n + i]! * m[i * n + i]!;
      for (let j = i + 1; j < n; j++) off += m[i * n + j]! * m[i * n + j]!;
    }
    if (off <= 1e-32 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const tau = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Array.from({ length: n }, (_, i) => m[i * n + i]!), vectors: v };
}

/**
 * Moore–Penrose inverse of a symmetric matrix over its eigenvalues above `tol`, as lmerTest
 * inverts the deviance Hessian (eigenvalues at or below tol are left out). Also returns how many
 * eigenvalues were below −tol (a saddle or maximum, not a minimum).
 */
export function symmetricPseudoInverse(
  a: Float64Array,
  n: number,
  tol: number,
): { inverse: Float64Array; negative: number; dropped: number } {
  const { values, vectors } = symmetricEigen(a, n);
  const inverse = new Float64Array(n * n);
  let negative = 0;
  let dropped = 0;
  values.forEach((lambda, j) => {
    if (lambda < -tol) negative++;
    if (!(lambda > tol)) {
      dropped++;
      return;
    }
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        inverse[r * n + c]! += (vectors[r * n + j]! * vectors[c * n + j]!) / lambda;
      }
    }
  });
  return { inverse, negative, dropped };
}

// ---- Richardson-extrapolated derivatives (numDeriv's defaults) ----

/** numDeriv's zero.tol: coordinates smaller than this get the absolute step eps instead. */
const ZERO_TOL = Math.sqrt(Number.EPSILON / 7e-7);
const RICHARDSON_LEVELS = 4;

function initialSteps(x: readonly number[], d: number, eps: number): number[] {
  return x.map((xi) => Math.abs(d * xi) + (Math.abs(xi) < ZERO_TOL ? eps : 0));
}

/** Richardson extrapolation of estimates made with steps h, h/2, h/4, h/8 (error O(h²) each). */
function extrapolate(a: number[]): number {
  const t = a.slice();
  for (let m = 1; m < t.length; m++) {
    const w = 4 ** m;
    for (let k = 0; k < t.length - m; k++) t[k] = (t[k + 1]! * w - t[k]!) / (w - 1);
  }
  return t[0]!;
}

function shifted(x: readonly number[], steps: Array<[number, number]>): number[] {
  const y = x.slice();
  for (const [i, h] of steps) y[i] = y[i]! + h;
  return y;
}

/**
 * Hessian of a scalar function by Richardson extrapolation of central differences, with
 * numDeriv::hessian's defaults (relative step d = 0.1, eps = 1e-4, 4 levels halving the step).
 */
export function richardsonHessian(f: (x: number[]) => number, x: readonly number[]): Float64Array {
  const n = x.length;
  const h0 = initialSteps(x, 0.1, 1e-4);
  const f0 = f(x.slice());
  const diag: number[] = [];
  for (let i = 0; i < n; i++) {
    const est: number[] = [];
    let h = h0[i]!;
    for (let k = 0; k < RICHARDSON_LEVELS; k++) {
      const f1 = f(shifted(x, [[i, h]]));
      const f2 = f(shifted(x, [[i, -h]]));
      est.push((f1 - 2 * f0 + f2) / (h * h));
      h /= 2;
    }
    diag.push(extrapolate(est));
  }
  const hess = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    hess[i * n + i] = diag[i]!;
    for (let j = 0; j < i; j++) {
      const est: number[] = [];
      let hi = h0[i]!;
      let hj = h0[j]!;
      for (let k = 0; k < RICHARDSON_LEVELS; k++) {
        const f1 = f(
          shifted(x, [
            [i, hi],
            [j, hj],
          ]),
        );
        const f2 = f(
          shifted(x, [
            [i, -hi],
            [j, -hj],
          ]),
        );
        est.push((f1 - 2 * f0 + f2 - diag[i]! * hi * hi - diag[j]! * hj * hj) / (2 * hi * hj));
        hi /= 2;
        hj /= 2;
      }
      const v = extrapolate(est);
      hess[i * n + j] = v;
      hess[j * n + i] = v;
    }
  }
  return hess;
}

/**
 * Gradient of a scalar function by Richardson extrapolation of central differences, starting
 * from step |d·x| (+ eps where x is next to 0). Large starting steps keep rounding noise small;
 * the extrapolation removes the truncation error.
 */
export function richardsonGradient(
  f: (x: number[]) => number,
  x: readonly number[],
  d: number,
  eps: number,
): number[] {
  const h0 = initialSteps(x, d, eps);
  return x.map((_, i) => {
    const est: number[] = [];
    let h = h0[i]!;
    for (let k = 0; k < RICHARDSON_LEVELS; k++) {
      est.push((f(shifted(x, [[i, h]])) - f(shifted(x, [[i, -h]]))) / (2 * h));
      h /= 2;
    }
    return extrapolate(est);
  });
}

/**
 * Jacobian of a vector function (columns = coordinates of x) by Richardson extrapolation of
 * central differences, with numDeriv::jacobian's defaults (d = 1e-4, eps = 1e-4, 4 levels).
 */
export function richardsonJacobian(
  f: (x: number[]) => ArrayLike<number>,
  x: readonly number[],
): number[][] {
  const h0 = initialSteps(x, 1e-4, 1e-4);
  return x.map((_, i) => {
    const levels: Array<ArrayLike<number>> = [];
    let h = h0[i]!;
    for (let k = 0; k < RICHARDSON_LEVELS; k++) {
      const f1 = f(shifted(x, [[i, h]]));
      const f2 = f(shifted(x, [[i, -h]]));
      levels.push(Array.from(f1, (v, r) => (v - f2[r]!) / (2 * h)));
      h /= 2;
    }
    const len = levels[0]!.length;
    return Array.from({ length: len }, (_, r) => extrapolate(levels.map((l) => l[r]!)));
  });
}

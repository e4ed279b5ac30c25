// Types for the small part of jStat 1.9 that Circle uses (the package ships none).
// The package is CommonJS: `module.exports = jStat`, so it is imported as a default import.
declare module "jstat" {
  interface JStatStudentT {
    /** P(T ≤ x) for Student t with `dof` degrees of freedom (fractional dof allowed). */
    cdf(x: number, dof: number): number;
    /** Quantile: the x with P(T ≤ x) = p. Accurate to about 1e-8 relative. */
    inv(p: number, dof: number): number;
  }

  interface JStatStatic {
    studentt: JStatStudentT;
    /** Error function; Chebyshev fit with about 1e-16 absolute error. */
    erf(x: number): number;
  }

  const jStat: JStatStatic;
  export default jStat;
}

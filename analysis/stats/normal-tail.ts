/**
 * The standard normal distribution's two-sided tail, P(|Z| ≥ z), through the complementary
 * error function. erfc is the Chebyshev fit of Numerical Recipes (erfcc, fractional error
 * below 1.2e-7 everywhere), which keeps tiny p-values accurate in relative terms, where
 * 1 − Φ(z) computed by subtraction would round to 0.
 */

/** erfc(x) for any real x. */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(|Z| ≥ |z|) for a standard normal Z: the two-sided p-value of a z statistic. */
export function twoSidedNormalP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/**
 * Requests that run close together share the machine's moment (a burst of other work slows a
 * run of them at once), so a capture's latencies are serially correlated and n requests carry
 * less evidence than n independent draws. Under an AR(1) model the variance of a mean grows by
 * (1 + ρ)/(1 − ρ), ρ the lag-1 autocorrelation: the rank tests divide their n by that factor.
 */
import { rankWithTies } from './rank-with-ties.ts';

/** Largest ρ used: beyond it one slow stretch would make any test powerless. */
export const MAX_RHO = 0.9;

/** r₁ = Σ (x_t − x̄)(x_{t+1} − x̄) / Σ (x_t − x̄)², the standard lag-1 estimator; 0 for fewer than 3 values or a constant series. */
export function lag1Autocorrelation(series: readonly number[]): number {
  const n = series.length;
  if (n < 3) return 0;
  const m = series.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let den = 0;
  for (let t = 0; t < n; t++) {
    const d = (series[t] as number) - m;
    den += d * d;
    if (t + 1 < n) num += d * ((series[t + 1] as number) - m);
  }
  return den === 0 ? 0 : num / den;
}

/**
 * (1 + ρ)/(1 − ρ) for the lag-1 autocorrelation of the series' ranks (so one huge outlier does
 * not set it), ρ clamped to [0, MAX_RHO]: 1 for independent or alternating values.
 */
export function varianceInflation(seriesInTimeOrder: readonly number[]): number {
  const rho = Math.min(MAX_RHO, Math.max(0, lag1Autocorrelation(Array.from(rankWithTies(seriesInTimeOrder).ranks))));
  return (1 + rho) / (1 - rho);
}

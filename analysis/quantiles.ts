/**
 * Exact quantiles by the nearest-rank method: the q-quantile of n sorted values is the value at
 * rank ceil(q·n) (1-based), so every quantile is a value that was observed. Sorting makes this
 * O(n log n); no sketch, no interpolation.
 */

/** Latency quantiles, milliseconds. */
export interface Quantiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** A per-request count's distribution (queries, file operations, bytes). */
export interface CountDistribution {
  readonly median: number;
  readonly p90: number;
  readonly max: number;
}

export const ZERO_QUANTILES: Quantiles = { p50: 0, p90: 0, p99: 0, max: 0 };

/** The nearest-rank q-quantile (0 < q ≤ 1) of values sorted ascending; 0 when there are none. */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** p50, p90, p99 and max of `values` (not modified). */
export function quantilesOf(values: readonly number[]): Quantiles {
  const s = ascending(values);
  return { p50: quantileOfSorted(s, 0.5), p90: quantileOfSorted(s, 0.9), p99: quantileOfSorted(s, 0.99), max: s.length ? (s[s.length - 1] as number) : 0 };
}

/** Median, p90 and max of `values` (not modified). */
export function distributionOf(values: readonly number[]): CountDistribution {
  const s = ascending(values);
  return { median: quantileOfSorted(s, 0.5), p90: quantileOfSorted(s, 0.9), max: s.length ? (s[s.length - 1] as number) : 0 };
}

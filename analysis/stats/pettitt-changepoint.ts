/**
 * Pettitt's test for one change in the level of a series: U_k = 2·Σ_{i≤k} r_i − k(n+1) over the
 * midranks r of the whole series, K = max |U_k|, at the k where the split is most unbalanced,
 * and the approximate p-value 2·exp(−6K²/(n³+n²)). Rank-based, so a few huge outliers do not
 * make a change, and no distribution is assumed.
 */
import { rankWithTies } from './rank-with-ties.ts';

export interface PettittResult {
  /** Values before the change: indexes 0 … k−1; after: k … n−1. */
  readonly k: number;
  readonly statistic: number;
  readonly p: number;
}

/**
 * The most likely single change point of `series` (not modified), splitting it into parts of at
 * least `minSegment` values; null when the series is too short for two such parts.
 */
export function pettittChangepoint(series: readonly number[], minSegment = 1): PettittResult | null {
  const n = series.length;
  if (n < 2 * Math.max(1, minSegment)) return null;
  const { ranks } = rankWithTies(series);
  let sum = 0;
  let best = -1;
  let bestK = 0;
  for (let k = 1; k < n; k++) {
    sum += ranks[k - 1] as number;
    if (k < minSegment || n - k < minSegment) continue;
    const u = Math.abs(2 * sum - k * (n + 1));
    if (u > best) {
      best = u;
      bestK = k;
    }
  }
  const p = Math.min(1, 2 * Math.exp((-6 * best * best) / (n * n * n + n * n)));
  return { k: bestK, statistic: best, p };
}

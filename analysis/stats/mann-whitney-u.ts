/**
 * The Mann-Whitney U test (Wilcoxon rank-sum), two-sided. Exact when there are no ties and the
 * samples are small (the null distribution of U counted by the Gaussian binomial coefficient);
 * otherwise the normal approximation with the tie-corrected variance and a continuity
 * correction of 0.5. Serially correlated samples (see serial-correlation.ts) widen that variance
 * by their inflation factors, and are never tested exactly.
 */
import { twoSidedNormalP } from './normal-tail.ts';
import { rankWithTies } from './rank-with-ties.ts';

export interface MannWhitneyResult {
  /** U of B: pairs (a, b) with b > a, plus half the tied pairs. 0 … nA·nB. */
  readonly uB: number;
  readonly nA: number;
  readonly nB: number;
  /** Two-sided p-value. */
  readonly p: number;
  readonly method: 'exact' | 'normal';
  /** The z statistic of the normal approximation, continuity-corrected (absent when exact). */
  readonly z?: number;
}

/** Exact when there are no ties and nA·nB is at most this. */
export const MAX_EXACT_PAIRS = 10_000;

/**
 * Counts of U = 0 … m·n over all C(m+n, m) equally likely rank assignments: the coefficients of
 * ∏_{i=1..m} (1 − q^(n+i)) / (1 − q^i). Each factor keeps the coefficients non-negative
 * integers (as doubles: C(m+n, m) beyond 2^53 is approximate, relatively exact enough).
 */
export function uDistribution(m: number, n: number): Float64Array {
  const size = m * n + 1;
  let poly = new Float64Array(size);
  poly[0] = 1;
  for (let i = 1; i <= m; i++) {
    const next = new Float64Array(size);
    const shift = n + i;
    for (let k = 0; k < size; k++) next[k] = (poly[k] as number) - (k >= shift ? (poly[k - shift] as number) : 0);
    // Dividing by (1 − q^i): c[k] = a[k] + c[k − i].
    for (let k = i; k < size; k++) next[k] = (next[k] as number) + (next[k - i] as number);
    poly = next;
  }
  return poly;
}

export interface MannWhitneyOptions {
  /** Variance inflation of each sample (1: independent values). */
  readonly inflationA?: number;
  readonly inflationB?: number;
}

/** Two-sided Mann-Whitney U test of `a` against `b` (neither modified). Both must be non-empty. */
export function mannWhitneyU(a: readonly number[], b: readonly number[], options: MannWhitneyOptions = {}): MannWhitneyResult {
  const nA = a.length;
  const nB = b.length;
  if (nA === 0 || nB === 0) throw new Error('mannWhitneyU: both samples need at least one value');
  const { ranks, tieTerm } = rankWithTies([...a, ...b]);
  let rankSumB = 0;
  for (let i = nA; i < nA + nB; i++) rankSumB += ranks[i] as number;
  const uB = rankSumB - (nB * (nB + 1)) / 2;
  const pairs = nA * nB;
  const uMin = Math.min(uB, pairs - uB);
  const inflationA = Math.max(1, options.inflationA ?? 1);
  const inflationB = Math.max(1, options.inflationB ?? 1);
  if (tieTerm === 0 && pairs <= MAX_EXACT_PAIRS && inflationA === 1 && inflationB === 1) {
    const counts = uDistribution(Math.min(nA, nB), Math.max(nA, nB));
    let total = 0;
    for (const c of counts) total += c;
    let tail = 0;
    for (let u = 0; u <= uMin; u++) tail += counts[u] as number;
    return { uB, nA, nB, p: Math.min(1, (2 * tail) / total), method: 'exact' };
  }
  const n = nA + nB;
  // Var(U/(nA·nB)) ≈ (1/12)(V_A/nA + V_B/nB): the independent variance times this factor.
  const inflation = (nB * inflationA + nA * inflationB) / (nA + nB);
  const variance = (pairs / 12) * (n + 1 - tieTerm / (n * (n - 1))) * inflation;
  if (variance <= 0) return { uB, nA, nB, p: 1, method: 'normal', z: 0 };
  const z = Math.max(0, Math.abs(uB - pairs / 2) - 0.5) / Math.sqrt(variance);
  return { uB, nA, nB, p: twoSidedNormalP(z), method: 'normal', z: uB >= pairs / 2 ? z : -z };
}

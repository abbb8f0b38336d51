/**
 * Cliff's delta: P(b > a) − P(b < a) over all pairs, −1 … 1; positive when B tends to be larger.
 * From Mann-Whitney's U of B: δ = 2·U_B / (nA·nB) − 1.
 */
import type { MannWhitneyResult } from './mann-whitney-u.ts';

export function cliffsDelta(u: Pick<MannWhitneyResult, 'uB' | 'nA' | 'nB'>): number {
  return (2 * u.uB) / (u.nA * u.nB) - 1;
}

/** Romano et al.'s bands for |δ|: negligible < 0.147 ≤ small < 0.33 ≤ medium < 0.474 ≤ large. */
export function cliffsMagnitude(delta: number): 'negligible' | 'small' | 'medium' | 'large' {
  const d = Math.abs(delta);
  return d < 0.147 ? 'negligible' : d < 0.33 ? 'small' : d < 0.474 ? 'medium' : 'large';
}

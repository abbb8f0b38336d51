/**
 * Benjamini-Hochberg adjusted p-values (q-values): rejecting every hypothesis with q ≤ α keeps
 * the expected share of false discoveries among the rejections at most α.
 */

/** q_(i) = min over j ≥ i of p_(j)·m/j, in the order of `pValues` (not modified); capped at 1. */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => (pValues[i] as number) - (pValues[j] as number) || i - j);
  const q = new Array<number>(m).fill(1);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const i = order[r] as number;
    running = Math.min(running, ((pValues[i] as number) * m) / (r + 1));
    q[i] = Math.min(1, running);
  }
  return q;
}

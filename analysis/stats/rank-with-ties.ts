/** Midranks of a pooled sample, and the tie term the rank tests correct their variance with. */

export interface Ranked {
  /** 1-based ranks, ties sharing the mean of the ranks they span; in the input's order. */
  readonly ranks: Float64Array;
  /** Σ (t³ − t) over groups of t tied values (0 when all values differ). */
  readonly tieTerm: number;
}

/** Ranks `values` (not modified). O(n log n). */
export function rankWithTies(values: readonly number[]): Ranked {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (values[i] as number) - (values[j] as number));
  const ranks = new Float64Array(n);
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && values[order[j] as number] === values[order[i] as number]) j++;
    // Positions i..j-1 hold one value: ranks i+1..j, mean (i+1+j)/2.
    const mid = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) ranks[order[k] as number] = mid;
    const t = j - i;
    if (t > 1) tieTerm += t * t * t - t;
    i = j;
  }
  return { ranks, tieTerm };
}

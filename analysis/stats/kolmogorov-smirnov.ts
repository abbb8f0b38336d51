/**
 * The two-sample Kolmogorov-Smirnov test: D = sup |F_A(x) − F_B(x)| over the pooled values, and
 * its asymptotic two-sided p-value Q_KS(√(nA·nB/(nA+nB)) · D) from the Kolmogorov distribution.
 */

export interface KsResult {
  readonly d: number;
  /** Asymptotic two-sided p-value. */
  readonly p: number;
}

/**
 * Q_KS(λ) = P(K > λ) = 2 Σ_{k≥1} (−1)^(k−1) exp(−2k²λ²). That alternating series converges
 * slowly for small λ, where the theta-function form 1 − (√(2π)/λ) Σ exp(−(2k−1)²π²/(8λ²))
 * converges in a few terms instead.
 */
export function kolmogorovQ(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 1.18) {
    let s = 0;
    for (let k = 1; k <= 6; k++) s += Math.exp(-((2 * k - 1) ** 2) * Math.PI ** 2 / (8 * lambda * lambda));
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let s = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    s += k % 2 === 1 ? term : -term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

/** The largest ECDF gap of `a` and `b` (neither modified; both non-empty). O(n log n). */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) throw new Error('ksStatistic: both samples need at least one value');
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i] as number, y[j] as number);
    // Step past every copy of v on both sides before comparing: ties move both ECDFs at once.
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** The two-sample test; serially correlated samples count as n / inflation values each (see serial-correlation.ts). */
export function kolmogorovSmirnov(a: readonly number[], b: readonly number[], options: { readonly inflationA?: number; readonly inflationB?: number } = {}): KsResult {
  const d = ksStatistic(a, b);
  const na = a.length / Math.max(1, options.inflationA ?? 1);
  const nb = b.length / Math.max(1, options.inflationB ?? 1);
  const ne = (na * nb) / (na + nb);
  return { d, p: kolmogorovQ(Math.sqrt(ne) * d) };
}

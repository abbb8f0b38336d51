/**
 * Comparing traced runs with untraced ones on a host whose speed drifts: each traced run is set
 * against the untraced runs just before and after it, interpolated to its midpoint, so a drift
 * that is linear over a round cancels:
 *
 *   time →   U₁ ──── A ──── B ──── C ──── U₂
 *   baseline of B = U₁ + (U₂ − U₁) × (mid(B) − mid(U₁)) / (mid(U₂) − mid(U₁))
 *
 * and the median over rounds comes with a distribution-free confidence interval. Pure.
 */

export interface TimedValue {
  /** When the run started and ended, ms (any common clock). */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly value: number;
}

const mid = (r: TimedValue): number => (r.startedAtMs + r.endedAtMs) / 2;

/** The untraced value `traced` is compared with: interpolated between its neighbours in time. */
export function interpolatedBaseline(traced: TimedValue, untraced: readonly TimedValue[]): number | null {
  let before: TimedValue | null = null;
  let after: TimedValue | null = null;
  for (const u of untraced) {
    if (mid(u) <= mid(traced) && (before === null || mid(u) > mid(before))) before = u;
    if (mid(u) >= mid(traced) && (after === null || mid(u) < mid(after))) after = u;
  }
  if (before && after && mid(after) > mid(before)) {
    return before.value + ((after.value - before.value) * (mid(traced) - mid(before))) / (mid(after) - mid(before));
  }
  return (before ?? after)?.value ?? null;
}

/** Each traced value over its interpolated baseline, % (runs without one are left out). */
export function pairedOverheadsPct(traced: readonly TimedValue[], untraced: readonly TimedValue[]): number[] {
  const out: number[] = [];
  for (const t of traced) {
    const base = interpolatedBaseline(t, untraced);
    if (base !== null && base > 0) out.push(((t.value - base) / base) * 100);
  }
  return out;
}

export interface MedianInterval {
  readonly median: number;
  /** Order statistics bracketing the median with at least `level` confidence (the whole range when fewer values allow no better). */
  readonly low: number;
  readonly high: number;
  /** The interval's actual coverage, 0..1. */
  readonly level: number;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = Math.pow(0.5, n);
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * The median of `values` and the narrowest interval [x₍ₖ₎, x₍ₙ₋ₖ₊₁₎] whose coverage of the true
 * median is at least `confidence` (sign-test order statistics: no assumption about the shape).
 */
export function medianInterval(values: readonly number[], confidence = 0.9): MedianInterval {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { median: NaN, low: NaN, high: NaN, level: 0 };
  const median = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  let k = 1;
  while (k + 1 <= Math.floor(n / 2) && 1 - 2 * binomialHalfCdf(n, k) >= confidence) k++;
  const level = n === 1 ? 0 : 1 - 2 * binomialHalfCdf(n, k - 1);
  return { median, low: s[k - 1]!, high: s[n - k]!, level };
}

/**
 * A percentile-bootstrap confidence interval for the shift of a quantile between two samples:
 * q(B*) − q(A*) over resamples of each side with replacement, seeded so a report reproduces.
 * A resample is drawn as counts over the sorted sample, so its nearest-rank quantile is one
 * O(n) walk with no sort per replicate.
 */
import { seededRandom } from '../../lab/seeded-random.ts';
import { quantileOfSorted } from '../quantiles.ts';

export interface ShiftInterval {
  /** q(B) − q(A) of the samples themselves. */
  readonly shift: number;
  readonly low: number;
  readonly high: number;
  /** Confidence level, e.g. 0.95. */
  readonly level: number;
}

export interface BootstrapOptions {
  readonly replicates?: number;
  readonly level?: number;
  readonly seed?: number;
}

/** The nearest-rank q-quantile of one resample of `sorted` (size n, drawn with `rand`). */
function resampledQuantile(sorted: readonly number[], q: number, rand: () => number, counts: Uint32Array): number {
  const n = sorted.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[Math.floor(rand() * n)]!++;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  let seen = 0;
  for (let i = 0; i < n; i++) {
    seen += counts[i] as number;
    if (seen >= rank) return sorted[i] as number;
  }
  return sorted[n - 1] as number;
}

/** CI for quantile(B, q) − quantile(A, q) (inputs not modified; both non-empty). */
export function bootstrapQuantileShift(a: readonly number[], b: readonly number[], q: number, options: BootstrapOptions = {}): ShiftInterval {
  if (a.length === 0 || b.length === 0) throw new Error('bootstrapQuantileShift: both samples need at least one value');
  const replicates = options.replicates ?? 1000;
  const level = options.level ?? 0.95;
  const rand = seededRandom(options.seed ?? 1);
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  const ca = new Uint32Array(sa.length);
  const cb = new Uint32Array(sb.length);
  const shifts = new Float64Array(replicates);
  for (let r = 0; r < replicates; r++) shifts[r] = resampledQuantile(sb, q, rand, cb) - resampledQuantile(sa, q, rand, ca);
  shifts.sort();
  const tail = (1 - level) / 2;
  const lowIndex = Math.min(replicates - 1, Math.max(0, Math.floor(tail * replicates)));
  const highIndex = Math.min(replicates - 1, Math.max(0, Math.ceil((1 - tail) * replicates) - 1));
  return { shift: quantileOfSorted(sb, q) - quantileOfSorted(sa, q), low: shifts[lowIndex] as number, high: shifts[highIndex] as number, level };
}

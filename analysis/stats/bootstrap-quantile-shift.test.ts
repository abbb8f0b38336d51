import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../lab/seeded-random.ts';
import { bootstrapQuantileShift } from './bootstrap-quantile-shift.ts';

/** Seeded normal draws (Box-Muller). */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

describe('bootstrap CI of a quantile shift', () => {
  it('is the exact shift, with no width, when each sample is one value repeated', () => {
    expect(bootstrapQuantileShift([5, 5, 5], [7, 7], 0.5)).toEqual({ shift: 2, low: 2, high: 2, level: 0.95 });
    expect(bootstrapQuantileShift([1], [3], 0.99, { replicates: 10 })).toEqual({ shift: 2, low: 2, high: 2, level: 0.95 });
  });

  it('covers a known shift of the median and excludes 0; reproduces with the same seed', () => {
    const a = normals(300, 10, 2, 1);
    const b = normals(300, 13, 2, 2);
    const ci = bootstrapQuantileShift(a, b, 0.5, { seed: 7 });
    expect(ci.low).toBeLessThan(3);
    expect(ci.high).toBeGreaterThan(3);
    expect(ci.low).toBeGreaterThan(0);
    expect(ci.high - ci.low).toBeLessThan(1.5);
    expect(bootstrapQuantileShift(a, b, 0.5, { seed: 7 })).toEqual(ci);
  });

  it('contains 0 for two samples of one distribution', () => {
    const ci = bootstrapQuantileShift(normals(300, 10, 2, 3), normals(300, 10, 2, 4), 0.5);
    expect(ci.low).toBeLessThan(0);
    expect(ci.high).toBeGreaterThan(0);
  });

  it('leaves its inputs alone', () => {
    const a = [3, 1, 2];
    bootstrapQuantileShift(a, [1, 2], 0.5, { replicates: 5 });
    expect(a).toEqual([3, 1, 2]);
  });
});

import { describe, expect, it } from 'vitest';
import { distributionOf, quantileOfSorted, quantilesOf } from './quantiles.ts';

describe('nearest-rank quantiles', () => {
  it('picks the value at rank ceil(q·n)', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(quantilesOf(values)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
    expect(quantilesOf([5, 1, 4, 2, 3])).toEqual({ p50: 3, p90: 5, p99: 5, max: 5 });
    expect(quantileOfSorted([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantileOfSorted([7], 0.99)).toBe(7);
  });

  it('is all zeros for no values, and leaves its input alone', () => {
    expect(quantilesOf([])).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
    const input = [3, 1, 2];
    expect(distributionOf(input)).toEqual({ median: 2, p90: 3, max: 3 });
    expect(input).toEqual([3, 1, 2]);
  });
});

import { describe, expect, it } from 'vitest';
import { rowsByTime } from './rows-by-time.ts';

const byComparison = (ts: readonly number[]): number[] => ts.map((_, i) => i).sort((x, y) => ts[x]! - ts[y]! || x - y);

describe('rowsByTime', () => {
  it('orders rows by time, equal times in row order', () => {
    const ts = [50, 10, 50, 0, 10, 2 ** 40, 7];
    expect(Array.from(rowsByTime(Float64Array.from(ts), ts.length)!)).toEqual(byComparison(ts));
  });

  it('matches a comparison sort on many rows with times near the largest that fit', () => {
    const n = 5000;
    // 13 bits for the row number leave 51 for the time.
    const top = 2 ** 51 - 1;
    const ts = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? top - (i % 3) : (i * 7919) % 1000 * 2 ** 33 + (i % 5)));
    expect(Array.from(rowsByTime(Float64Array.from(ts), n)!)).toEqual(byComparison(ts));
  });

  it('gives null for times it cannot key', () => {
    expect(rowsByTime(Float64Array.from([3, -1]), 2)).toBeNull();
    expect(rowsByTime(Float64Array.from([3, 1.5]), 2)).toBeNull();
    expect(rowsByTime(Float64Array.from([3, 2 ** 63]), 2)).toBeNull();
  });

  it('handles an empty and a one-row column', () => {
    expect(Array.from(rowsByTime(new Float64Array(0), 0)!)).toEqual([]);
    expect(Array.from(rowsByTime(Float64Array.from([9]), 1)!)).toEqual([0]);
  });
});

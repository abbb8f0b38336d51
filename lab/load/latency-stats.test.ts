import { describe, expect, it } from 'vitest';
import { latencyStats, percentile } from './latency-stats.ts';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(s, 50)).toBe(5);
    expect(percentile(s, 90)).toBe(9);
    expect(percentile(s, 99)).toBe(10);
    expect(percentile(s, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('latencyStats', () => {
  it('keeps sub-millisecond precision and leaves the input alone', () => {
    const samples = [0.412, 0.388, 1.25, 0.401];
    const stats = latencyStats(samples);
    expect(stats).toMatchObject({ count: 4, min: 0.388, p50: 0.401, p90: 1.25, p99: 1.25, max: 1.25 });
    expect(stats.mean).toBeCloseTo(0.61275, 9);
    expect(samples).toEqual([0.412, 0.388, 1.25, 0.401]);
  });

  it('reports no samples as count 0', () => {
    expect(latencyStats([]).count).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { cliffsDelta, cliffsMagnitude } from './cliffs-delta.ts';
import { mannWhitneyU } from './mann-whitney-u.ts';

describe("Cliff's delta", () => {
  it('by hand: A 1,2,3 vs B 2,3,4 → 6 pairs B larger, 1 smaller, 2 tied: δ = (6−1)/9', () => {
    expect(cliffsDelta(mannWhitneyU([1, 2, 3], [2, 3, 4]))).toBeCloseTo(5 / 9, 12);
    expect(cliffsDelta(mannWhitneyU([2, 3, 4], [1, 2, 3]))).toBeCloseTo(-5 / 9, 12);
  });

  it('is ±1 for separated samples and 0 for identical ones', () => {
    expect(cliffsDelta(mannWhitneyU([1, 2], [3, 4]))).toBe(1);
    expect(cliffsDelta(mannWhitneyU([3, 4], [1, 2]))).toBe(-1);
    expect(cliffsDelta(mannWhitneyU([1, 2], [1, 2]))).toBe(0);
  });

  it("names Romano's bands", () => {
    expect([0.1, -0.2, 0.4, 0.9].map(cliffsMagnitude)).toEqual(['negligible', 'small', 'medium', 'large']);
  });
});

import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../lab/seeded-random.ts';
import { lag1Autocorrelation, varianceInflation } from './serial-correlation.ts';

describe('serial correlation', () => {
  it('by hand: 1,3,2,4 → deviations −1.5, .5, −.5, 1.5: r₁ = −1.75 / 5', () => {
    expect(lag1Autocorrelation([1, 3, 2, 4])).toBeCloseTo(-0.35, 12);
    expect(lag1Autocorrelation([5, 5, 5])).toBe(0);
    expect(lag1Autocorrelation([1, 2])).toBe(0);
  });

  it('inflation is 1 for independent or alternating values, large for long stretches', () => {
    expect(varianceInflation([1, 9, 2, 8, 3, 7, 4, 6])).toBe(1);
    const r = seededRandom(5);
    const iid = Array.from({ length: 2000 }, () => r());
    expect(varianceInflation(iid)).toBeLessThan(1.15);
    // Ten stretches of 100: ρ ≈ 0.99, clamped to 0.9 → 19.
    const stretches = Array.from({ length: 1000 }, (_, i) => Math.floor(i / 100) % 2);
    expect(varianceInflation(stretches)).toBeCloseTo(19, 6);
  });

  it('works on ranks: 10,30,20,40 has ρ < 0 → 1; an increasing run of six has ρ = 0.5 → 3', () => {
    expect(varianceInflation([10, 30, 20, 40])).toBe(1);
    // Ranks 1..6, x̄ = 3.5: Σ d_t d_{t+1} = (−2.5)(−1.5)+(−1.5)(−.5)+(−.5)(.5)+(.5)(1.5)+(1.5)(2.5) = 8.75; Σ d² = 17.5 → ρ = .5 → 3.
    expect(varianceInflation([1, 2, 3, 10, 11, 12])).toBeCloseTo(3, 12);
  });
});

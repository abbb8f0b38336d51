import { describe, expect, it } from 'vitest';
import { mannWhitneyU, uDistribution } from './mann-whitney-u.ts';

describe('Mann-Whitney U', () => {
  it('is exact for small samples without ties: 1,2,3 vs 4,5,6 (only 1 of C(6,3)=20 splits is as extreme)', () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6])).toEqual({ uB: 9, nA: 3, nB: 3, p: 0.1, method: 'exact' });
    expect(mannWhitneyU([4, 5, 6], [1, 2, 3])).toEqual({ uB: 0, nA: 3, nB: 3, p: 0.1, method: 'exact' });
  });

  it('matches a brute-force enumeration of all 126 splits (python3, itertools)', () => {
    const r = mannWhitneyU([1.1, 2.2, 3.3, 4.4, 9.9], [3.0, 5.0, 6.0, 7.0]);
    expect(r.uB).toBe(14);
    expect(r.method).toBe('exact');
    expect(r.p).toBeCloseTo(0.4126984126984127, 12);
  });

  it("counts U's null distribution as the Gaussian binomial coefficient [18 choose 8]", () => {
    const d = uDistribution(8, 10);
    expect(Array.from(d.slice(0, 6))).toEqual([1, 1, 2, 3, 5, 7]);
    expect(d.reduce((s, x) => s + x, 0)).toBe(43758);
    // Symmetric around m·n/2.
    expect(Array.from(d)).toEqual(Array.from(d).reverse());
    const tail = Array.from(d.slice(0, 16)).reduce((s, x) => s + x, 0);
    expect((2 * tail) / 43758).toBeCloseTo(0.026646556058320763, 14);
  });

  it('uses the tie-corrected normal approximation with continuity correction when values tie', () => {
    // By hand: U_B = 38.5 of 42 pairs; N = 13, tied values 2 (×2), 3 (×4), 4 (×3), 5 (×2)
    // → Σt³−t = 6+60+24+6 = 96; σ² = 42/12·(14 − 96/156) = 46.846…; z = (|38.5−21|−0.5)/σ.
    const r = mannWhitneyU([1, 2, 2, 3, 3, 3, 4], [3, 4, 4, 5, 5, 6]);
    expect(r.method).toBe('normal');
    expect(r.uB).toBe(38.5);
    expect(r.z).toBeCloseTo(17 / Math.sqrt((42 / 12) * (14 - 96 / 156)), 10);
    expect(r.z).toBeCloseTo(2.483773282901211, 9);
    expect(r.p).toBeCloseTo(0.012999854364387314, 6);
  });

  it('gives p = 1 for identical samples and a signed z (negative when B is smaller)', () => {
    expect(mannWhitneyU([5, 5, 5], [5, 5]).p).toBe(1);
    const big = Array.from({ length: 150 }, (_, i) => i);
    const r = mannWhitneyU(big.map((x) => x + 40), big);
    expect(r.method).toBe('normal');
    expect(r.z).toBeLessThan(0);
    expect(r.p).toBeLessThan(1e-3);
  });

  it('refuses an empty sample and leaves its inputs alone', () => {
    expect(() => mannWhitneyU([], [1])).toThrow(/at least one value/);
    const a = [3, 1, 2];
    mannWhitneyU(a, [0]);
    expect(a).toEqual([3, 1, 2]);
  });
});

describe('Mann-Whitney U on serially correlated samples', () => {
  it('widens the normal variance by the inflation: both ×4 halves z, and exactness is given up', () => {
    const a = [1.1, 2.2, 3.3, 4.4, 9.9];
    const b = [3.0, 5.0, 6.0, 7.0];
    const plain = mannWhitneyU([1, 2, 2, 3, 3, 3, 4], [3, 4, 4, 5, 5, 6]);
    const inflated = mannWhitneyU([1, 2, 2, 3, 3, 3, 4], [3, 4, 4, 5, 5, 6], { inflationA: 4, inflationB: 4 });
    expect(inflated.z).toBeCloseTo((plain.z as number) / 2, 12);
    expect(inflated.p).toBeGreaterThan(plain.p);
    // Inflation (nB·V_A + nA·V_B)/(nA + nB) = (4·3 + 5·1)/9 for V_A = 3, V_B = 1.
    const r = mannWhitneyU(a, b, { inflationA: 3 });
    expect(r.method).toBe('normal');
    const sigma = Math.sqrt((20 / 12) * 10 * (17 / 9));
    expect(r.z).toBeCloseTo((14 - 10 - 0.5) / sigma, 12);
  });
});

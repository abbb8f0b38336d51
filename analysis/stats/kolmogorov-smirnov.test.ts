import { describe, expect, it } from 'vitest';
import { kolmogorovQ, kolmogorovSmirnov, ksStatistic } from './kolmogorov-smirnov.ts';

describe('Kolmogorov-Smirnov, two samples', () => {
  it('D is the largest ECDF gap: 1,2,3,4 vs 3,4,5,6,7 → at x=4, F_A=1 and F_B=2/5, D=0.6', () => {
    expect(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6, 7])).toBeCloseTo(0.6, 12);
    expect(ksStatistic([4, 3, 2, 1], [7, 6, 5, 4, 3])).toBeCloseTo(0.6, 12);
  });

  it('steps past ties on both sides at once: identical samples have D = 0', () => {
    expect(ksStatistic([1, 1, 2, 2], [1, 2])).toBe(0);
    expect(ksStatistic([1, 2, 3], [10, 20])).toBe(1);
  });

  it('Q_KS matches its alternating series on both sides of the switch (python3, 200 terms)', () => {
    expect(kolmogorovQ(0.3)).toBeCloseTo(0.9999906941986655, 8);
    expect(kolmogorovQ(0.5)).toBeCloseTo(0.9639452436648751, 8);
    expect(kolmogorovQ(1.0)).toBeCloseTo(0.26999967167735456, 8);
    expect(kolmogorovQ(1.5)).toBeCloseTo(0.022217962616525127, 10);
    expect(kolmogorovQ(0)).toBe(1);
  });

  it('asymptotic p of 25 vs 20 normal draws (values checked in python3)', () => {
    const a = [0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37, 1.77, 1.09, -1.28, 2.36, 1.31, 1.05, -0.32, -0.4, 1.06, -2.47];
    const b = [2.2, 1.66, 1.38, 0.2, 0.36, 0, 0.96, 1.56, 0.44, 1.5, -0.3, 0.66, 2.31, 3.29, -0.27, -0.37, 0.38, 0.7, 0.52, -0.72];
    const r = kolmogorovSmirnov(a, b);
    expect(r.d).toBeCloseTo(0.23, 12);
    expect(r.p).toBeCloseTo(0.5991955719698886, 7);
  });
});

describe('Kolmogorov-Smirnov on serially correlated samples', () => {
  it('counts each sample as n / inflation values: D unchanged, λ = √(ne′)·D', () => {
    const a = [1, 2, 3, 4, 5, 6, 7, 8];
    const b = [5, 6, 7, 8, 9, 10, 11, 12];
    const plain = kolmogorovSmirnov(a, b);
    const r = kolmogorovSmirnov(a, b, { inflationA: 2, inflationB: 2 });
    expect(r.d).toBe(plain.d);
    expect(r.p).toBeCloseTo(kolmogorovQ(Math.sqrt(2) * 0.5), 12);
    expect(r.p).toBeGreaterThan(plain.p);
  });
});

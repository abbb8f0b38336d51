import { describe, expect, it } from 'vitest';
import { benjaminiHochberg } from './benjamini-hochberg.ts';

describe('Benjamini-Hochberg', () => {
  it('by hand: p 0.01, 0.04, 0.03, 0.005 → p·m/rank 0.02, 0.04, 0.04, 0.02 after the step-up minimum', () => {
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    expect(q.map((x) => Number(x.toFixed(12)))).toEqual([0.02, 0.04, 0.04, 0.02]);
  });

  it('keeps q monotone in p and caps it at 1', () => {
    // Sorted: 0.01·3/1 = 0.03, 0.02·3/2 = 0.03, 0.9·3/3 = 0.9.
    expect(benjaminiHochberg([0.9, 0.02, 0.01]).map((x) => Number(x.toFixed(12)))).toEqual([0.9, 0.03, 0.03]);
    expect(benjaminiHochberg([1, 1])).toEqual([1, 1]);
    expect(benjaminiHochberg([])).toEqual([]);
  });

  it('leaves its input alone', () => {
    const p = [0.5, 0.1];
    benjaminiHochberg(p);
    expect(p).toEqual([0.5, 0.1]);
  });
});

import { describe, expect, it } from 'vitest';
import { pettittChangepoint } from './pettitt-changepoint.ts';
import { rankWithTies } from './rank-with-ties.ts';

describe("Pettitt's change-point test", () => {
  it('by hand: 1,2,3,4,10,11,12,13 → U_4 = 2·10 − 4·9 = −16, K = 16, p = 2·exp(−6·256/576)', () => {
    const r = pettittChangepoint([1, 2, 3, 4, 10, 11, 12, 13]);
    expect(r).toEqual({ k: 4, statistic: 16, p: 2 * Math.exp(-1536 / 576) });
  });

  it('finds a level change in a long noisy series and says a flat one has none', () => {
    const noise = (i: number): number => ((i * 7919) % 13) / 13;
    const shifted = Array.from({ length: 400 }, (_, i) => (i < 250 ? 10 : 14) + noise(i));
    const r = pettittChangepoint(shifted, 20);
    expect(r?.k).toBe(250);
    expect(r?.p).toBeLessThan(1e-10);
    const flat = Array.from({ length: 400 }, (_, i) => 10 + noise(i));
    expect(pettittChangepoint(flat, 20)?.p).toBeGreaterThan(0.05);
  });

  it('keeps both parts at least minSegment long, and is null for a series too short for two', () => {
    expect(pettittChangepoint([1, 2, 3, 4, 10, 11, 12, 13], 3)?.k).toBe(4);
    expect(pettittChangepoint([5, 1, 1, 1, 1, 1], 2)?.k).toBeGreaterThanOrEqual(2);
    expect(pettittChangepoint([1, 2, 3], 2)).toBeNull();
  });
});

describe('midranks', () => {
  it('share the mean rank among ties and sum t³ − t per tie group', () => {
    const r = rankWithTies([10, 20, 20, 30, 20]);
    expect(Array.from(r.ranks)).toEqual([1, 3, 3, 5, 3]);
    expect(r.tieTerm).toBe(24);
  });
});

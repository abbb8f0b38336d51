import { describe, expect, it } from 'vitest';
import { sortStably } from './sort-stably.ts';

describe('sortStably', () => {
  const byKey = (a: { k: number }, b: { k: number }): number => a.k - b.k;
  it('orders as Array#sort does, equal items in their order, short and long lists alike', () => {
    for (const n of [0, 1, 2, 5, 32, 33, 200]) {
      const items = Array.from({ length: n }, (_, i) => ({ k: (i * 7919) % 11, i }));
      expect(sortStably(items.slice(), byKey)).toEqual(items.slice().sort(byKey));
    }
  });
  it('sorts in place and returns its argument', () => {
    const items = [3, 1, 2];
    expect(sortStably(items, (a, b) => a - b)).toBe(items);
    expect(items).toEqual([1, 2, 3]);
  });
});

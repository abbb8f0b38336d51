import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.ts';

describe('TtlCache', () => {
  it('returns a value until it expires', () => {
    const c = new TtlCache<string>(10, 100);
    c.set('a', 'A', 1000);
    expect(c.get('a', 1099)).toBe('A');
    expect(c.get('a', 1100)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the oldest entry when full', () => {
    const c = new TtlCache<number>(2, 1000);
    c.set('a', 1, 0);
    c.set('b', 2, 0);
    c.set('c', 3, 0);
    expect([c.get('a', 1), c.get('b', 1), c.get('c', 1)]).toEqual([undefined, 2, 3]);
  });

  it('refuses nonsense bounds', () => {
    expect(() => new TtlCache(0, 1)).toThrow(/maxEntries/);
    expect(() => new TtlCache(1, 0)).toThrow(/ttlMs/);
  });
});

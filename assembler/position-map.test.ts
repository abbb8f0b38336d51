import { describe, expect, it } from 'vitest';
import { PositionMap, positionsOf } from './position-map.ts';

describe('PositionMap', () => {
  const positions = positionsOf(['a', 'b', 'c', 'd']);
  const doubled = [10, 20, 30, 40];

  it('maps every id to the value at its position, in position order, like a Map', () => {
    const m = new PositionMap(positions, (i) => doubled[i]);
    expect(m.size).toBe(4);
    expect(m.get('c')).toBe(30);
    expect(m.get('z')).toBeUndefined();
    expect(m.at(2)).toBe(m.get('c'));
    expect(m.has('a')).toBe(true);
    expect(m.has('z')).toBe(false);
    expect([...m]).toEqual([...new Map([['a', 10], ['b', 20], ['c', 30], ['d', 40]])]);
    expect([...m.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect([...m.values()]).toEqual(doubled);
  });

  it('with an order, holds just the positions it lists, iterated in that order', () => {
    const m = new PositionMap(positions, (i) => (i === 1 || i === 3 ? doubled[i] : undefined), [3, 1]);
    expect(m.size).toBe(2);
    expect([...m]).toEqual([['d', 40], ['b', 20]]);
    expect(m.has('b')).toBe(true);
    expect(m.has('a')).toBe(false);
    expect(m.get('a')).toBeUndefined();
    expect(m.at(0)).toBeUndefined();
    expect(m.at(3)).toBe(40);
    const seen: string[] = [];
    m.forEach((v, id, map) => {
      expect(map).toBe(m);
      seen.push(`${id}=${v}`);
    });
    expect(seen).toEqual(['d=40', 'b=20']);
  });
});

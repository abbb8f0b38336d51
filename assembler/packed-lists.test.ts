import { describe, expect, it } from 'vitest';
import { PackedLists } from './packed-lists.ts';

describe('PackedLists', () => {
  it('gives back each list added, empty ones too, past the room it started with', () => {
    const lists = new PackedLists();
    const added: number[][] = [];
    for (let i = 0; i < 600; i++) {
      const list = Array.from({ length: i % 7 }, (_, k) => i * 10 + k);
      expect(lists.add(list)).toBe(i);
      added.push(list);
    }
    lists.add(Array.from({ length: 3000 }, (_, k) => k));
    expect(lists.length).toBe(601);
    for (let i = 0; i < 600; i++) {
      expect(lists.at(i)).toEqual(added[i]);
      expect(lists.sizeOf(i)).toBe(added[i]!.length);
      for (let k = 0; k < added[i]!.length; k++) expect(lists.get(i, k)).toBe(added[i]![k]);
    }
    expect(lists.sizeOf(600)).toBe(3000);
    expect(lists.trim().at(600)[2999]).toBe(2999);
  });

  it('reads lists packed elsewhere, by their starts', () => {
    const lists = PackedLists.of(Int32Array.from([5, 6, 7, 8]), Int32Array.from([0, 1, 1, 4]));
    expect([0, 1, 2].map((i) => lists.at(i))).toEqual([[5], [], [6, 7, 8]]);
    expect(lists.length).toBe(3);
    expect(lists.add([9])).toBe(3);
    expect(lists.at(3)).toEqual([9]);
  });
});

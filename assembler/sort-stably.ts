/**
 * Stable in-place sorting for the short lists one trace sorts many times (a span's children, a
 * query's phases): Array#sort, stable too, allocates its merge state on every call, however few
 * the items; an insertion sort of a few items allocates nothing. Longer lists go to Array#sort.
 */

const INSERTION_MAX = 32;

/** Sorts `items` in place, equal items keeping their order, and returns it. */
export function sortStably<T>(items: T[], compare: (a: T, b: T) => number): T[] {
  if (items.length > INSERTION_MAX) return items.sort(compare);
  for (let i = 1; i < items.length; i++) {
    const x = items[i]!;
    let j = i - 1;
    while (j >= 0 && compare(items[j]!, x) > 0) {
      items[j + 1] = items[j]!;
      j--;
    }
    items[j + 1] = x;
  }
  return items;
}

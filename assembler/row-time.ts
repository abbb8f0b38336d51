/**
 * Row times against bigint times without a bigint per row: where the table's columns are exact,
 * both are compared as offsets from the table's base, in doubles.
 */
import type { EventTable } from '../tracer/event-table.ts';
import type { PackedLists } from './packed-lists.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Whether row `row` ends after `ns` (`tsNsOf(row) > ns`), for a binary search over rows. */
export function endsAfter(table: EventTable, ns: bigint): (row: number) => boolean {
  const d = ns - table.baseNs;
  if (d > MAX_SAFE || d < -MAX_SAFE) return (row) => table.tsNsOf(row) > ns;
  const offset = Number(d);
  const ts = table.ts;
  return (row) => {
    const t = ts[row]!;
    return Number.isSafeInteger(t) ? t > offset : table.tsNsOf(row) > ns;
  };
}

/**
 * The smallest of `min` and the positive `ts - lead` of the rows of list `i` (CLOCK_MONOTONIC ns), in doubles
 * where the columns are exact, else in bigints.
 */
export function minPositiveRowStart(table: EventTable, lists: PackedLists, i: number, min: bigint): bigint {
  const { ts, lead, baseNs } = table;
  const n = lists.sizeOf(i);
  if (baseNs <= MAX_SAFE && baseNs >= -MAX_SAFE) {
    const floor = -Number(baseNs);
    let best = Infinity;
    let exact = true;
    for (let k = 0; k < n; k++) {
      const row = lists.get(i, k);
      const v = ts[row]! - lead[row]!;
      if (!Number.isSafeInteger(ts[row]) || !Number.isSafeInteger(lead[row]) || !Number.isSafeInteger(v)) {
        exact = false;
        break;
      }
      if (v > floor && v < best) best = v;
    }
    if (exact) {
      if (best === Infinity) return min;
      const ns = baseNs + BigInt(best);
      return ns < min ? ns : min;
    }
  }
  for (let k = 0; k < n; k++) {
    const row = lists.get(i, k);
    const ns = table.tsNsOf(row) - BigInt(table.lead[row]!);
    if (ns > 0n && ns < min) min = ns;
  }
  return min;
}

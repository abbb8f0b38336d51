/**
 * A row's end time against a bigint time without a bigint per row: where the table's column is
 * exact, both are compared as offsets from the table's base, in doubles.
 */
import type { EventTable } from '../tracer/event-table.ts';

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

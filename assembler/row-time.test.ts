import { describe, expect, it } from 'vitest';
import { tableOfEvents } from '../tracer/table-of-events.ts';
import { sockIoEvent } from './fixtures/sock-io-event.ts';
import { PackedLists } from './packed-lists.ts';
import { endsAfter, minPositiveRowStart } from './row-time.ts';

describe('endsAfter', () => {
  it("agrees with the rows' end times, also for a row too far from the base for a double and a time far from it", () => {
    const base = 5_000_000_000_000n;
    const times = [base, base + 1n, base - 3n, base + 2n ** 60n, base + 999n];
    const table = tableOfEvents(times.map((tsNs) => sockIoEvent({ tsNs })));
    for (const ns of [base - 10n, base - 3n, base, base + 1n, base + 998n, base + 999n, base + 2n ** 60n - 1n, base + 2n ** 60n, -(2n ** 62n), 2n ** 62n]) {
      const after = endsAfter(table, ns);
      for (let row = 0; row < times.length; row++) expect(after(row), `row ${row} vs ${ns}`).toBe(table.tsNsOf(row) > ns);
    }
  });
});

describe('minPositiveRowStart', () => {
  it("gives the smallest positive start of a list's rows, or the bound it is given, as bigints would", () => {
    const base = 5_000_000_000_000n;
    const table = tableOfEvents([
      sockIoEvent({ tsNs: base, durationNs: 40n }),
      sockIoEvent({ tsNs: base + 100n, durationNs: 10n }),
      sockIoEvent({ tsNs: base + 2n ** 60n, durationNs: 2n ** 60n }),
      sockIoEvent({ tsNs: 30n, durationNs: 30n }),
    ]);
    const lists = new PackedLists();
    for (const rows of [[0, 1], [1], [], [2], [3, 1]]) lists.add(rows);
    const reference = (i: number, min: bigint): bigint => {
      for (let k = 0; k < lists.sizeOf(i); k++) {
        const row = lists.get(i, k);
        const ns = table.tsNsOf(row) - BigInt(table.lead[row]!);
        if (ns > 0n && ns < min) min = ns;
      }
      return min;
    };
    for (const min of [base + 1_000n, base - 100n, 2n ** 62n]) {
      for (let i = 0; i < lists.length; i++) expect(minPositiveRowStart(table, lists, i, min), `list ${i}, bound ${min}`).toBe(reference(i, min));
    }
    expect(minPositiveRowStart(table, lists, 0, base + 1_000n)).toBe(base - 40n);
    expect(minPositiveRowStart(table, lists, 2, base + 1_000n)).toBe(base + 1_000n);
  });
});

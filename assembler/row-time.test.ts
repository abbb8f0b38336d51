import { describe, expect, it } from 'vitest';
import { tableOfEvents } from '../tracer/table-of-events.ts';
import { sockIoEvent } from './fixtures/sock-io-event.ts';
import { endsAfter } from './row-time.ts';

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

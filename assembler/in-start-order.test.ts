import { describe, expect, it } from 'vitest';
import { compareTraceStarts, inStartOrder, type OrderItem } from './in-start-order.ts';
import type { Trace } from './span.ts';

/** A one-span trace starting at `startNs`. */
const traceAt = (id: string, startNs: bigint): Trace => ({
  traceId: id.padStart(32, '0'),
  spans: [{ id: '1'.padStart(16, '0'), parentId: null, name: 'GET /', tier: 'app', startNs, endNs: startNs + 10n, tags: {}, logs: [], warnings: [] }],
});

describe('inStartOrder', () => {
  it('yields by start, then trace id, whatever order the bounds come in', () => {
    // bounds   0   5   10  12
    // starts    3  8    11   12 (twice)
    const items: OrderItem<Trace>[] = [
      { item: traceAt('d', 12n), notAfterNs: 12n },
      { item: traceAt('a', 3n), notAfterNs: 0n },
      { item: traceAt('c', 12n), notAfterNs: 10n },
      { item: traceAt('b', 8n), notAfterNs: 5n },
    ];
    const out = [...inStartOrder(items, (t) => t, 0n)];
    expect(out.map((t) => t.traceId.slice(-1))).toEqual(['a', 'b', 'c', 'd']);
    expect([...out].sort(compareTraceStarts)).toEqual(out);
  });

  it('hands a trace on once no later item can start before it, building lazily', () => {
    const built: string[] = [];
    const items: OrderItem<string>[] = ['a', 'b', 'c'].map((id, i) => ({ item: id, notAfterNs: BigInt(i * 100) }));
    const it = inStartOrder(items, (id) => (built.push(id), traceAt(id, BigInt(id.charCodeAt(0) - 97) * 100n)), 10n);
    expect(it.next().value?.traceId.slice(-1)).toBe('a');
    expect(built).toEqual(['a']);
  });

  it('throws rather than yield a trace that starts before one already handed on', () => {
    const items: OrderItem<Trace>[] = [
      { item: traceAt('a', 50n), notAfterNs: 0n },
      { item: traceAt('b', 10n), notAfterNs: 100n },
    ];
    expect(() => [...inStartOrder(items, (t) => t, 0n)]).toThrow(/starts before trace/);
    expect([...inStartOrder(items, (t) => t, 100n)].map((t) => t.traceId.slice(-1))).toEqual(['b', 'a']);
  });
});

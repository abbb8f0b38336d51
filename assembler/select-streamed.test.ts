import { describe, expect, it } from 'vitest';
import { assembleCapture } from './build-span-tree.ts';
import { SCENARIOS } from './fixtures/scenarios.ts';
import { selectedRequestId, selectStreamed, slowestOf } from './select-streamed.ts';
import { selectTraces, type Selection } from './select-traces.ts';
import type { Trace } from './span.ts';

const traces = Object.values(SCENARIOS).flatMap((make) => assembleCapture(make()).traces);

/** `traces` as a stream that can be read once, counting what was read. */
function once(list: readonly Trace[]): Iterable<Trace> & { read: number } {
  let used = false;
  const out = {
    read: 0,
    *[Symbol.iterator]() {
      if (used) throw new Error('read twice');
      used = true;
      for (const t of list) {
        out.read++;
        yield t;
      }
    },
  };
  return out;
}

describe('selectStreamed', () => {
  it('selects what selectTraces selects, with the same errors', () => {
    const selections: Selection[] = [
      {},
      { slowest: 3 },
      { slowest: 100 },
      { slowest: 0 },
      { id: traces[4]!.traceId },
      { id: traces[4]!.traceId.toUpperCase() },
      { id: 'f'.repeat(32) },
      { id: 'not-an-id' },
      { id: traces[0]!.traceId, slowest: 1 },
    ];
    for (const sel of selections) {
      const held = selectTraces(traces, sel, 'DIR');
      const streamed = selectStreamed(once(traces), sel, 'DIR');
      expect(streamed.ok ? { ok: true, traces: [...streamed.traces] } : streamed).toEqual(held);
    }
    expect(selectStreamed(once([]), {}, 'DIR')).toEqual(selectTraces([], {}, 'DIR'));
  });

  it('reads the stream to its end for an id, so every trace is assembled', () => {
    const stream = once(traces);
    selectStreamed(stream, { id: traces[0]!.traceId }, 'DIR');
    expect(stream.read).toBe(traces.length);
  });

  it('keeps the slowest in bySlowest order whatever the input order', () => {
    const held = selectTraces(traces, { slowest: 4 }, 'DIR');
    expect(held.ok).toBe(true);
    if (!held.ok) return;
    expect(slowestOf(traces, 4)).toEqual(held.traces);
    expect(slowestOf([...traces].reverse(), 4)).toEqual(held.traces);
  });

  it('reads request ids as the capture writes them', () => {
    expect(selectedRequestId('0123456789ABCDEF-0123456789abcdef01234567')).toBeUndefined();
    expect(selectedRequestId('01234567-89ab-cdef-0123-456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
  });
});

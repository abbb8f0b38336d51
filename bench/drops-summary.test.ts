import { describe, expect, it } from 'vitest';
import type { CaptureMeta } from '../shared/capture-types.ts';
import { formatDropsSummary, summarizeDrops } from './drops-summary.ts';

const S = 1_000_000_000n;

function meta(overrides: Partial<CaptureMeta> = {}): CaptureMeta {
  return {
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    kernel: '6.18.0',
    source: 'bpf',
    hooks: { sockets: 'tracepoint' },
    clock: { monotonicNs: '1000', realtimeNs: '2000' },
    window: { startNs: String(100n * S), endNs: String(110n * S) },
    pids: { app: [10] },
    ports: { proxy: 1, app: 2, postgres: 3 },
    drops: { ringbuf: 0, bind_full: 0 },
    sample: 1,
    proxy: 'nginx',
    loader: { stop: 'signal', records: 50_000, bytes: 5 * 1048576, kinds: { '20': 30_000, '1': 2_000, '40': 18_000 }, families: {}, stopSeconds: 4 },
    ...overrides,
  };
}

describe('summarizeDrops', () => {
  it('turns the loader report and the window into rates, kinds by name and drop totals', () => {
    expect(summarizeDrops(meta(), 2_000)).toEqual({
      windowS: 10,
      requests: 2_000,
      requestsPerSecond: 200,
      records: 50_000,
      eventsPerSecond: 5_000,
      eventsPerRequest: 25,
      bytes: 5 * 1048576,
      kinds: { SockRecv: 30_000, PgPhase: 18_000, RequestStart: 2_000 },
      drops: { ringbuf: 0, bind_full: 0 },
      totalDrops: 0,
      dropCountersSeen: true,
    });
  });

  it('adds every drop counter and notices when there are none at all', () => {
    expect(summarizeDrops(meta({ drops: { ringbuf: 7, malformed: 1 } }), 10).totalDrops).toBe(8);
    expect(summarizeDrops(meta({ drops: {} }), 10).dropCountersSeen).toBe(false);
  });

  it('names kinds it does not know by number', () => {
    const m = meta();
    expect(summarizeDrops(meta({ loader: { ...m.loader!, kinds: { '99': 5 } } }), 1).kinds).toEqual({ 'kind 99': 5 });
  });

  it('refuses a capture without a loader report or a window', () => {
    expect(() => summarizeDrops(meta({ loader: undefined }), 1)).toThrow(/no loader report/);
    expect(() => summarizeDrops(meta({ window: undefined }), 1)).toThrow(/no tracing window/);
    expect(() => summarizeDrops(meta({ window: { startNs: '5', endNs: '5' } }), 1)).toThrow(/window is empty/);
  });
});

describe('formatDropsSummary', () => {
  it('prints rates, kinds and drops', () => {
    expect(formatDropsSummary(summarizeDrops(meta(), 2_000))).toBe(
      [
        'window      10.0 s',
        'requests    2000 (200.0 req/s)',
        'events      50000 (5000 events/s, 25.0 per request, 5.0 MiB)',
        'by kind     SockRecv=30000 PgPhase=18000 RequestStart=2000',
        'drops       0 (ringbuf=0 bind_full=0)',
      ].join('\n'),
    );
  });
});

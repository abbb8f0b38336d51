import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture, fixtureId } from '../assembler/fixtures/scenario-builder.ts';
import { feedPopulation, usersPopulation } from './fixtures/populations.ts';
import { parseCompareTarget, parseCompareTargets, pickTrace } from './pick-trace.ts';

describe('parseCompareTarget', () => {
  it('DIR@ID, DIR@slowest, DIR@median and a bare DIR', () => {
    expect(parseCompareTarget('caps/a@4BF92F35-77b3-4da6-a3ce-929d0e0e4736')).toEqual({ ok: true, value: { dir: 'caps/a', selector: { kind: 'id', id: '4bf92f3577b34da6a3ce929d0e0e4736' } } });
    expect(parseCompareTarget('caps/a@4bf92f35')).toEqual({ ok: true, value: { dir: 'caps/a', selector: { kind: 'id', id: '4bf92f35' } } });
    expect(parseCompareTarget('caps/a@slowest')).toEqual({ ok: true, value: { dir: 'caps/a', selector: { kind: 'slowest' } } });
    expect(parseCompareTarget('caps/a@median')).toEqual({ ok: true, value: { dir: 'caps/a', selector: { kind: 'median' } } });
    expect(parseCompareTarget('caps/a')).toEqual({ ok: true, value: { dir: 'caps/a' } });
    expect(parseCompareTarget('/tmp/run@2/cap')).toEqual({ ok: true, value: { dir: '/tmp/run@2/cap' } });
  });

  it('rejects what it cannot read, in one line', () => {
    expect(parseCompareTarget('caps/a@fastest')).toEqual({ ok: false, error: "'fastest' after '@' must be a request id (8 to 32 hex digits), 'slowest' or 'median'" });
    expect(parseCompareTarget('caps/a@abc')).toMatchObject({ ok: false });
    expect(parseCompareTarget('@slowest')).toEqual({ ok: false, error: "'@slowest' names no capture directory before '@'" });
    expect(parseCompareTargets('a@slowest', 'b')).toEqual({ ok: false, error: 'compare takes two traces (DIR@ID, DIR@slowest, DIR@median) or two capture directories, not one of each' });
  });
});

describe('pickTrace', () => {
  // Users: 5 requests, feed: 3; durations differ by the seeded jitter.
  const traces = assembleCapture(buildCapture('pick', [...usersPopulation(5, 3, 1, 0), ...feedPopulation(3, 4, 0x100, 1_000_000)])).traces;
  const dur = (id: string): bigint => {
    const r = traces.find((t) => t.traceId === id)?.spans[0];
    return r ? r.endNs - r.startNs : -1n;
  };
  const users = traces.filter((t) => t.spans[0]?.name === 'GET /api/users').map((t) => t.traceId).sort((a, b) => (dur(a) < dur(b) ? -1 : 1));

  it('by full id and by unique prefix; an ambiguous prefix is an error', () => {
    expect(pickTrace(traces, { kind: 'id', id: fixtureId(2) }, 'pick')).toMatchObject({ ok: true, value: { traceId: fixtureId(2) } });
    expect(pickTrace(traces, { kind: 'id', id: '00000100' }, 'pick')).toMatchObject({ ok: true, value: { traceId: fixtureId(0x100) } });
    expect(pickTrace(traces, { kind: 'id', id: '00000' }, 'pick')).toEqual({ ok: false, error: "'00000' matches 8 requests in pick: give more digits" });
    expect(pickTrace(traces, { kind: 'id', id: 'ffffffff' }, 'pick')).toEqual({ ok: false, error: 'no request ffffffff in pick' });
  });

  it('median is the lower median of the commonest route (or of the given route); slowest within a route', () => {
    expect(pickTrace(traces, { kind: 'median' }, 'pick')).toMatchObject({ ok: true, value: { traceId: users[2] } });
    expect(pickTrace(traces, { kind: 'slowest' }, 'pick', 'GET /api/users')).toMatchObject({ ok: true, value: { traceId: users[4] } });
    expect(pickTrace(traces, { kind: 'median' }, 'pick', 'POST /api/orders')).toEqual({ ok: false, error: 'no POST /api/orders request in pick' });
  });
});

import { describe, expect, it } from 'vitest';
import type { ProxyAccessEntry } from '../lab/nginx/parse-access-log.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { LiveMetrics } from './live-metrics.ts';
import { renderExposition, type MetricFamily } from './render-exposition.ts';

const APP = 4200;
const id = (n: number): string => n.toString(16).padStart(32, '0');
const head = (n: number, tsNs: bigint) => ({ tsNs, requestId: id(n), pid: APP, tid: APP, fd: 20 });

function access(n: number, path: string, requestTime: number, upstream: number): ProxyAccessEntry {
  return {
    requestId: id(n),
    timeIso: '2026-01-01T00:00:00+00:00',
    method: 'GET',
    uri: path,
    status: 200,
    requestTime,
    upstreamConnectTime: 0,
    upstreamHeaderTime: upstream,
    upstreamResponseTime: upstream,
    upstreamAddr: '127.0.0.1:18081',
    connection: 1,
    connectionRequests: 1,
    clientRequestId: id(n),
    msec: 0,
  };
}

/** A traced request: start, `queries` DB queries of `dbUs` each, end after `appUs`. */
function request(n: number, path: string, appUs: number, queries: number, dbUs: number): TraceEvent[] {
  const t = BigInt(n) * 1_000_000_000n;
  const q: TraceEvent[] = Array.from({ length: queries }, (_, i) => [
    { ...head(n, t + BigInt(i * 2 + 1)), kind: EventKind.DbQueryStart, query: i === 0 ? 'SELECT list' : 'SELECT item WHERE id = $1' } as TraceEvent,
    { ...head(n, t + BigInt(i * 2 + 2)), kind: EventKind.DbQueryEnd, durationUs: BigInt(dbUs), rows: 1n } as TraceEvent,
  ]).flat();
  return [{ ...head(n, t), kind: EventKind.RequestStart, method: 'GET', path }, ...q, { ...head(n, t + 1000n), kind: EventKind.RequestEnd, status: 200, durationUs: BigInt(appUs) }];
}

const family = (fams: readonly MetricFamily[], name: string): MetricFamily => {
  const f = fams.find((x) => x.name === name);
  if (!f) throw new Error(`no ${name}`);
  return f;
};
const samples = (fams: readonly MetricFamily[], name: string): Array<[string, number]> => {
  const f = family(fams, name);
  return f.type === 'histogram' ? [] : f.samples.map((s) => [Object.values(s.labels).join(' '), Math.round(s.value * 1e6) / 1e6]);
};

describe('LiveMetrics', () => {
  it('fills per-route latency buckets from the access log, by route with ids collapsed', () => {
    const m = new LiveMetrics({}, 0);
    m.observeAccess([access(1, '/api/users/12', 0.004, 0.003), access(2, '/api/users/7', 0.02, 0.018), access(3, '/api/users', 3, 2.9)]);
    const fams = m.families();
    const h = family(fams, 'reqtrace_request_duration_seconds');
    if (h.type !== 'histogram') throw new Error('not a histogram');
    expect(h.series.map((s) => s.labels.route)).toEqual(['GET /api/users', 'GET /api/users/:id']);
    const byId = h.series[1];
    expect(byId?.counts.reduce((a, b) => a + b, 0)).toBe(2);
    const text = renderExposition(fams);
    expect(text).toContain('reqtrace_request_duration_seconds_bucket{route="GET /api/users/:id",le="0.005"} 1');
    expect(text).toContain('reqtrace_request_duration_seconds_bucket{route="GET /api/users/:id",le="0.02"} 2');
    expect(text).toContain('reqtrace_request_duration_seconds_count{route="GET /api/users"} 1');
    expect(samples(fams, 'reqtrace_requests_total')).toEqual([['GET /api/users 200', 1], ['GET /api/users/:id 200', 2]]);
  });

  it('splits traced requests into app and DB time, proxy time from the access log', () => {
    const m = new LiveMetrics({}, 0);
    m.observeEvents(request(1, '/api/feed?items=2', 5000, 3, 1000), 300);
    m.observeAccess([access(1, '/api/feed?items=2', 0.006, 0.0052)]);
    const fams = m.families();
    expect(samples(fams, 'reqtrace_layer_seconds_total')).toEqual([
      ['GET /api/feed proxy', 0.0008],
      ['GET /api/feed app', 0.002],
      ['GET /api/feed db', 0.003],
      ['GET /api/feed kernel_wait', 0],
    ]);
    expect(samples(fams, 'reqtrace_traced_requests_total')).toEqual([['GET /api/feed', 1]]);
    expect(samples(fams, 'reqtrace_tracer_records_total')).toEqual([['', 8]]);
    expect(samples(fams, 'reqtrace_tracer_bytes_total')).toEqual([['', 300]]);
  });

  it('counts findings from events: N+1 against the route median, slow requests against the recent p99, kernel waits', () => {
    const m = new LiveMetrics({ pids: { app: [APP] } }, 0);
    for (let n = 1; n <= 30; n++) m.observeEvents(request(n, '/api/feed', 3000, 3, 500));
    m.observeEvents(request(31, '/api/feed', 9000, 12, 500));
    m.observeAccess(Array.from({ length: 30 }, (_, i) => access(100 + i, '/api/users', 0.005 + (i % 5) / 10_000, 0.004)));
    m.observeAccess([access(200, '/api/users', 0.05, 0.049)]);
    m.observeEvents([
      { ...head(0, 5n), requestId: '', kind: EventKind.RunqDelay, delayNs: 7_000_000n },
      { ...head(0, 6n), requestId: '', kind: EventKind.TcpRetransmit, state: 1, tuple: { localAddress: '127.0.0.1', localPort: 1, remoteAddress: '127.0.0.1', remotePort: 2, family: 'ipv4' } },
    ]);
    const fams = m.families();
    expect(samples(fams, 'reqtrace_findings_total')).toEqual([['slow-request', 1], ['n-plus-one', 1], ['socket-buffer-wait', 0], ['runqueue-delay', 1], ['tcp-retransmit', 1]]);
    expect(samples(fams, 'reqtrace_kernel_wait_seconds_total')).toEqual([['runqueue app', 0.007]]);
  });

  it('reports the tracer CPU and the loader drops it is given', () => {
    const m = new LiveMetrics({}, 1_700_000_000_000);
    m.setTracer({ cpuSeconds: { loader: 0.5, lab: 1.25 }, drops: { ringbuf: 0, malformed: 2 } });
    const fams = m.families();
    expect(samples(fams, 'reqtrace_tracer_cpu_seconds_total')).toEqual([['lab', 1.25], ['loader', 0.5]]);
    expect(samples(fams, 'reqtrace_tracer_drops_total')).toEqual([['malformed', 2], ['ringbuf', 0]]);
    expect(samples(fams, 'reqtrace_trace_start_time_seconds')).toEqual([['', 1_700_000_000]]);
  });
});

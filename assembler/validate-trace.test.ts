import { describe, expect, it } from 'vitest';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { assembleCapture } from './build-span-tree.ts';
import { atNs, buildCapture, fixtureId, tuple } from './fixtures/scenario-builder.ts';
import { parseSs } from './parse-ss.ts';
import { formatSampling, formatValidation, summarizeSampling, validateTraces, type CheckResult } from './validate-trace.ts';
import { SCENARIOS } from './fixtures/scenarios.ts';

const byName = (results: readonly CheckResult[]): Map<string, CheckResult> => new Map(results.map((r) => [r.name, r]));

describe('validateTraces', () => {
  const capture = buildCapture(
    'x',
    [800, 1200, 900, 1100, 1000, 1000].map((executeUs, i) => ({
      id: fixtureId(i + 1),
      path: '/api/users',
      atUs: i * 9000,
      appFd: 30 + i,
      upstreamPort: 40000 + i,
      clientPort: 50000 + i,
      steps: [{ kind: 'query' as const, plan: { sql: 'SELECT 1', executeUs } }],
    })),
  );
  const { traces } = assembleCapture(capture);
  const pgss = (meanExecTime: number) => ({ takenAt: '', resetAtStart: true, statements: [{ queryId: '1', query: 'SELECT 1', calls: 6, rows: 6, meanExecTime, totalExecTime: 6 * meanExecTime }] });

  it('counts requests within tolerance per check', () => {
    const slowClient = capture.client.map((c, i) => (i === 1 ? { ...c, latencyMs: c.latencyMs + 25 } : c));
    const results = byName(validateTraces({ traces, client: slowClient, nginx: capture.nginx, pgStatStatements: pgss(1.0) }));
    expect(results.get('root span vs client-observed latency')).toMatchObject({ compared: 6, within: 5 });
    expect(results.get('root span vs client-observed latency')?.worst[0]?.key).toBe(fixtureId(2));
    expect(results.get('root span not longer than the client saw')).toMatchObject({ compared: 6, within: 6 });
    expect(results.get('root span vs nginx request_time')).toMatchObject({ compared: 6, within: 6 });
    expect(results.get('upstream spans vs nginx upstream_response_time')).toMatchObject({ compared: 6, within: 6 });
    expect(results.get('DB execute mean vs pg_stat_statements mean_exec_time')).toMatchObject({ compared: 1, within: 1 });
    expect(formatValidation([...results.values()])).toMatch(/root span vs client-observed latency\s+5\/6\s+83\.3%/);
  });

  it('flags a trace longer than its client saw (another request on the connection)', () => {
    const short = capture.client.map((c, i) => (i === 0 ? { ...c, latencyMs: 0.1 } : c));
    expect(byName(validateTraces({ traces, client: short, nginx: [] })).get('root span not longer than the client saw')).toMatchObject({ compared: 6, within: 5 });
  });

  it('compares execute phases, not all DB processing, with mean_exec_time', () => {
    const results = byName(validateTraces({ traces, client: [], nginx: [], pgStatStatements: pgss(2.0) }));
    expect(results.get('DB execute mean vs pg_stat_statements mean_exec_time')).toMatchObject({ compared: 1, within: 0 });
    expect(results.get('DB execute mean vs pg_stat_statements mean_exec_time')?.worst[0]?.tracedMs).toBeCloseTo(1.0, 6);
  });

  it("without phases (no postgres family), checks that the app's view of the database holds the executor's time", () => {
    const noPhases = assembleCapture({ ...capture, events: capture.events.filter((e) => e.kind !== EventKind.PgPhase) }).traces;
    const results = byName(validateTraces({ traces: noPhases, client: [], nginx: [], pgStatStatements: pgss(1.0) }));
    expect(results.has('DB execute mean vs pg_stat_statements mean_exec_time')).toBe(false);
    const name = "DB processing (the app's view) mean vs pg_stat_statements mean_exec_time";
    expect(results.get(name)).toMatchObject({ compared: 1, within: 1 });
    expect(byName(validateTraces({ traces: noPhases, client: [], nginx: [], pgStatStatements: pgss(1000) })).get(name)).toMatchObject({ compared: 1, within: 0 });
  });

  it('skips statements with fewer traced calls than the minimum', () => {
    const few = validateTraces({ traces: traces.slice(0, 4), client: [], nginx: [], pgStatStatements: pgss(1.0) });
    expect(byName(few).get('DB execute mean vs pg_stat_statements mean_exec_time')).toMatchObject({ compared: 0 });
  });

  it('compares loopback transit per ss connection with minrtt', () => {
    const sock = (kind: typeof EventKind.SockRecv | typeof EventKind.SockSend, pid: number, us: number, local: number, remote: number, arrivalUs = 0): TraceEvent => ({
      kind, tsNs: atNs(us + 5), requestId: '', pid, tid: pid, fd: 5, durationNs: 5000n, bytes: 100n, arrivalNs: arrivalUs ? atNs(arrivalUs) : 0n, syscallNr: 0, syscalls: 1, tuple: tuple(local, remote),
    });
    // nginx → app: write starts at 0, data readable at 10 µs; app → nginx: write at 100, readable at 112.
    const near = [sock(EventKind.SockSend, 1, 0, 40000, 18081), sock(EventKind.SockRecv, 2, 50, 18081, 40000, 10), sock(EventKind.SockSend, 2, 100, 18081, 40000), sock(EventKind.SockRecv, 1, 150, 40000, 18081, 112)];
    // A connection whose traced transit (400 µs) is far from its minrtt.
    const far = [sock(EventKind.SockSend, 1, 0, 40001, 18081), sock(EventKind.SockRecv, 2, 500, 18081, 40001, 400)];
    const ss = parseSs(['ESTAB 0 0 127.0.0.1:18081 127.0.0.1:40000', '\t rtt:6.2/3.1 minrtt:0.02', 'ESTAB 0 0 127.0.0.1:18081 127.0.0.1:40001', '\t rtt:6.2/3.1 minrtt:0.02', 'ESTAB 0 0 127.0.0.1:9 127.0.0.1:1', '\t minrtt:0.02'].join('\n')).sockets;
    const r = byName(validateTraces({ traces, client: [], nginx: [], events: [...near, ...far], ss, rttPorts: [18081] })).get('network transit vs ss minrtt (loopback)');
    expect(r).toMatchObject({ compared: 2, within: 1 });
    expect(r?.worst[0]).toMatchObject({ key: '18081<40001 (1 hops)', tracedMs: 0.8, observedMs: 0.02 });
  });
});

describe('validateTraces under head sampling (sampled-keepalive-gaps)', () => {
  const capture = (SCENARIOS['sampled-keepalive-gaps'] as () => ReturnType<typeof buildCapture>)();
  const { traces } = assembleCapture(capture);

  it('says how many requests were sampled', () => {
    const s = summarizeSampling(traces);
    expect(s).toEqual({ rate: 0.5, sampled: 3, unsampled: 3 });
    expect(formatSampling(s)).toMatch(/^sampling: rate 0.5, 3 of 6 request\(s\) sampled/);
    expect(formatSampling(summarizeSampling(assembleCapture(buildCapture('one', [{ id: fixtureId(1), path: '/healthz', atUs: 0, steps: [] }])).traces))).toBe('');
  });

  it('checks every root against its client, and compares with nginx only what the kernel followed', () => {
    const r = byName(validateTraces({ traces, client: capture.client, nginx: capture.nginx }));
    expect(r.get('root span not longer than the client saw')).toMatchObject({ compared: 6, within: 6 });
    expect(r.get('root span not longer than the client saw, sampled requests')).toMatchObject({ compared: 3, within: 3 });
    expect(r.get('root span vs client-observed latency')).toMatchObject({ compared: 3 });
    expect(r.get('root span vs nginx request_time')).toMatchObject({ compared: 3 });
    expect(r.get('upstream spans vs nginx upstream_response_time')).toMatchObject({ compared: 3, within: 3 });
  });
});

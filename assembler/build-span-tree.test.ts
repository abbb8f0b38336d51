import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Capture } from '../shared/capture-types.ts';
import { ConnSide, EventKind, KeepReason, PgPhase, type EventOf, type TraceEvent } from '../shared/event-types.ts';
import { isSampled } from '../shared/sampling.ts';
import { assembleCapture, assembleTraces } from './build-span-tree.ts';
import { compareTraceStarts } from './in-start-order.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { decodeTable } from '../tracer/event-table-builder.ts';
import { captureFromJson } from './fixtures/capture-json.ts';
import { atNs, buildCapture, buildRequest, fixtureId, PIDS, PORTS, tuple, type RequestPlan, type Step } from './fixtures/scenario-builder.ts';
import { GAP_REQUESTS, IDS, SCENARIOS } from './fixtures/scenarios.ts';
import { childrenById, rootOf, type Span, type Trace } from './span.ts';
import { seededRandom as rng } from '../lab/seeded-random.ts';

const load = (name: string): Capture => captureFromJson(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.capture.json`), 'utf8'));
const traceOf = (capture: Capture, id: string): Trace => {
  const t = assembleCapture(capture).traces.find((x) => x.traceId === id);
  if (!t) throw new Error(`no trace ${id}`);
  return t;
};
const spanNamed = (t: Trace, name: string): Span => {
  const s = t.spans.find((x) => x.name === name);
  if (!s) throw new Error(`no span '${name}' in ${t.spans.map((x) => x.name).join(', ')}`);
  return s;
};
const childNames = (t: Trace, s: Span): string[] => (childrenById(t).get(s.id) ?? []).map((c) => c.name);

describe('buildSpanTree: named scenarios', () => {
  it('users-two-queries: the seed shape, tiers in order, SQL comment stripped', () => {
    const t = traceOf(load('users-two-queries'), IDS.users);
    const root = rootOf(t);
    expect(root.name).toBe('GET /api/users');
    expect(childNames(t, root)).toEqual(['nginx processing', 'network: nginx → app', 'app processing', 'network: app → nginx', 'nginx response']);
    expect(childNames(t, spanNamed(t, 'app processing'))).toEqual([
      'request read',
      'handler setup',
      'DB query 1 (SELECT)',
      'business logic',
      'DB query 2 (UPDATE)',
      'response serialization',
      'response send',
      'response finish',
    ]);
    const q1 = spanNamed(t, 'DB query 1 (SELECT)');
    expect(childNames(t, q1)).toEqual(['query send', 'DB processing', 'result receive']);
    expect(q1.tags).toMatchObject({
      'db.system': 'postgresql',
      'db.query.text': 'SELECT id, name, email FROM users ORDER BY id LIMIT $1',
      'db.operation.name': 'SELECT',
      'db.response.returned_rows': 20,
      'network.peer.port': 18082,
    });
    expect(childNames(t, spanNamed(t, 'DB processing'))).toEqual(['parse', 'plan', 'execute']);
    expect(root.tags).toMatchObject({ 'request.id': IDS.users, 'http.request.method': 'GET', 'url.path': '/api/users', 'http.response.status_code': 200 });
    // nginx's first readable byte to its last client write, as built.
    expect(root.startNs).toBe(atNs(0));
    expect(root.endNs).toBe(atNs(buildRequest({ id: IDS.users, path: '/api/users', atUs: 0, steps: usersLikeSteps() }).endUs));
    expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
  });

  it('pool-exhaustion: the wait for a pool connection is its own span, not handler setup', () => {
    const id = fixtureId(0x9001);
    const capture = buildCapture('pool', [
      {
        id,
        path: '/api/users/7',
        atUs: 0,
        handlerSetupUs: 120,
        steps: [
          { kind: 'pool', plan: { waitUs: 50_000, size: 10, busy: 10, waiting: 19 } },
          { kind: 'query', plan: { sql: 'SELECT id, name FROM users WHERE id = $1', executeUs: 900 } },
        ],
      },
    ]);
    const t = traceOf(capture, id);
    const app = spanNamed(t, 'app processing');
    expect(childNames(t, app)).toEqual(['request read', 'handler setup', 'pool wait', 'handler setup', 'DB query 1 (SELECT)', 'response serialization', 'response send', 'response finish']);
    const wait = spanNamed(t, 'pool wait');
    expect(wait.endNs - wait.startNs).toBe(50_000_000n);
    expect(wait.tags).toMatchObject({
      'db.client.connection.pool.max': 10,
      'db.client.connection.pool.busy': 10,
      'db.client.connection.pool.pending_requests': 19,
      'db.client.connection.new': false,
    });
    // Handler setup keeps only the app's own time around the wait.
    const setup = t.spans.filter((s) => s.name === 'handler setup').reduce((n, s) => n + (s.endNs - s.startNs), 0n);
    expect(setup < 1_000_000n).toBe(true);
    expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
  });

  it('new-connection: the request that opened its connection carries the handshake, accept queue and the part it queued', () => {
    const [first, second] = [fixtureId(0x9101), fixtureId(0x9102)];
    const client = tuple(PORTS.proxy, 50000);
    // SYN at -400 µs, established at -300, accepted 15 µs after the bytes came (at 0), read at 20.
    const conn: TraceEvent[] = [
      { kind: EventKind.ConnSetup, tsNs: atNs(-300), requestId: '', pid: 0, tid: 0, fd: -1, synNs: atNs(-400), side: ConnSide.Server, rttUs: 30, retransmits: 1, error: 0, tuple: client },
      { kind: EventKind.ConnAccept, tsNs: atNs(15), requestId: '', pid: PIDS.nginx, tid: PIDS.nginx, fd: 7, durationNs: 0n, ret: 7n, tuple: client },
    ];
    const capture = buildCapture('new-connection', [
      { id: first, path: '/healthz', atUs: 0, steps: [], clientConnection: { serial: 1, ordinal: 1 } },
      { id: second, path: '/healthz', atUs: 5000, steps: [], clientConnection: { serial: 1, ordinal: 2 } },
    ], conn);
    const t = traceOf(capture, first);
    expect(rootOf(t).tags).toMatchObject({
      'net.connection.new': true,
      'net.tcp.handshake_ns': 100_000,
      'net.tcp.handshake_rtt_us': 30,
      'net.tcp.synack_retransmits': 1,
      'net.tcp.accept_queue_ns': 315_000,
      'net.tcp.first_byte_wait_ns': 0,
    });
    expect(rootOf(t).logs.map((l) => l.fields.event)).toEqual(['tcp SYN sent by the client', 'tcp connection established (in the accept queue)', 'connection accepted']);
    expect(spanNamed(t, 'nginx processing').tags).toMatchObject({ 'net.tcp.accept_queue_wait_ns': 15_000, 'kernel.socket_buffer_wait_ns': 5_000 });
    // The second request on the same connection did not open it.
    expect(rootOf(traceOf(capture, second)).tags['net.connection.new']).toBeUndefined();
  });

  it('pool-new-connection: a checkout that opened a connection splits into the TCP connect and the session startup', () => {
    const id = fixtureId(0x9201);
    const pg = tuple(45000, PORTS.postgres);
    const connect: TraceEvent = { kind: EventKind.ConnSetup, tsNs: atNs(700), requestId: '', pid: PIDS.app, tid: PIDS.app, fd: -1, synNs: atNs(650), side: ConnSide.Client, rttUs: 20, retransmits: 0, error: 0, tuple: pg };
    const capture = buildCapture('pool-connect', [
      { id, path: '/api/users/7', atUs: 0, handlerSetupUs: 100, steps: [{ kind: 'pool', plan: { waitUs: 3000, size: 10, busy: 3, waiting: 0, newConnection: true } }, { kind: 'query', plan: { sql: 'SELECT 1', executeUs: 100 } }] },
    ], [connect]);
    const t = traceOf(capture, id);
    const wait = spanNamed(t, 'pool wait');
    expect(childNames(t, wait)).toEqual(['tcp connect', 'session startup']);
    expect(spanNamed(t, 'tcp connect').endNs - spanNamed(t, 'tcp connect').startNs).toBe(50_000n);
    expect(spanNamed(t, 'session startup').endNs).toBe(wait.endNs);
    expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
  });

  it('keepalive-reuse: each request gets its own nginx syscalls on the shared connection', () => {
    const capture = load('keepalive-reuse');
    const traces = [IDS.ka1, IDS.ka2, IDS.ka3].map((id) => traceOf(capture, id));
    traces.forEach((t, i) => {
      expect(rootOf(t).startNs).toBe(atNs(i * 3000));
      const proc = spanNamed(t, 'nginx processing');
      const app = spanNamed(t, 'app processing');
      const resp = spanNamed(t, 'nginx response');
      expect(proc.endNs).toBe(atNs(i * 3000 + 105));
      expect(proc.endNs <= app.startNs && app.endNs <= resp.endNs).toBe(true);
      expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
    });
    for (let i = 1; i < traces.length; i++) {
      expect(rootOf(traces[i - 1] as Trace).endNs < rootOf(traces[i] as Trace).startNs).toBe(true);
    }
  });

  it('pool-fd-reuse: a reused pg fd and file fd are attributed by time', () => {
    const capture = load('pool-fd-reuse');
    const a = traceOf(capture, IDS.poolA);
    const b = traceOf(capture, IDS.poolB);
    expect(a.spans.some((s) => s.name === 'file read: report.json')).toBe(true);
    expect(b.spans.some((s) => s.name === 'file write: report.log')).toBe(true);
    expect(a.spans.some((s) => s.name.includes('report.log'))).toBe(false);
    for (const t of [a, b]) {
      const q = spanNamed(t, 'DB query 1 (SELECT)');
      expect(childNames(t, q)).toEqual(['query send', 'DB processing', 'result receive']);
      expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
    }
    // Both requests overlap in time but were read from different nginx client reads.
    expect(spanNamed(a, 'nginx processing').startNs).toBe(atNs(0));
    expect(spanNamed(b, 'nginx processing').startNs).toBe(atNs(300));
  });

  it('missing-request-end: the app span ends at its last event, with a warning', () => {
    const t = traceOf(load('missing-request-end'), IDS.noEnd);
    const app = spanNamed(t, 'app processing');
    expect(app.warnings).toEqual(["RequestEnd missing: app span ends at the request's last event"]);
    expect(app.endNs).toBe(spanNamed(t, 'response send').endNs);
    expect(rootOf(t).tags['http.response.status_code']).toBe(200); // from the access log
  });

  it('nginx-events-missing: nginx spans are estimated from the access log', () => {
    const capture = load('nginx-events-missing');
    const t = traceOf(capture, IDS.noNginx);
    const root = rootOf(t);
    expect(root.warnings[0]).toMatch(/nginx socket events missing: nginx spans estimated from the access log/);
    expect(spanNamed(t, 'nginx processing').tags.estimated).toBe(true);
    const requestTime = capture.nginx[0]?.requestTime as number;
    expect(root.endNs - root.startNs).toBe(BigInt(Math.round(requestTime * 1e9)));
  });

  it('orphan-pg-phase: a phase outside every query becomes a flagged child of the root', () => {
    const t = traceOf(load('orphan-pg-phase'), IDS.orphan);
    const root = rootOf(t);
    const orphan = spanNamed(t, `orphan: PostgreSQL phases (pid ${PIDS.postgres + 2})`);
    expect(orphan.parentId).toBe(root.id);
    expect(orphan.tags).toMatchObject({ orphan: true, 'orphan.events': 1 });
    expect(root.tags['orphan.count']).toBe(1);
    expect(root.warnings).toContain('1 event(s) fit no span: kept as orphan children of the root');
  });

  it('kernel-findings: socket buffer wait, run-queue delay of the request thread only, a retransmit', () => {
    const t = traceOf(load('kernel-findings'), IDS.kernel);
    const net = spanNamed(t, 'network: nginx → app');
    expect(net.tags['kernel.socket_buffer_wait_ns']).toBe(3_000_000);
    expect(childNames(t, net)).toEqual(['socket buffer wait']);
    const app = spanNamed(t, 'app processing');
    expect(app.tags['kernel.runq_delay_ns']).toBe(850_000);
    expect(app.tags['kernel.runq_delays']).toBe(2);
    expect(app.logs.filter((l) => l.fields.event === 'runqueue delay')).toHaveLength(2);
    const q2 = spanNamed(t, 'DB query 2 (UPDATE)');
    expect(q2.tags['kernel.tcp_retransmits']).toBe(1);
    expect(q2.logs.map((l) => l.fields.event)).toContain('tcp retransmit');
  });
});

function usersLikeSteps(): Step[] {
  return [
    { kind: 'query', plan: { sql: 'SELECT id, name, email FROM users ORDER BY id LIMIT $1', executeUs: 1800, rows: 20, bufferReads: 2 } },
    { kind: 'cpu', us: 1200 },
    { kind: 'query', plan: { sql: 'UPDATE users SET last_seen = now() WHERE id = $1', executeUs: 2600, rows: 1 } },
  ];
}

describe('buildSpanTree: repairs', () => {
  const plan: RequestPlan = { id: fixtureId(1), path: '/api/users', atUs: 0, steps: usersLikeSteps() };
  const without = (pred: (e: TraceEvent) => boolean): Capture => {
    const c = buildCapture('x', [plan]);
    return { ...c, events: c.events.filter((e) => !pred(e)) };
  };

  it('db-query-start-missing: the query is rebuilt from its end and duration', () => {
    let dropped = false;
    const t = traceOf(
      without((e) => {
        if (e.kind !== EventKind.DbQueryStart || dropped) return false;
        dropped = true;
        return true;
      }),
      fixtureId(1),
    );
    const q = spanNamed(t, 'DB query 1');
    expect(q.warnings).toEqual(['DbQueryStart missing: start derived from DbQueryEnd duration, statement unknown']);
    expect(q.endNs - q.startNs > 0n).toBe(true);
  });

  it('request-start-missing: the app span starts at the first read of the request', () => {
    const t = traceOf(without((e) => e.kind === EventKind.RequestStart), fixtureId(1));
    expect(spanNamed(t, 'app processing').warnings).toEqual(['RequestStart missing: app span starts at the first read of the request']);
    expect(rootOf(t).name).toBe('GET /api/users'); // method and path from the access log
  });

  it('app-kernel-events-missing: no tuple, so nginx comes from the access log', () => {
    const t = traceOf(buildCapture('x', [{ ...plan, omit: { kernel: true } }]), fixtureId(1));
    expect(rootOf(t).warnings[0]).toMatch(/estimated from the access log/);
    expect(childNames(t, spanNamed(t, 'DB query 1 (SELECT)'))).toEqual(['DB processing']);
  });

  it('everything-but-pg-phases: a request known only from PostgreSQL still gets one root', () => {
    const c = buildCapture('x', [plan]);
    const onlyPg = { ...c, events: c.events.filter((e) => e.kind === EventKind.PgPhase), nginx: [], client: [] };
    const t = traceOf(onlyPg, fixtureId(1));
    expect(t.spans.filter((s) => s.parentId === null)).toHaveLength(1);
    expect(rootOf(t).tags['orphan.count']).toBe(onlyPg.events.length);
  });

  it('does not modify its input', () => {
    const c = buildCapture('x', [plan]);
    const before = JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    assembleCapture(deepFreeze(c));
    expect(JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before);
  });
});

// ---- property tests: seeded random event streams ----


function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

function randomCapture(seed: number): Capture {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const n = 1 + Math.floor(r() * 6);
  const plans: RequestPlan[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    const steps: Step[] = [];
    const k = Math.floor(r() * 5);
    for (let j = 0; j < k; j++) {
      const which = r();
      if (which < 0.45) steps.push({ kind: 'query', plan: { sql: pick(['SELECT 1', 'UPDATE t SET x = $1', 'INSERT INTO o VALUES ($1)']), executeUs: Math.floor(r() * 3000), rows: Math.floor(r() * 5), lockWaitUs: r() < 0.2 ? 300 : 0, bufferReads: Math.floor(r() * 3), pgFd: pick([21, 23]) } });
      else if (which < 0.7) steps.push({ kind: 'file', plan: { path: pick(['/srv/a.json', '/srv/b.log']), op: pick(['read', 'write'] as const), bytes: Math.floor(r() * 9000), fd: pick([25, 26]) } });
      else if (which < 0.85) steps.push({ kind: 'cache', hit: r() < 0.5, key: `k${j}` });
      else steps.push({ kind: 'cpu', us: Math.floor(r() * 2000) });
    }
    const keepalive = r() < 0.4;
    plans.push({
      id: fixtureId(seed * 100 + i + 1),
      path: pick(['/api/users', '/api/users/3', '/api/report', '/healthz']),
      atUs: t,
      steps,
      appFd: keepalive ? 20 : 30 + i,
      upstreamPort: keepalive ? 40000 : 41000 + i,
      clientPort: keepalive ? 50000 : 51000 + i,
      appReadWaitUs: Math.floor(r() * 500),
      omit: { nginx: r() < 0.15, requestEnd: r() < 0.1, requestStart: r() < 0.1, kernel: r() < 0.1 },
    });
    t += keepalive ? 12_000 : Math.floor(r() * 4000);
  }
  const base = buildCapture(`seed-${seed}`, plans, [], { dropAccessLog: r() < 0.2 });
  const dropP = r() * 0.3;
  const events: TraceEvent[] = [];
  for (const e of base.events) {
    if (r() < dropP) continue;
    // Occasionally skew a timestamp, so durations can come out negative or spans leave parents.
    events.push(r() < 0.05 ? { ...e, tsNs: e.tsNs + BigInt(Math.floor((r() - 0.5) * 4_000_000)) } : e);
  }
  const ids = plans.map((p) => p.id);
  for (let j = 0; j < 5; j++) {
    const ts = atNs(Math.floor(r() * (t + 5000)));
    events.push({ kind: EventKind.RunqDelay, tsNs: ts, requestId: '', pid: PIDS.app, tid: PIDS.app, fd: -1, delayNs: BigInt(Math.floor(r() * 800_000)) });
    if (r() < 0.5) {
      events.push({ kind: EventKind.PgPhase, tsNs: ts, requestId: pick(ids), pid: PIDS.postgres + 9, tid: PIDS.postgres + 9, fd: -1, phase: PgPhase.Execute, durationNs: BigInt(Math.floor(r() * 500_000)), detail0: 0n, detail1: 0n });
    }
  }
  // Shuffle: the assembler must not depend on input order.
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [events[i], events[j]] = [events[j] as TraceEvent, events[i] as TraceEvent];
  }
  return { ...base, events };
}

function checkInvariants(trace: Trace): void {
  const roots = trace.spans.filter((s) => s.parentId === null);
  expect(roots).toHaveLength(1);
  expect(trace.spans[0]).toBe(roots[0]);
  expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
  const byId = new Map<string, Span>();
  for (const s of trace.spans) {
    expect(s.id).toMatch(/^[0-9a-f]{16}$/);
    expect(byId.has(s.id)).toBe(false);
    expect(s.endNs >= s.startNs).toBe(true);
    if (s.parentId !== null) {
      const p = byId.get(s.parentId);
      expect(p, `parent of ${s.name} listed before it`).toBeDefined();
      expect(s.startNs >= (p as Span).startNs && s.endNs <= (p as Span).endNs, `${s.name} inside ${(p as Span).name}`).toBe(true);
    }
    byId.set(s.id, s);
  }
  const orphanEvents = trace.spans.filter((s) => s.tags.orphan === true).reduce((n, s) => n + Number(s.tags['orphan.events']), 0);
  expect(Number(rootOf(trace).tags['orphan.count'] ?? 0)).toBe(orphanEvents);
  for (const s of trace.spans) if (s.tags.orphan === true) expect(s.parentId).toBe(rootOf(trace).id);
}

describe('buildSpanTree: invariants on seeded random event streams', () => {
  const seeds = Array.from({ length: 60 }, (_, i) => i + 1);
  it.each(seeds)('seed %i: one root, children inside parents, no negative durations, nothing lost', (seed) => {
    const capture = deepFreeze(randomCapture(seed));
    const assembled = assembleCapture(capture);
    const tagged = new Set(
      capture.events.filter((e) => e.requestId !== '' && e.kind !== EventKind.RunqDelay && e.kind !== EventKind.TcpRetransmit).map((e) => e.requestId),
    );
    expect(new Set(assembled.traces.map((t) => t.traceId))).toEqual(tagged);
    assembled.traces.forEach(checkInvariants);
    // Same events in another order: the same traces.
    const reversed = { ...capture, events: [...capture.events].reverse() };
    expect(assembleCapture(reversed)).toEqual(assembled);
  });
});

describe('buildSpanTree: nginx client side by the access log client connection', () => {
  const withClientConn = (c: Capture, ports: ReadonlyMap<string, number>): Capture => ({
    ...c,
    nginx: c.nginx.map((a) => ({ ...a, remoteAddr: '127.0.0.1', remotePort: ports.get(a.requestId) ?? null, serverPort: c.meta.ports.proxy })),
  });
  // Two clients on one worker; B's request is read before A's upstream write starts:
  //
  //   conn 50001  A read ├┤                            A write ├┤
  //   conn 50002          B read ├┤                              B write ├┤
  //   upstream                   A write ├┤   B write ├┤
  const crossed = (): Capture =>
    buildCapture('crossed', [
      { id: fixtureId(0xa1), path: '/healthz', atUs: 0, steps: [], appFd: 30, upstreamPort: 41001, clientPort: 50001 },
      { id: fixtureId(0xb2), path: '/healthz', atUs: 40, steps: [], appFd: 31, upstreamPort: 41002, clientPort: 50002 },
    ]);

  it('the time heuristic swaps crossed reads, and says it guessed', () => {
    const out = assembleCapture(crossed());
    const a = out.traces.find((t) => t.traceId === fixtureId(0xa1)) as Trace;
    expect(spanNamed(a, 'nginx processing').tags['network.peer.port']).toBe(50002);
    expect(out.warnings.some((w) => /2 request\(s\) have no client connection .*matched by time on the worker/.test(w))).toBe(true);
  });

  it('remote_port in the access log puts each request on its own client connection', () => {
    const ports = new Map([
      [fixtureId(0xa1), 50001],
      [fixtureId(0xb2), 50002],
    ]);
    const out = assembleCapture(withClientConn(crossed(), ports));
    expect(out.warnings).toEqual([]);
    for (const [id, port] of ports) {
      const t = out.traces.find((x) => x.traceId === id) as Trace;
      expect(spanNamed(t, 'nginx processing').tags['network.peer.port']).toBe(port);
      expect(spanNamed(t, 'nginx processing').startNs).toBe(atNs(port === 50001 ? 0 : 40));
      expect(spanNamed(t, 'nginx response').tags['nginx.client_write_bytes']).toBe(920);
    }
  });

  it('keep-alive on one client connection: each request gets the reads and writes of its turn', () => {
    const plans: RequestPlan[] = [0, 1, 2].map((i) => ({ id: fixtureId(0xc0 + i), path: '/healthz', atUs: i * 2000, steps: [], appFd: 30, upstreamPort: 41001, clientPort: 50001 }));
    const c = buildCapture('keepalive-client', plans);
    const out = assembleCapture(withClientConn(c, new Map(plans.map((p) => [p.id, 50001]))));
    expect(out.warnings).toEqual([]);
    out.traces.forEach((t, i) => {
      expect(rootOf(t).startNs).toBe(atNs(i * 2000));
      const resp = spanNamed(t, 'nginx response');
      expect(resp.tags['nginx.client_write_bytes']).toBe(920);
      expect(resp.endNs < atNs((i + 1) * 2000)).toBe(true);
    });
  });

  it('a request whose client read is missing on its named connection starts at the upstream write', () => {
    const c = crossed();
    const dropped = { ...c, events: c.events.filter((e) => !(e.kind === EventKind.SockRecv && e.requestId === '' && 'tuple' in e && e.tuple.remotePort === 50001)) };
    const out = assembleCapture(withClientConn(dropped, new Map([[fixtureId(0xa1), 50001], [fixtureId(0xb2), 50002]])));
    const a = out.traces.find((t) => t.traceId === fixtureId(0xa1)) as Trace;
    expect(spanNamed(a, 'nginx processing').warnings).toEqual(["nginx's client-side read not found: starts at the upstream write"]);
  });
});

describe('buildSpanTree: the request ends when nginx wrote the last byte', () => {
  it('a RequestEnd that fires after the response was delivered is a tag, not trace time', () => {
    const c = buildCapture('late-end', [{ id: fixtureId(0xe1), path: '/healthz', atUs: 0, steps: [] }]);
    const late = c.events.map((e) => (e.kind === EventKind.RequestEnd ? { ...e, tsNs: e.tsNs + 5_000_000n } : e));
    const t = assembleCapture({ ...c, events: late }).traces[0] as Trace;
    const resp = spanNamed(t, 'nginx response');
    const app = spanNamed(t, 'app processing');
    expect(rootOf(t).endNs).toBe(resp.endNs);
    expect(app.endNs <= resp.endNs).toBe(true);
    expect(app.tags['app.end_after_response_ns']).toBeGreaterThan(4_900_000);
    expect(t.spans.some((s) => s.name === 'response finish' && s.endNs > resp.endNs)).toBe(false);
    expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
  });
});

describe('buildSpanTree: head sampling (sampled-keepalive-gaps)', () => {
  const gaps = (): Capture => load('sampled-keepalive-gaps');
  const sampledIds = GAP_REQUESTS.filter((r) => !r.unsampled).map((r) => r.id);
  const unsampledIds = GAP_REQUESTS.filter((r) => r.unsampled).map((r) => r.id);
  const startUs = (id: string): number => GAP_REQUESTS.findIndex((r) => r.id === id) * 3000;

  it('the scenario follows the kernel rule: the unsampled ids are the ones isSampled rejects at 0.5', () => {
    expect(gaps().meta.sample).toBe(0.5);
    expect(sampledIds.every((id) => isSampled(id, 0.5))).toBe(true);
    expect(unsampledIds.some((id) => isSampled(id, 0.5))).toBe(false);
  });

  it("sampled requests get exactly their own nginx syscalls, not the leaked ones of the unsampled requests between them", () => {
    const capture = gaps();
    for (const id of sampledIds) {
      const t = traceOf(capture, id);
      const root = rootOf(t);
      const proc = spanNamed(t, 'nginx processing');
      expect(root.startNs).toBe(atNs(startUs(id)));
      expect(proc.endNs).toBe(atNs(startUs(id) + 105));
      expect(proc.tags.estimated).toBeUndefined();
      expect(root.tags).toMatchObject({ 'sampling.sampled': true, 'sampling.rate': 0.5 });
      expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
      expect(Number(root.endNs - root.startNs) / 1e6).toBeLessThanOrEqual((capture.client.find((c) => c.requestId === id) as { latencyMs: number }).latencyMs);
    }
    expect(assembleCapture(capture).warnings).toEqual(["2 nginx upstream socket event(s) belong to unsampled requests (the kernel's filter let them through): not used"]);
  });

  it('without sampling awareness the leaked records land on the next sampled request (the bug this guards)', () => {
    const capture = gaps();
    const blind = assembleCapture({ ...capture, meta: { ...capture.meta, sample: 1 } });
    const s4 = blind.traces.find((t) => t.traceId === IDS.gapS4) as Trace;
    expect(rootOf(s4).startNs < atNs(startUs(IDS.gapS4))).toBe(true);
  });

  it('unsampled requests get a minimal trace: app handler time, nginx estimated, tagged, no warnings', () => {
    const capture = gaps();
    for (const id of unsampledIds) {
      const t = traceOf(capture, id);
      const root = rootOf(t);
      expect(childNames(t, root)).toEqual(['nginx processing', 'app processing', 'nginx response']);
      expect(t.spans).toHaveLength(4);
      expect(spanNamed(t, 'nginx processing').tags).toMatchObject({ estimated: true });
      expect(spanNamed(t, 'nginx response').tags).toMatchObject({ estimated: true });
      expect(root.tags).toMatchObject({ 'request.id': id, 'http.route': '/api/users/:id', 'http.response.status_code': 200, 'sampling.sampled': false, 'sampling.rate': 0.5 });
      expect(t.spans.flatMap((s) => s.warnings)).toEqual([]);
      const start = capture.events.find((e) => e.requestId === id && e.kind === EventKind.RequestStart) as TraceEvent;
      const end = capture.events.find((e) => e.requestId === id && e.kind === EventKind.RequestEnd) as EventOf<typeof EventKind.RequestEnd>;
      const app = spanNamed(t, 'app processing');
      expect(app.startNs).toBe(start.tsNs);
      expect(app.endNs).toBe(start.tsNs + end.durationUs * 1000n);
      const client = capture.client.find((c) => c.requestId === id) as { latencyMs: number };
      expect(Number(root.endNs - root.startNs) / 1e6).toBeLessThanOrEqual(client.latencyMs);
    }
  });

  it("a sampled request whose own client read the kernel dropped does not take the previous request's leaked read", () => {
    const capture = gaps();
    const u5 = atNs(startUs(IDS.gapU5));
    const s6 = atNs(startUs(IDS.gapS6));
    // Keep request 5's leaked client read, drop its client write and request 6's client read.
    const isClientSide = (e: TraceEvent): boolean => (e.kind === EventKind.SockRecv || e.kind === EventKind.SockSend) && e.pid === PIDS.nginx && e.tuple.localPort === 18080;
    const events = capture.events.filter(
      (e) => !(isClientSide(e) && ((e.kind === EventKind.SockSend && e.tsNs > u5 && e.tsNs < s6) || (e.kind === EventKind.SockRecv && e.tsNs > s6 && e.tsNs < s6 + 1_000_000n))),
    );
    expect(capture.events.length - events.length).toBe(2);
    const t = traceOf({ ...capture, events }, IDS.gapS6);
    const proc = spanNamed(t, 'nginx processing');
    expect(rootOf(t).startNs).toBe(atNs(startUs(IDS.gapS6) + 90));
    expect(proc.warnings).toEqual(["nginx's client-side read not found: starts at the upstream write"]);
  });

  it("an unsampled request's app connection is inferred from a later sampled request on its fd, unless the fd was closed in between", () => {
    const capture = gaps();
    // No sampled request before U2 on fd 20 and no accept: U2's connection is the one S4 (after it, no close between) used.
    const withoutS1 = { ...capture, events: capture.events.filter((e) => e.requestId !== IDS.gapS1) };
    const s4 = traceOf(withoutS1, IDS.gapS4);
    expect(rootOf(s4).startNs).toBe(atNs(startUs(IDS.gapS4)));
    // A close of fd 20 between U2 and S4 cuts that inference: U2 is then no anchor.
    const close: TraceEvent = { kind: EventKind.SockClose, tsNs: atNs(5000), requestId: '', pid: PIDS.app, tid: PIDS.app, fd: 20, durationNs: 1000n, ret: 0n, tuple: tuple(18081, 40000) };
    const cut = assembleCapture({ ...withoutS1, events: [...withoutS1.events, close] });
    expect(cut.warnings.some((w) => w.startsWith('2 nginx upstream socket event(s) belong to unsampled'))).toBe(false);
  });

  it('a request outside the sample that the tail rule kept gets the app side in full, nginx estimated, tagged with why', () => {
    const capture = gaps();
    const id = unsampledIds[0] as string;
    const start = capture.events.find((e) => e.requestId === id && e.kind === EventKind.RequestStart) as TraceEvent;
    const end = capture.events.find((e) => e.requestId === id && e.kind === EventKind.RequestEnd) as EventOf<typeof EventKind.RequestEnd>;
    const head = { requestId: id, pid: start.pid, tid: start.tid };
    const q0 = start.tsNs + 100_000n;
    const kept = (complete: boolean): TraceEvent[] => [
      { ...head, kind: EventKind.RequestKept, tsNs: end.tsNs, fd: start.fd, reason: KeepReason.Slow, complete, thresholdUs: 50_000n },
      { ...head, kind: EventKind.DbQueryStart, tsNs: q0, fd: 30, query: 'SELECT * FROM users WHERE id = $1' },
      { ...head, kind: EventKind.DbQueryEnd, tsNs: q0 + 400_000n, fd: 30, durationUs: 400n, rows: 1n },
    ];
    const t = traceOf({ ...capture, events: [...capture.events, ...kept(true)] }, id);
    const root = rootOf(t);
    expect(root.tags).toMatchObject({ 'sampling.sampled': false, 'sampling.kept': 'slow', 'sampling.keep_threshold_ms': 50 });
    expect(spanNamed(t, 'DB query 1 (SELECT)').tags['db.query.text']).toBe('SELECT * FROM users WHERE id = $1');
    expect(spanNamed(t, 'nginx processing').tags).toMatchObject({ estimated: true });
    expect(t.spans.flatMap((x) => x.warnings)).toEqual([]);
    const partial = rootOf(traceOf({ ...capture, events: [...capture.events, ...kept(false)] }, id));
    expect(partial.warnings).toEqual(["kept by the tail rule, but some of its records did not fit the loader's hold: spans may be missing"]);
  });

  it('a capture at rate 1 assembles exactly as before: no sampling tags', () => {
    const t = traceOf(load('keepalive-reuse'), IDS.ka1);
    expect(rootOf(t).tags['sampling.sampled']).toBeUndefined();
    expect(rootOf(t).tags['sampling.rate']).toBeUndefined();
  });
});

describe('assembleTraces', () => {
  it('streams each scenario, and a larger seeded capture, in the order of start', () => {
    const captures = [...Object.values(SCENARIOS).map((make) => make()), bigCapture()];
    for (const c of captures) {
      const streamed = [...assembleTraces(c).traces];
      expect(streamed.map((t) => t.traceId)).toEqual([...streamed].sort(compareTraceStarts).map((t) => t.traceId));
      expect(new Set(streamed.map((t) => t.traceId)).size).toBe(streamed.length);
    }
  });

  it('assembles the same traces from the decoded table of a capture as from its events as objects', () => {
    for (const c of [...Object.values(SCENARIOS).map((make) => make()), bigCapture()]) {
      const { table, warnings } = decodeTable(Buffer.concat([...c.events].map((e) => encodeEvent(e))));
      expect(warnings).toEqual([]);
      expect(assembleCapture({ ...c, events: table })).toEqual(assembleCapture(c));
    }
  });

  it('builds only the requests asked for', () => {
    const c = bigCapture();
    const all = assembleCapture(c).traces;
    const wanted = new Set([all[3]!.traceId, all[7]!.traceId]);
    expect([...assembleTraces(c, { requestIds: wanted }).traces]).toEqual([all[3], all[7]]);
  });
});

/** Keep-alive requests on a few connections, overlapping in time, in seeded order. */
function bigCapture(): Capture {
  const rand = rng(17);
  const plans: RequestPlan[] = Array.from({ length: 60 }, (_, i) => ({
    id: fixtureId(1000 + i),
    path: '/api/users',
    atUs: i * 300 + Math.floor(rand() * 900),
    appFd: 100 + (i % 6),
    upstreamPort: 41000 + (i % 6),
    clientPort: 51000 + (i % 6),
    steps: [{ kind: 'query', plan: { sql: 'SELECT 1', executeUs: 100 + Math.floor(rand() * 2000), rows: 1, pgFd: 200 + (i % 6), pgLocalPort: 46000 + (i % 6) } }],
  }));
  return buildCapture('interleaved', plans);
}

import { join } from 'node:path';
import { tmpdir } from 'node:os';
/**
 * The loader against the real lab (nginx → app with the USDT addon → PostgreSQL): the app's
 * probes, its inbound and pg socket I/O tagged in the kernel, worker-thread file I/O, and a
 * clean detach. Real BPF: fails, never skips, where BPF cannot load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADDON_PATH } from '../lab/app/native/usdt-addon.ts';
import { endpoint } from '../lab/app/endpoints.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { type RunningLab, startLab, testPortBase } from '../test/lab-fixture.ts';
import { bpfObjectIds, buildProbes, startLoader, usdtSemaphores, type LoaderExit } from '../test/run-loader.ts';

const PORT_BASE = testPortBase(23120);
const MS = 1_000_000n;
const DELAY_STEP_MS = 100;
const DELAY_SLACK_MS = 90;

type OfKind<K extends EventKind, E = TraceEvent> = E extends { kind: infer EK } ? (K extends EK ? E : never) : never;
const only = <K extends EventKind>(events: readonly TraceEvent[], kind: K): OfKind<K>[] => events.filter((e) => e.kind === kind) as OfKind<K>[];

let seq = 0;
/** Distinct, recognisable ids: the run's clock in the head keeps reruns apart. */
const newId = (): string => `${(Date.now() % 0xffffffff).toString(16).padStart(8, '0')}${(++seq).toString(16).padStart(24, '0')}`;

interface Sent {
  readonly id: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly target: string;
  readonly status: number;
}

let lab: RunningLab;

async function send(method: 'GET' | 'POST', target: string, body?: unknown): Promise<Sent> {
  const id = newId();
  const res = await fetch(lab.url(target), {
    method,
    headers: { 'X-Request-ID': id, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  await res.arrayBuffer();
  expect(res.headers.get('x-request-id')).toBe(id);
  return { id, method, path: target.split('?')[0]!, target, status: res.status };
}

beforeAll(async () => {
  buildProbes();
  lab = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-reqtrace-e2e-${PORT_BASE}`), usdt: 'native' });
});

afterAll(async () => {
  await lab?.stop();
});

describe('reqtrace on the lab', () => {
  const sent: Sent[] = [];
  const concurrent: Array<Sent & { delay: number }> = [];
  let exit: LoaderExit;
  let semsWhileAttached: Record<string, number>;
  let progIds: number[];
  let linkIds: number[];

  beforeAll(async () => {
    const loader = await startLoader([
      '--app-pid', String(lab.pids.app),
      '--addon', DEFAULT_ADDON_PATH,
      ...lab.pids.proxy.flatMap((p) => ['--nginx-pid', String(p)]),
      '--pg-pid', String(lab.pids.postgres),
      '--families', 'usdt,sockets,files',
    ]);
    ({ progIds, linkIds } = loader);
    sent.push(await send('GET', '/api/users'));
    sent.push(await send('GET', '/api/users/7'));
    sent.push(await send('GET', '/api/users/7'));
    sent.push(await send('POST', '/api/orders', endpoint('orders').exampleBody));
    sent.push(await send('GET', '/api/feed?items=3'));
    sent.push(await send('GET', '/api/report'));
    sent.push(await send('GET', '/healthz'));
    // The pool opens its connections first, so no connection set-up runs on the event loop
    // while the measured results arrive.
    await Promise.all(Array.from({ length: 12 }, () => send('GET', '/api/users?db_delay_ms=20')));
    const delays = Array.from({ length: 24 }, (_, i) => 20 + DELAY_STEP_MS * i);
    const results = await Promise.all(delays.map((d) => send('GET', `/api/users?db_delay_ms=${d}`)));
    results.forEach((r, i) => concurrent.push({ ...r, delay: delays[i]! }));
    semsWhileAttached = usdtSemaphores(lab.pids.app, DEFAULT_ADDON_PATH, 'reqtrace');
    await new Promise((r) => setTimeout(r, 300));
    exit = await loader.stop();
  });

  const all = (): Sent[] => [...sent, ...concurrent];
  const eventsOf = (id: string): TraceEvent[] => exit.events.filter((e) => e.requestId === id);

  it('exits 0 with every drop counter at zero and nothing malformed', () => {
    expect(exit.code).toBe(0);
    expect(exit.warnings).toEqual([]);
    expect(exit.exitStatus).toMatchObject({ event: 'exit', malformed: 0 });
    expect(exit.exitStatus!.drops).toEqual(Object.fromEntries(Object.keys(exit.exitStatus!.drops as object).map((k) => [k, 0])));
  });

  it('emits exactly one request_start and request_end per request, with method, path and status', () => {
    expect(all().every((r) => r.status >= 200 && r.status < 300)).toBe(true);
    const ids = new Set(all().map((r) => r.id));
    const starts = only(exit.events, EventKind.RequestStart).filter((e) => ids.has(e.requestId));
    const ends = only(exit.events, EventKind.RequestEnd).filter((e) => ids.has(e.requestId));
    expect(starts.map((e) => [e.requestId, e.method, e.path]).sort()).toEqual(all().map((r) => [r.id, r.method, r.path]).sort());
    expect(ends.map((e) => [e.requestId, e.status]).sort()).toEqual(all().map((r) => [r.id, r.status]).sort());
  });

  it('counts as many db_query pairs per request as the endpoint makes round trips', () => {
    const [users, user1, user2, orders, feed, report, health] = sent as [Sent, Sent, Sent, Sent, Sent, Sent, Sent];
    const queries = (r: Sent) => [only(eventsOf(r.id), EventKind.DbQueryStart).length, only(eventsOf(r.id), EventKind.DbQueryEnd).length];
    const hit1 = only(eventsOf(user1.id), EventKind.CacheHit).length === 1;
    expect(queries(users)).toEqual([2, 2]);
    expect(queries(user1)).toEqual(Array(2).fill(endpoint('user').roundTrips({ cacheHit: hit1 })));
    expect(only(eventsOf(user2.id), EventKind.CacheHit).map((e) => e.key)).toHaveLength(1);
    expect(queries(user2)).toEqual([0, 0]);
    expect(queries(orders)).toEqual([5, 5]);
    expect(queries(feed)).toEqual([4, 4]);
    expect(queries(report)).toEqual([2, 2]);
    expect(queries(health)).toEqual([0, 0]);
    for (const r of concurrent) expect(queries(r), r.id).toEqual([2, 2]);
  });

  it('tags socket I/O on the inbound connection and on the pg connection with the request', () => {
    for (const r of all()) {
      const ev = eventsOf(r.id);
      const start = only(ev, EventKind.RequestStart)[0]!;
      const inRecv = only(ev, EventKind.SockRecv).filter((e) => e.fd === start.fd);
      const inSend = only(ev, EventKind.SockSend).filter((e) => e.fd === start.fd);
      expect(inRecv.length, `${r.target} request bytes`).toBeGreaterThanOrEqual(1);
      expect(inSend.length, `${r.target} response`).toBeGreaterThanOrEqual(1);
      expect(inSend[0]!.tuple.localPort).toBe(lab.config.appPort);
      for (const q of only(ev, EventKind.DbQueryStart)) {
        const pg = ev.filter((e) => e.fd === q.fd && (e.kind === EventKind.SockSend || e.kind === EventKind.SockRecv));
        expect(pg.some((e) => e.kind === EventKind.SockSend), `${r.target} query send`).toBe(true);
        expect(pg.some((e) => e.kind === EventKind.SockRecv), `${r.target} result`).toBe(true);
        for (const e of only(pg, EventKind.SockSend)) expect(e.tuple.remotePort).toBe(lab.config.pgPort);
      }
    }
  });

  it('gives each of 24 concurrent requests its own database time (first query send → result ≈ its delay)', () => {
    for (const r of concurrent) {
      const ev = eventsOf(r.id);
      const q = only(ev, EventKind.DbQueryStart)[0]!;
      const qEnd = only(ev, EventKind.DbQueryEnd)[0]!;
      const onPg = ev.filter((e) => e.fd === q.fd && e.tsNs >= q.tsNs && e.tsNs <= qEnd.tsNs);
      const firstSend = only(onPg, EventKind.SockSend)[0]!;
      const lastRecv = only(onPg, EventKind.SockRecv).at(-1)!;
      const rtt = lastRecv.tsNs - firstSend.tsNs;
      // Delays are DELAY_STEP_MS apart: a result counted for the wrong request falls outside this
      // window, while a busy machine's scheduling lateness stays inside it.
      expect(rtt, `${r.target}`).toBeGreaterThanOrEqual(BigInt(r.delay) * MS);
      expect(rtt, `${r.target}`).toBeLessThan(BigInt(r.delay + DELAY_SLACK_MS) * MS);
    }
  });

  it('never tags an event on an fd the request did not hold', () => {
    for (const r of all()) {
      const ev = eventsOf(r.id);
      const fds = new Set([
        only(ev, EventKind.RequestStart)[0]!.fd,
        ...only(ev, EventKind.DbQueryStart).map((e) => e.fd),
        ...only(ev, EventKind.FileOpen).map((e) => e.fd),
        -1,
      ]);
      expect(ev.filter((e) => !fds.has(e.fd)).map((e) => `${e.kind}@${e.fd}`), r.target).toEqual([]);
    }
  });

  it("attributes the report's file reads and writes, done on libuv worker threads, to the file it opened", () => {
    const report = sent[5]!;
    const ev = eventsOf(report.id);
    const opens = only(ev, EventKind.FileOpen);
    expect(opens).toHaveLength(endpoint('report').fileOpens());
    const io = ev.filter((e) => e.kind === EventKind.FileRead || e.kind === EventKind.FileWrite) as OfKind<typeof EventKind.FileRead>[];
    expect(io.some((e) => e.kind === EventKind.FileRead && e.bytes > 0n)).toBe(true);
    expect(io.some((e) => e.kind === EventKind.FileWrite && e.bytes > 0n)).toBe(true);
    const pathByFd = new Map(opens.map((o) => [o.fd, o.path]));
    for (const e of io) {
      expect(pathByFd.get(e.fd), `file I/O on fd ${e.fd}`).toBeDefined();
      expect(e.tid, 'worker thread').not.toBe(lab.pids.app);
      expect(e.inode).toBeGreaterThan(0n);
    }
  });

  it("emits nginx's socket I/O untagged, with tuples that match the app's inbound side", () => {
    const nginxPids = new Set(lab.pids.proxy);
    const nginxIo = exit.events.filter((e) => nginxPids.has(e.pid) && (e.kind === EventKind.SockSend || e.kind === EventKind.SockRecv)) as OfKind<typeof EventKind.SockSend>[];
    expect(nginxIo.length).toBeGreaterThan(0);
    expect(nginxIo.every((e) => e.requestId === '')).toBe(true);
    const toApp = nginxIo.filter((e) => e.tuple.remotePort === lab.config.appPort);
    const appInbound = only(exit.events, EventKind.SockRecv).filter((e) => e.pid === lab.pids.app && e.tuple.localPort === lab.config.appPort);
    const appPeers = new Set(appInbound.map((e) => e.tuple.remotePort));
    expect(toApp.some((e) => appPeers.has(e.tuple.localPort))).toBe(true);
  });

  it('leaves no program, link or addon semaphore behind once stopped', () => {
    expect(progIds.length).toBeGreaterThan(0);
    expect(linkIds.length).toBeGreaterThan(0);
    // The usdt family's eight probes are attached; the pool family's pool_wait is not loaded here.
    expect(Object.keys(semsWhileAttached).sort()).toEqual(['cache_hit', 'cache_miss', 'db_query_end', 'db_query_start', 'file_close', 'file_open', 'pool_wait', 'request_end', 'request_start']);
    expect(Object.entries(semsWhileAttached).filter(([name, n]) => (n > 0) !== (name !== 'pool_wait'))).toEqual([]);
    const progs = bpfObjectIds('prog');
    const links = bpfObjectIds('link');
    expect(progIds.filter((p) => progs.has(p))).toEqual([]);
    expect(linkIds.filter((l) => links.has(l))).toEqual([]);
    expect(Object.values(usdtSemaphores(lab.pids.app, DEFAULT_ADDON_PATH, 'reqtrace')).every((n) => n === 0)).toBe(true);
  });
});

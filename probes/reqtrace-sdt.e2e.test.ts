/**
 * The loader against build/sdt-fixture: a C server with the app's USDT probes (same names,
 * arguments and semaphores) around real socket I/O, a database connection and worker-thread
 * file I/O. Real BPF: fails, never skips, where BPF cannot load.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventKind, KeepReason, type TraceEvent } from '../shared/event-types.ts';
import { bpfObjectIds, buildProbes, PROBES_DIR, REQTRACE, startLoader, usdtSemaphores, type LoaderExit } from '../test/run-loader.ts';
import { testPortBase } from '../test/lab-fixture.ts';
import { decodeEvents } from '../tracer/decode-events.ts';

const PORT = testPortBase(23110);
const FIXTURE = join(PROBES_DIR, 'build/sdt-fixture');
const MS = 1_000_000n;
// Concurrent requests' database delays differ by this much: a result counted for the wrong
// request lands a whole step away, while a busy machine's timer lateness stays well inside it.
const SPACING_MS = 100;

let fixture: ChildProcess;
let dir: string;

/** A connection speaking the fixture's line protocol. */
class LineClient {
  private buf = '';
  private waiters: Array<(line: string) => void> = [];
  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiters.shift()?.(line);
      }
    });
  }
  static open(): Promise<LineClient> {
    return new Promise((res, rej) => {
      const s = connect(PORT, '127.0.0.1', () => res(new LineClient(s)));
      s.once('error', rej);
    });
  }
  ask(line: string): Promise<string> {
    return new Promise((res) => {
      this.waiters.push(res);
      this.sock.write(`${line}\n`);
    });
  }
  close(): void {
    this.sock.end();
  }
}

function id(n: number, head = '00'): string {
  return head + n.toString(16).padStart(30, '0');
}

function byRequest(events: readonly TraceEvent[], requestId: string): TraceEvent[] {
  return events.filter((e) => e.requestId === requestId);
}

/** The event variant whose kind union includes K (SockRecv and SockSend share one). */
type OfKind<K extends EventKind, E = TraceEvent> = E extends { kind: infer EK } ? (K extends EK ? E : never) : never;

function only<K extends EventKind>(events: readonly TraceEvent[], kind: K): OfKind<K>[] {
  return events.filter((e) => e.kind === kind) as OfKind<K>[];
}

beforeAll(async () => {
  buildProbes();
  dir = mkdtempSync(join(tmpdir(), 'reqtrace-sdt-'));
  fixture = spawn(FIXTURE, [String(PORT), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    fixture.stdout!.once('data', () => res());
    fixture.once('exit', (code) => rej(new Error(`sdt-fixture exited (${code})`)));
  });
});

afterAll(() => {
  fixture?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The socket tracepoints (what this kernel loads) and the syscall set they replace, which stays
// the fallback for kernels without them: both must tell the same story.
describe.each([
  { socketHooks: 'auto', expected: 'tp_btf' },
  { socketHooks: 'syscalls', expected: 'syscall-tracepoints' },
])('reqtrace on the sdt fixture, socket hooks $socketHooks', ({ socketHooks, expected }) => {
  const sequential = [0, 1, 2, 3, 4].map((n) => ({ id: id(0x100 + n), delay: n === 2 ? 0 : 5 }));
  const concurrent = Array.from({ length: 24 }, (_, n) => ({ id: id(0x200 + n), delay: 20 + SPACING_MS * n }));
  let exit: LoaderExit;
  let semsWhileAttached: Record<string, number>;
  let progIds: number[];
  let linkIds: number[];
  let hooks: Record<string, string>;

  beforeAll(async () => {
    const loader = await startLoader(['--app-pid', String(fixture.pid), '--addon', FIXTURE, '--families', 'usdt,sockets,files', '--socket-hooks', socketHooks]);
    ({ progIds, linkIds, hooks } = loader);
    const keepAlive = await LineClient.open();
    for (const r of sequential) expect(await keepAlive.ask(`GET /seq ${r.id} ${r.delay}`)).toBe(`200 ${r.id}`);
    const clients = await Promise.all(concurrent.map(() => LineClient.open()));
    const answers = await Promise.all(concurrent.map((r, i) => clients[i]!.ask(`POST /orders ${r.id} ${r.delay}`)));
    expect(answers).toEqual(concurrent.map((r) => `200 ${r.id}`));
    semsWhileAttached = usdtSemaphores(fixture.pid!, FIXTURE, 'reqtrace');
    for (const c of [keepAlive, ...clients]) c.close();
    await new Promise((r) => setTimeout(r, 300));
    exit = await loader.stop();
  });

  it('attaches every family with the hook kinds this kernel allows, and exits 0 with no drops', () => {
    expect(hooks).toEqual({ core: 'tp_btf', usdt: 'usdt', sockets: expected, files: 'tracepoint' });
    expect(exit.code).toBe(0);
    expect(exit.warnings).toEqual([]);
    expect(exit.exitStatus).toMatchObject({ event: 'exit', stop: 'signal', malformed: 0 });
    expect(Object.values(exit.exitStatus!.drops as Record<string, number>).every((n) => n === 0)).toBe(true);
    expect(exit.stderr).toMatch(/^summary: records=\d+ .*ringbuf=0/m);
  });

  it('emits exactly one request_start and request_end per request, with method, path and status', () => {
    const all = [...sequential.map((r) => ({ ...r, method: 'GET', path: '/seq' })), ...concurrent.map((r) => ({ ...r, method: 'POST', path: '/orders' }))];
    const starts = only(exit.events, EventKind.RequestStart);
    const ends = only(exit.events, EventKind.RequestEnd);
    expect(starts.map((e) => [e.requestId, e.method, e.path]).sort()).toEqual(all.map((r) => [r.id, r.method, r.path]).sort());
    expect(ends.map((e) => [e.requestId, e.status]).sort()).toEqual(all.map((r) => [r.id, 200]).sort());
  });

  it('reports a cache hit or miss, and one query exactly when the request went to the database', () => {
    for (const r of [...sequential, ...concurrent]) {
      const ev = byRequest(exit.events, r.id);
      expect(only(ev, EventKind.CacheHit).length, r.id).toBe(r.delay === 0 ? 1 : 0);
      expect(only(ev, EventKind.CacheMiss).length, r.id).toBe(r.delay === 0 ? 0 : 1);
      expect(only(ev, EventKind.DbQueryStart).map((e) => e.query), r.id).toEqual(r.delay === 0 ? [] : ['/* request */ SELECT pg_sleep($1)']);
      expect(only(ev, EventKind.DbQueryEnd).length, r.id).toBe(r.delay === 0 ? 0 : 1);
    }
  });

  it('tags the request bytes (read before request_start) and the response on the inbound fd', () => {
    for (const r of [...sequential, ...concurrent]) {
      const ev = byRequest(exit.events, r.id);
      const start = only(ev, EventKind.RequestStart)[0]!;
      const recv = only(ev, EventKind.SockRecv).filter((e) => e.fd === start.fd);
      const send = only(ev, EventKind.SockSend).filter((e) => e.fd === start.fd);
      const method = r.id.startsWith('00') && sequential.includes(r) ? 'GET /seq' : 'POST /orders';
      expect(recv.map((e) => e.bytes), r.id).toEqual([BigInt(`${method} ${r.id} ${r.delay}\n`.length)]);
      expect(recv[0]!.tsNs).toBeLessThanOrEqual(start.tsNs);
      expect(send.map((e) => e.bytes), r.id).toEqual([BigInt(`200 ${r.id}\n`.length)]);
      expect(send[0]!.tuple).toMatchObject({ localAddress: '127.0.0.1', localPort: PORT, remoteAddress: '127.0.0.1' });
    }
  });

  it('gives each of 24 concurrent requests its own database time (send → result arrival ≈ its delay)', () => {
    for (const r of concurrent) {
      const ev = byRequest(exit.events, r.id);
      const q = only(ev, EventKind.DbQueryStart)[0]!;
      const send = only(ev, EventKind.SockSend).filter((e) => e.fd === q.fd);
      const recv = only(ev, EventKind.SockRecv).filter((e) => e.fd === q.fd);
      expect(send.length, r.id).toBe(1);
      expect(recv.length, r.id).toBe(1);
      expect(recv[0]!.tuple.remotePort).toBe(PORT + 1);
      const arrival = recv[0]!.arrivalNs > 0n ? recv[0]!.arrivalNs : recv[0]!.tsNs;
      const rtt = arrival - send[0]!.tsNs;
      expect(rtt, r.id).toBeGreaterThanOrEqual(BigInt(r.delay) * MS);
      expect(rtt, r.id).toBeLessThan(BigInt(r.delay + SPACING_MS - 5) * MS);
    }
  });

  it('never tags an event on an fd the request did not hold at that moment', () => {
    for (const r of [...sequential, ...concurrent]) {
      const ev = byRequest(exit.events, r.id);
      const start = only(ev, EventKind.RequestStart)[0]!;
      const end = only(ev, EventKind.RequestEnd)[0]!;
      const fds = new Set([start.fd, ...only(ev, EventKind.DbQueryStart).map((e) => e.fd), ...only(ev, EventKind.FileOpen).map((e) => e.fd)]);
      for (const e of ev) {
        if (e.fd !== -1) expect(fds.has(e.fd), `${r.id} kind ${e.kind} fd ${e.fd}`).toBe(true);
        if (e.kind !== EventKind.SockRecv) expect(e.tsNs >= start.tsNs && e.tsNs <= end.tsNs, `${r.id} kind ${e.kind}`).toBe(true);
      }
    }
    const tagged = exit.events.filter((e) => e.requestId !== '');
    const known = new Set([...sequential, ...concurrent].map((r) => r.id));
    expect(tagged.filter((e) => !known.has(e.requestId))).toEqual([]);
  });

  it('attributes file reads and writes done by a worker thread to the request that opened the file', () => {
    for (const r of [...sequential, ...concurrent]) {
      const ev = byRequest(exit.events, r.id);
      const open = only(ev, EventKind.FileOpen);
      expect(open.map((e) => e.path)).toEqual([join(dir, r.id)]);
      const reads = only(ev, EventKind.FileRead);
      const writes = only(ev, EventKind.FileWrite);
      expect(reads.map((e) => e.bytes)).toEqual([4096n]);
      expect(writes.map((e) => e.bytes)).toEqual([4096n]);
      for (const io of [...reads, ...writes]) {
        expect(io.fd).toBe(open[0]!.fd);
        expect(io.tid).not.toBe(open[0]!.tid);
        expect(io.inode).toBeGreaterThan(0n);
      }
      expect(only(ev, EventKind.FileClose).map((e) => e.fd)).toEqual([open[0]!.fd]);
    }
  });

  it('leaves no program, link or semaphore behind once stopped', () => {
    expect(progIds.length).toBeGreaterThan(0);
    expect(linkIds.length).toBeGreaterThan(0);
    expect(Object.values(semsWhileAttached).every((n) => n > 0)).toBe(true);
    expect(Object.keys(semsWhileAttached).sort()).toEqual(
      ['cache_hit', 'cache_miss', 'db_query_end', 'db_query_start', 'file_close', 'file_open', 'request_end', 'request_start'],
    );
    const progs = bpfObjectIds('prog');
    const links = bpfObjectIds('link');
    expect(progIds.filter((p) => progs.has(p))).toEqual([]);
    expect(linkIds.filter((l) => links.has(l))).toEqual([]);
    expect(usdtSemaphores(fixture.pid!, FIXTURE, 'reqtrace')).toEqual(Object.fromEntries(Object.keys(semsWhileAttached).map((k) => [k, 0])));
  });
});

describe('head sampling', () => {
  it('follows only ids whose first 32 bits fall under the rate; the rest emit request_start/end only', async () => {
    const loader = await startLoader(['-p', String(fixture.pid), '-a', FIXTURE, '--sample', '0.5', '--families', '+files']);
    const sampled = [1, 2, 3].map((n) => id(0x300 + n, '10')); // head 0x10… < 0x80000000
    const skipped = [1, 2, 3].map((n) => id(0x400 + n, 'f0'));
    const c = await LineClient.open();
    for (const r of [...sampled, ...skipped]) await c.ask(`GET /s ${r} 5`);
    c.close();
    await new Promise((r) => setTimeout(r, 200));
    const { events, code } = await loader.stop();
    expect(code).toBe(0);
    for (const r of sampled) {
      expect(new Set(byRequest(events, r).map((e) => e.kind)), r).toEqual(
        new Set([EventKind.SockRecv, EventKind.RequestStart, EventKind.CacheMiss, EventKind.DbQueryStart, EventKind.SockSend, EventKind.DbQueryEnd, EventKind.FileOpen, EventKind.FileWrite, EventKind.FileRead, EventKind.FileClose, EventKind.RequestEnd]),
      );
    }
    for (const r of skipped) {
      expect(byRequest(events, r).map((e) => e.kind), r).toEqual([EventKind.RequestStart, EventKind.RequestEnd]);
    }
  });

  it('while sampling writes records once in 5 s, and at once on SIGUSR1', async () => {
    const loader = await startLoader(['-p', String(fixture.pid), '-a', FIXTURE, '--sample', '0.5']);
    const r = id(0x311, '10');
    const c = await LineClient.open();
    await c.ask(`GET /s ${r} 5`);
    c.close();
    await new Promise((res) => setTimeout(res, 500));
    const before = decodeEvents(readFileSync(loader.eventsPath)).events;
    process.kill(loader.pid, 'SIGUSR1');
    await new Promise((res) => setTimeout(res, 500));
    const after = decodeEvents(readFileSync(loader.eventsPath)).events;
    const { code } = await loader.stop();
    expect(code).toBe(0);
    expect(byRequest(before, r), 'written before the flush').toEqual([]);
    expect(byRequest(after, r).map((e) => e.kind)).toContain(EventKind.RequestEnd);
  });

  it('tail keeping: an unsampled request that ends slow or with a 5xx is kept whole, a fast one only starts and ends', async () => {
    const loader = await startLoader(['-p', String(fixture.pid), '-a', FIXTURE, '--sample', '0.5', '--keep-slower-than', '30', '--families', '+files']);
    const slow = id(0x501, 'f0');
    const failed = id(0x502, 'f0');
    const fast = id(0x503, 'f0');
    const sampled = id(0x504, '10');
    const c = await LineClient.open();
    expect(await c.ask(`GET /slow ${slow} 45`)).toBe(`200 ${slow}`);
    expect(await c.ask(`GET /fail ${failed} 5`)).toBe(`500 ${failed}`);
    expect(await c.ask(`GET /fast ${fast} 5`)).toBe(`200 ${fast}`);
    expect(await c.ask(`GET /fast ${sampled} 5`)).toBe(`200 ${sampled}`);
    c.close();
    await new Promise((r) => setTimeout(r, 200));
    const { events, code, stderr } = await loader.stop();
    expect(code).toBe(0);
    expect(stderr).toMatch(/^tail: threshold_us=30000 kept_slow=1 kept_error=1 dropped=1 buffer_full=0 slots_full=0 unfinished=0 late=\d+$/m);
    const whole = new Set([EventKind.RequestKept, EventKind.SockRecv, EventKind.RequestStart, EventKind.CacheMiss, EventKind.DbQueryStart, EventKind.SockSend, EventKind.DbQueryEnd, EventKind.FileOpen, EventKind.FileWrite, EventKind.FileRead, EventKind.FileClose, EventKind.RequestEnd]);
    for (const [r, reason] of [[slow, KeepReason.Slow], [failed, KeepReason.Error]] as const) {
      const ev = byRequest(events, r);
      expect(new Set(ev.map((e) => e.kind)), r).toEqual(whole);
      expect(ev[0], 'the kept mark comes first').toMatchObject({ kind: EventKind.RequestKept, reason, complete: true, thresholdUs: 30_000n });
      expect(only(ev, EventKind.RequestStart)[0]).toMatchObject({ method: 'GET' });
    }
    expect(byRequest(events, fast).map((e) => e.kind)).toEqual([EventKind.RequestStart, EventKind.RequestEnd]);
    expect(only(byRequest(events, fast), EventKind.RequestStart)[0]).toMatchObject({ method: '', path: '' });
    const sampledKinds = new Set(byRequest(events, sampled).map((e) => e.kind));
    expect(sampledKinds.has(EventKind.RequestKept)).toBe(false);
    expect(sampledKinds.has(EventKind.DbQueryStart)).toBe(true);
    // Nothing provisional leaks into the capture.
    expect(events.every((e) => (e.kind as number) < 0x8000)).toBe(true);
  });
});

describe('reqtrace command line', () => {
  const run = (args: string[]) => spawnSync(REQTRACE, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it.each([
    [['--sample', '0'], /--sample must be a number with 0 < RATE <= 1, got '0'/],
    [['--app-pid', '12x'], /--app-pid must be a whole number from 1 to \d+, got '12x'/],
    [['--families', 'usdt,bogus'], /unknown family 'bogus'; known: core usdt sockets files/],
    [['-d', '0'], /--duration must be a whole number from 1 to 86400, got '0'/],
    [['--app-pid', '999999999'], /--app-pid 999999999: no such process/],
    [['--families', 'usdt', '--app-pid', '1'], /family usdt was asked for but does not apply/],
  ])('rejects %j with one clear line and a non-zero exit', (args, message) => {
    const r = run(args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('stops by itself after -d seconds with a summary', () => {
    const r = spawnSync(REQTRACE, ['-p', String(fixture.pid), '-d', '1', '--families', 'sockets'], { encoding: 'buffer', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stderr.toString()).toMatch(/^attached: core=tp_btf sockets=tp_btf$/m);
    expect(r.stderr.toString()).toMatch(/^summary: .* stop=duration$/m);
  });
});


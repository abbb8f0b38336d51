/**
 * Head sampling end to end: a real lab (nginx, the app, PostgreSQL) traced by the real loader at
 * `--sample 0.25` and, for scale, at 1. The kernel follows exactly the ids shared/sampling.ts
 * accepts: the rest leave only RequestStart/RequestEnd, and none of nginx's or PostgreSQL's
 * records; every request still gets a trace, and `lab validate` holds for both kinds. A fixed
 * sequence of sampled and unsampled ids on one keep-alive connection checks that nginx's records
 * follow each request, not its neighbour. Run as root; under CI=true a missing build fails
 * instead of skipping.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { isSockIo, type SockIo } from '../assembler/event-time.ts';
import { rootOf } from '../assembler/span.ts';
import type { CheckResult } from '../assembler/validate-trace.ts';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../test/lab-fixture.ts';
import type { Capture } from '../shared/capture-types.ts';
import { EventKind } from '../shared/event-types.ts';
import { readCapture } from '../tracer/read-capture.ts';
import { isSampled } from '../shared/sampling.ts';
import { describeBuilt, requireBuilt } from '../test/require-built.ts';
import { startLoader } from '../test/run-loader.ts';
import { loaderArgs, type SocketsFloor } from '../tracer/loader-args.ts';
import { DEFAULT_ADDON_PATH } from '../lab/app/native/usdt-addon.ts';
import { enableBpfStats, readProgStats } from '../bench/bpf-prog-stats.ts';

const RATE = 0.25;
const REQUESTS = 300;
const out = mkdtempSync(join(tmpdir(), 'lab-sampling-e2e-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/**
 * nginx's client-side records attributed to requests by the access log's client connection and
 * HTTP/1.1 order: a read belongs to the first request on its connection whose app start comes
 * after it, a write to the last request whose app start came before it.
 */
function clientSideOwners(c: Capture): Map<SockIo, string> {
  const nginx = new Set(c.meta.pids.nginx ?? []);
  const appStart = new Map<string, bigint>();
  for (const e of c.events) if (e.kind === EventKind.RequestStart) appStart.set(e.requestId, e.tsNs);
  const byPort = new Map<number, { id: string; start: bigint }[]>();
  for (const a of c.nginx) {
    const start = appStart.get(a.requestId);
    if (a.remotePort == null || start === undefined) continue;
    byPort.set(a.remotePort, [...(byPort.get(a.remotePort) ?? []), { id: a.requestId, start }]);
  }
  const owners = new Map<SockIo, string>();
  for (const e of c.events) {
    if (!isSockIo(e) || !nginx.has(e.pid) || e.bytes <= 0n || e.tuple.localPort !== c.meta.ports.proxy) continue;
    const turns = (byPort.get(e.tuple.remotePort) ?? []).sort((x, y) => (x.start < y.start ? -1 : 1));
    const owner = e.kind === EventKind.SockRecv ? turns.find((t) => t.start > e.tsNs) : turns.filter((t) => t.start < e.tsNs - e.durationNs).at(-1);
    if (owner) owners.set(e, owner.id);
  }
  return owners;
}

/** Pause between the keep-alive requests: an arrival time left over from the one before would
 * make a socket buffer wait at least this long. */
const GAP_MS = 150;

/** GETs `url` once per id, in order, on one keep-alive connection; returns the client's local port. */
async function getOnOneConnection(url: string, ids: readonly string[]): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  try {
    for (const [i, id] of ids.entries()) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
      await new Promise<void>((resolve, reject) => {
        const req = get(url, { agent, headers: { 'x-request-id': id }, timeout: 5000 }, (res) => {
          ports.add(res.socket.localPort as number);
          res.resume();
          res.once('end', resolve);
          res.once('error', reject);
        });
        req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
        req.once('error', reject);
      });
    }
  } finally {
    agent.destroy();
  }
  if (ports.size !== 1) throw new Error(`expected one keep-alive connection, used ${ports.size}`);
  return [...ports][0] as number;
}

describeBuilt('head sampling in the kernel (real lab, real loader)', () => {
  let lab: RunningLab;
  let sampled: Capture;
  let full: Capture;
  const dirs = { sampled: join(out, 'sampled'), full: join(out, 'full') };

  beforeAll(async () => {
    requireBuilt();
    if (process.getuid?.() !== 0) throw new Error('head sampling is applied by BPF programs: run this test as root');
    const base = testPortBase(25300);
    lab = await startLab({ portBase: base, stateDir: join(tmpdir(), `lab-sampling-e2e-${base}`), usdt: 'native' });
    for (const [dir, extra] of [
      [dirs.sampled, ['--sample', String(RATE)]],
      [dirs.full, []],
    ] as const) {
      const r = await runLabCli(lab, ['trace', '--out', dir, '--requests', String(REQUESTS), '--connections', '4', '--families', '+postgres', ...extra], { timeoutMs: 40_000 });
      expect(r.stderr).toMatch(new RegExp(`capture .*: ${REQUESTS} requests, \\d+ events \\(BPF\\), 0 dropped`));
      expect(r.stderr).not.toMatch(/has not confirmed the sampling rate/);
      expect(r.code).toBe(0);
    }
    sampled = await readCapture(dirs.sampled);
    full = await readCapture(dirs.full);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('records the rate, and every request the client made has a trace, tagged with whether it was sampled', () => {
    expect(sampled.meta).toMatchObject({ source: 'bpf', sample: RATE });
    expect(sampled.client).toHaveLength(REQUESTS);
    const traces = new Map(assembleCapture(sampled).traces.map((t) => [t.traceId, t]));
    for (const o of sampled.client) {
      const t = traces.get(o.requestId);
      expect(t, o.requestId).toBeDefined();
      expect(rootOf(t as NonNullable<typeof t>).tags['sampling.sampled']).toBe(isSampled(o.requestId, RATE));
    }
    // 300 draws at 0.25: 75 expected, outside 40..110 once in ~10^7.
    const n = sampled.client.filter((o) => isSampled(o.requestId, RATE)).length;
    expect(n).toBeGreaterThan(40);
    expect(n).toBeLessThan(110);
  });

  it('an unsampled request leaves nothing once the app knows the rate (before: only RequestStart/RequestEnd), and no nginx record of its own', () => {
    const unsampled = new Set(sampled.client.map((o) => o.requestId).filter((id) => !isSampled(id, RATE)));
    const tagged = sampled.events.filter((e) => unsampled.has(e.requestId));
    expect(tagged.filter((e) => e.kind !== EventKind.RequestStart && e.kind !== EventKind.RequestEnd)).toEqual([]);
    const starts = new Set(tagged.filter((e) => e.kind === EventKind.RequestStart).map((e) => e.requestId));
    const ends = new Set(tagged.filter((e) => e.kind === EventKind.RequestEnd).map((e) => e.requestId));
    expect([...starts].sort()).toEqual([...ends].sort());
    // lab trace starts the load once the app has confirmed the rate: from then on it fires nothing for them.
    expect(starts.size, `${starts.size} of ${unsampled.size} unsampled requests fired probes`).toBe(0);
    // nginx's records are untagged: attribute them by connection and order.
    const owned = [...clientSideOwners(sampled).values()].filter((id) => unsampled.has(id));
    expect(owned.length, `${owned.length} nginx client-side record(s) of unsampled requests`).toBe(0);
    const a = assembleCapture(sampled);
    expect(a.warnings.filter((w) => /belong to unsampled requests/.test(w))).toEqual([]);
  });

  it('a sampled request has tagged socket records, and PostgreSQL phases for its queries', () => {
    const ids = sampled.client.map((o) => o.requestId).filter((id) => isSampled(id, RATE));
    const byId = new Map<string, Set<number>>();
    for (const e of sampled.events) if (e.requestId !== '') byId.set(e.requestId, (byId.get(e.requestId) ?? new Set()).add(e.kind));
    const lacking = ids.filter((id) => {
      const kinds = byId.get(id) ?? new Set();
      return !kinds.has(EventKind.SockRecv) || !kinds.has(EventKind.SockSend) || (kinds.has(EventKind.DbQueryStart) && !kinds.has(EventKind.PgPhase));
    });
    expect(lacking).toEqual([]);
  });

  it('on one keep-alive connection, sampled → unsampled → sampled: nginx keeps exactly the sampled requests\' records', async () => {
    // Heads below 0x40000000 are sampled at 0.25.
    const ids = ['1a2b3c4d000000000000000000000001', 'c0ffee00000000000000000000000002', '2b3c4d5e000000000000000000000003', 'd00dfeed000000000000000000000004', 'e1e2e3e4000000000000000000000005', '3c4d5e6f000000000000000000000006'];
    const wanted = ids.filter((id) => isSampled(id, RATE));
    expect(wanted).toEqual([ids[0], ids[2], ids[5]]);
    const dir = join(out, 'keepalive');
    let sent: Promise<number> | null = null;
    const r = await runLabCli(lab, ['trace', '--out', dir, '--no-load', '--duration', '3', '--sample', String(RATE), '--arrivals'], {
      timeoutMs: 30_000,
      onStderr: (text) => {
        if (sent === null && text.includes('tracing whatever arrives')) sent = getOnOneConnection(lab.url('/api/users'), ids);
      },
    });
    expect(r.code).toBe(0);
    expect(sent).not.toBeNull();
    const port = await (sent as unknown as Promise<number>);
    const c = await readCapture(dir);
    const mine = c.events.filter((e): e is SockIo => isSockIo(e) && e.bytes > 0n && e.tuple.localPort === c.meta.ports.proxy && e.tuple.remotePort === port);
    const owners = clientSideOwners(c);
    expect(mine.map((e) => owners.get(e)).filter((id) => id === undefined || !wanted.includes(id))).toEqual([]);
    for (const id of wanted) {
      const kinds = mine.filter((e) => owners.get(e) === id).map((e) => e.kind);
      expect(kinds, id).toContain(EventKind.SockRecv);
      expect(kinds, id).toContain(EventKind.SockSend);
    }
    // The sampled have both nginx spans from kernel records, whole; the rest none (their spans,
    // if the access log leaves room for any, are estimated).
    const traces = new Map(assembleCapture(c).traces.map((t) => [t.traceId, t]));
    for (const id of ids) {
      const nginxSpans = traces.get(id)?.spans.filter((s) => s.name === 'nginx processing' || s.name === 'nginx response') ?? [];
      const measured = nginxSpans.filter((s) => s.tags.estimated !== true);
      if (!wanted.includes(id)) {
        expect(measured.map((s) => s.name), id).toEqual([]);
        continue;
      }
      expect(measured.map((s) => s.name).sort(), id).toEqual(['nginx processing', 'nginx response']);
      expect(measured.flatMap((s) => s.warnings), id).toEqual([]);
      // Each socket buffer wait lies inside its own request, not back to the unsampled one before
      // (--arrivals: the arrival times are recorded while sampling).
      const t = traces.get(id) as NonNullable<ReturnType<typeof traces.get>>;
      const root = rootOf(t);
      const waits = t.spans.map((s) => Number(s.tags['kernel.socket_buffer_wait_ns'] ?? 0));
      expect(Math.max(...waits) / 1e6, id).toBeLessThan(Math.min(GAP_MS, Number(root.endNs - root.startNs) / 1e6 + 1));
    }
    const arrived = new Set(c.events.filter((e) => isSockIo(e) && e.kind === EventKind.SockRecv && e.arrivalNs > 0n && wanted.includes(e.requestId)).map((e) => e.requestId));
    expect([...arrived].sort(), 'sampled requests with an arrival time on their app-side read').toEqual([...wanted].sort());
  });

  it('a benchmark\'s floor (--sockets-floor): the socket programs still run on every socket call, and record no socket I/O', async () => {
    const ids = ['1a2b3c4d00000000000000000000000a', 'c0ffee0000000000000000000000000b', '2b3c4d5e00000000000000000000000c'];
    const wanted = ids.filter((id) => isSampled(id, RATE));
    expect(wanted).toEqual([ids[0], ids[2]]);
    const restore = enableBpfStats();
    try {
      for (const floor of [undefined, 'dispatch', 'ports', 'state'] as (SocketsFloor | undefined)[]) {
        const loader = await startLoader(
          loaderArgs({ appPid: lab.pids.app, addonPath: DEFAULT_ADDON_PATH, nginxPids: lab.pids.proxy, pgPid: lab.pids.postgres, sample: RATE, maxSeconds: 60, ...(floor ? { socketsFloor: floor } : {}) }),
        );
        let before: ReturnType<typeof readProgStats>;
        let after: ReturnType<typeof readProgStats>;
        let exit: Awaited<ReturnType<typeof loader.stop>>;
        try {
          before = readProgStats();
          await getOnOneConnection(lab.url('/api/users'), ids);
          after = readProgStats();
        } finally {
          exit = await loader.stop();
        }
        const runs = (name: string): number => loader.progIds.reduce((n, id) => n + (after.get(id)?.name === name ? after.get(id)!.runCnt - (before.get(id)?.runCnt ?? 0) : 0), 0);
        const label = floor ?? 'no floor';
        expect(exit.code, label).toBe(0);
        // Three requests: the proxy's, the app's and PostgreSQL's sends and receives at least.
        expect(runs('btf_recv'), label).toBeGreaterThanOrEqual(9);
        expect(runs('btf_send'), label).toBeGreaterThanOrEqual(9);
        const starts = exit.events.filter((e) => e.kind === EventKind.RequestStart && ids.includes(e.requestId)).map((e) => e.requestId);
        expect(starts.sort(), label).toEqual([...ids].sort());
        const sockIo = exit.events.filter(isSockIo);
        if (floor) expect(sockIo, label).toEqual([]);
        else expect(new Set(sockIo.map((e) => e.requestId).filter((id) => ids.includes(id))), label).toEqual(new Set(wanted));
      }
    } finally {
      restore();
    }
  });

  it('records no arrival times while sampling unless asked (--arrivals), and says so in the capture', () => {
    const arrivals = (c: Capture): number => c.events.filter((e) => isSockIo(e) && e.arrivalNs > 0n).length;
    expect(arrivals(sampled)).toBe(0);
    expect(sampled.meta.coverage).toContainEqual(expect.stringContaining('no arrival times'));
    expect(arrivals(full)).toBeGreaterThan(0);
    expect(full.meta.coverage?.some((l) => l.includes('no arrival times'))).toBe(false);
  });

  it('leaves no gate open: every decision consumed by nginx, every wanted response head written', () => {
    const gates = (dir: string) => {
      const m = /^sockets: gate_binds=(\d+) gate_decisions=(-?\d+) gate_heads=(-?\d+)$/m.exec(readFileSync(join(dir, 'loader.log'), 'utf8'));
      expect(m, dir).not.toBeNull();
      return { binds: Number(m?.[1]), decisions: Number(m?.[2]), heads: Number(m?.[3]) };
    };
    const s = gates(dirs.sampled);
    expect(s.binds).toBeGreaterThan(0);
    expect({ decisions: s.decisions, heads: s.heads }).toEqual({ decisions: 0, heads: 0 });
    // Without sampling nothing waits for a decision at all.
    expect(gates(dirs.full)).toMatchObject({ decisions: 0, heads: 0 });
  });

  it('emits well under half the records of the same load at rate 1', () => {
    expect(full.client).toHaveLength(REQUESTS);
    expect(sampled.events.length / full.events.length).toBeLessThan(0.5);
  });

  it('lab validate: no root outlasts its client, sampled or not; upstream spans agree with nginx for the sampled', async () => {
    const r = await runLabCli(lab, ['validate', dirs.sampled, '--json'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { traces: number; sampling: { rate: number; sampled: number; unsampled: number }; checks: CheckResult[] };
    expect(report.traces).toBe(REQUESTS);
    expect(report.sampling).toEqual({ rate: RATE, sampled: sampled.client.filter((o) => isSampled(o.requestId, RATE)).length, unsampled: expect.any(Number) });
    expect(report.sampling.sampled + report.sampling.unsampled).toBe(REQUESTS);
    const check = (name: string): CheckResult => report.checks.find((c) => c.name === name) as CheckResult;
    expect(check('root span not longer than the client saw')).toMatchObject({ compared: REQUESTS });
    expect(check('root span not longer than the client saw').share).toBeGreaterThanOrEqual(0.99);
    const sampledRoots = check('root span not longer than the client saw, sampled requests');
    expect(sampledRoots.compared).toBe(report.sampling.sampled);
    // The 1% all requests are allowed, at least one: on loopback nginx's last send can return
    // after its client has read the bytes (nginx preempted in between), ending the root late.
    expect(sampledRoots.compared - sampledRoots.within, JSON.stringify(sampledRoots.worst)).toBeLessThanOrEqual(Math.max(1, Math.floor(0.01 * sampledRoots.compared)));
    const upstream = check('upstream spans vs nginx upstream_response_time');
    expect(upstream.compared).toBeGreaterThanOrEqual(0.95 * report.sampling.sampled);
    expect(upstream.share).toBeGreaterThanOrEqual(0.95);
  });
});

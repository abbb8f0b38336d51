/**
 * Each wait made on purpose, on a real lab (nginx, the app, PostgreSQL) traced with the real
 * loader, and found by `lab analyze` under its own name. A baseline capture of plain GET
 * /api/users, then one capture (with the opt-in offcpu, netdev, slowsys and faults families) in
 * which the test produces, one after the other:
 *
 *   phase            how                                          expected
 *   pool exhaustion  30 concurrent db_delay_ms=150 requests on     pool wait spans (10 of 10 busy),
 *                    the app's 10-connection pool                  pool-wait findings
 *   held lock        a row lock held 600 ms by another session     lock wait ≥ 500 ms on a route the
 *                    while POST /api/orders updates that row       baseline never saw: lock-wait
 *   CPU starvation   PostgreSQL's backends held to 1% of a CPU     "… of it the backend waited for
 *                    (a CPU cgroup quota) while requests run       a CPU"
 *   accept queue     nginx's workers stopped 400 ms while 12 new   accept queue wait spans,
 *                    connections send their requests               request-queuing-delay findings
 *   lost SYN         an iptables rule drops one SYN to nginx       handshake ≥ 0.9 s on the root,
 *                                                                  slow-connection-establishment
 *
 * and a cold read: PostgreSQL restarted and the users table's files dropped from the page cache,
 * so a count(*) reads them from disk: block reads under that query's DB processing.
 *
 * A quota, not busy loops beside the backends: a statement's CPU burst is shorter than a
 * scheduler slice, and the kernel runs a task it wakes at once, so busy loops alone rarely keep a
 * backend waiting; a throttled backend is runnable and waits for the next period, every time.
 *
 * Bounds are generous (the machine is shared); no assertion depends on speed beyond them. Every
 * process, rule, cgroup and stopped worker the test makes is undone in afterAll, also after a
 * failure.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadTraces } from '../assembler/load-traces.ts';
import { durationNs, type Span, type Trace } from '../assembler/span.ts';
import { pgAdminConnectionConfig } from '../lab/db/postgres-cluster.ts';
import { startPostgres, stopPostgres } from '../lab/db/postgres.ts';
import { childPids } from '../lab/lifecycle/processes.ts';
import { runLabCli, startLab, testPortBase, type RunningLab } from '../test/lab-fixture.ts';
import { describeBuilt, requireBuilt } from '../test/require-built.ts';
import type { AnalysisReport } from './analyze-capture.ts';
import type { Finding } from './finding.ts';
import { kernelSplit } from './kernel-split.ts';

const PORT_BASE = testPortBase(30100);
const POOL_DELAY_MS = 150;
const LOCK_HOLD_MS = 600;
const STOP_NGINX_MS = 400;
const PRODUCT = 7;

const idOf = (role: string, i: number): string => createHash('sha256').update(`attribution-e2e ${role} ${i}`).digest('hex').slice(0, 32);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const ids = {
  normal: range(60).map((i) => idOf('normal', i)),
  pool: range(30).map((i) => idOf('pool', i)),
  lock: idOf('lock', 0),
  cpu: range(20).map((i) => idOf('cpu', i)),
  queued: range(12).map((i) => idOf('queued', i)),
  syn: idOf('syn', 0),
  cold: idOf('cold', 0),
};

const out = mkdtempSync(join(tmpdir(), 'lab-attribution-e2e-'));
const iptablesRule = (port: number): string[] => [
  'INPUT', '-i', 'lo', '-p', 'tcp', '--dport', String(port), '--syn',
  '-m', 'statistic', '--mode', 'nth', '--every', '2', '--packet', '0',
  '-m', 'comment', '--comment', `reqtrace-attribution-e2e-${process.pid}`, '-j', 'DROP',
];

describeBuilt('waits named for what they are, on real captures (BPF)', () => {
  let lab: RunningLab;
  let stoppedWorkers: number[] = [];
  let ruleAdded = false;
  /** The CPU cgroup holding PostgreSQL's backends during the starvation phase, and where each came from. */
  let capped: { dir: string; tasks: string; home: Map<number, string> } | null = null;
  const baselineDir = join(out, 'baseline');
  const anomalousDir = join(out, 'anomalous');
  const baselineFile = join(out, 'baseline.json');
  let report: AnalysisReport;
  let traces: ReadonlyMap<string, Trace>;
  let meta: { hooks: Record<string, string> };

  /** One request with its own id, on the shared keep-alive agent unless `fresh` (a new connection). */
  function send(id: string, path: string, opts: { method?: string; body?: string; fresh?: boolean } = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        lab.url(path),
        {
          method: opts.method ?? 'GET',
          headers: { 'x-request-id': id, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.fresh ? { connection: 'close' } : {}) },
          ...(opts.fresh ? { agent: false } : {}),
          timeout: 20_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request ${id} timed out`)));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  const inTurn = async (fs: (() => Promise<unknown>)[]): Promise<void> => {
    for (const f of fs) await f();
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  async function holdRowLockWhile(fn: () => Promise<unknown>): Promise<void> {
    const holder = new pg.Client(pgAdminConnectionConfig(lab.config));
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('UPDATE products SET units_sold = units_sold WHERE id = $1', [PRODUCT]);
      const waiting = fn();
      await sleep(LOCK_HOLD_MS);
      await holder.query('COMMIT');
      await waiting;
    } finally {
      await holder.end();
    }
  }

  /**
   * Moves the backends into a new CPU cgroup capped at 1 ms of CPU per 100 ms (cgroup v2 cpu.max,
   * else the v1 cpu controller's CFS quota).
   */
  function capBackends(): void {
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers') && readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('cpu');
    const root = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/cpu';
    const dir = join(root, `reqtrace-attribution-e2e-${process.pid}`);
    mkdirSync(dir);
    capped = { dir, tasks: join(dir, v2 ? 'cgroup.procs' : 'tasks'), home: new Map() };
    if (v2) writeFileSync(join(dir, 'cpu.max'), '1000 100000');
    else {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), '1000');
    }
    for (const pid of childPids(lab.pids.postgres)) {
      try {
        const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
          .split('\n')
          .find((l) => (v2 ? l.startsWith('0::') : /^\d+:[^:]*\bcpu\b[^:]*:/.test(l)));
        const home = line?.slice(line.lastIndexOf(':') + 1);
        if (home === undefined) continue;
        writeFileSync(capped.tasks, String(pid));
        capped.home.set(pid, join(root, home, v2 ? 'cgroup.procs' : 'tasks'));
      } catch {
        // a short-lived child gone between listing and moving it
      }
    }
  }

  function uncapBackends(): void {
    if (!capped) return;
    for (const [pid, tasks] of capped.home) {
      try {
        writeFileSync(tasks, String(pid));
      } catch {
        // the backend is gone
      }
    }
    rmdirSync(capped.dir);
    capped = null;
  }

  function resumeWorkers(): void {
    for (const pid of stoppedWorkers.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  }

  function removeRule(): void {
    if (!ruleAdded) return;
    execFileSync('iptables', ['-D', ...iptablesRule(lab.config.proxyPort)]);
    ruleAdded = false;
  }

  async function sendAnomalies(): Promise<void> {
    // Pool exhaustion: three times the pool's connections, each held 150 ms.
    await Promise.all(ids.pool.map((id) => send(id, `/api/users?db_delay_ms=${POOL_DELAY_MS}`)));
    // A held row lock: the order's UPDATE of that product waits for it.
    await holdRowLockWhile(() => send(ids.lock, '/api/orders', { method: 'POST', body: JSON.stringify({ user_id: 1, product_id: PRODUCT, quantity: 1 }) }));
    // CPU starvation: each backend may run 1 ms per 100 ms.
    capBackends();
    try {
      await inTurn(ids.cpu.map((id) => () => send(id, '/api/users')));
    } finally {
      uncapBackends();
    }
    // New connections while nginx is not accepting: its workers stopped for 400 ms.
    stoppedWorkers = lab.pids.proxy.slice(1);
    for (const pid of stoppedWorkers) process.kill(pid, 'SIGSTOP');
    const queued = ids.queued.map((id) => send(id, '/healthz', { fresh: true }));
    await sleep(STOP_NGINX_MS);
    resumeWorkers();
    await Promise.all(queued);
    // A lost SYN: the next SYN to nginx is dropped once, so its connect retries after a second.
    execFileSync('iptables', ['-I', ...iptablesRule(lab.config.proxyPort)]);
    ruleAdded = true;
    try {
      await send(ids.syn, '/healthz', { fresh: true });
    } finally {
      removeRule();
    }
  }

  /** Runs `lab trace --no-load` for `seconds` with `extra` options while `traffic` runs. */
  async function traceWhile(dir: string, seconds: number, extra: string[], traffic: () => Promise<void>): Promise<void> {
    let sending: Promise<void> | null = null;
    const r = await runLabCli(lab, ['trace', '--out', dir, '--no-load', '--duration', String(seconds), ...extra], {
      timeoutMs: 120_000,
      onStderr: (text) => {
        if (sending === null && text.includes('tracing whatever arrives')) sending = traffic();
      },
    });
    await sending;
    if (r.code !== 0) throw new Error(`lab trace ${dir} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }

  beforeAll(async () => {
    requireBuilt();
    lab = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-attribution-e2e-${PORT_BASE}`), usdt: 'native' });
    await traceWhile(baselineDir, 6, ['--families', '+postgres'], () => inTurn(ids.normal.map((id) => () => send(id, '/api/users'))));
    const b = await runLabCli(lab, ['baseline', baselineDir, '--out', baselineFile], { timeoutMs: 30_000 });
    if (b.code !== 0) throw new Error(`lab baseline failed: ${b.stderr.trim().split('\n').at(-1)}`);

    // PostgreSQL's phases say which backend served each statement, and so whose waits are its.
    await traceWhile(anomalousDir, 14, ['--families', '+postgres,offcpu,netdev,slowsys,faults', '--slow-syscall-ms', '1'], sendAnomalies);
    const a = await runLabCli(lab, ['analyze', anomalousDir, '--baseline', baselineFile, '--json'], { timeoutMs: 60_000 });
    if (a.code !== 0) throw new Error(`lab analyze failed: ${a.stderr.trim().split('\n').at(-1)}`);
    report = JSON.parse(a.stdout) as AnalysisReport;
    traces = new Map((await loadTraces(anomalousDir, () => {})).assembled.traces.map((t) => [t.traceId, t]));
    meta = JSON.parse(readFileSync(join(anomalousDir, 'meta.json'), 'utf8')) as typeof meta;
  }, 240_000);

  afterAll(async () => {
    uncapBackends();
    resumeWorkers();
    if (lab) removeRule();
    await lab?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  const findingsOf = (id: string, kind: Finding['kind']): Finding[] => report.findings.filter((f) => f.requestId === id && f.kind === kind);
  const spans = (id: string, name: string): Span[] => (traces.get(id)?.spans ?? []).filter((s) => s.name === name);
  const ms = (s: Span): number => Number(durationNs(s)) / 1e6;

  it('traced every request, with the opt-in families attached', () => {
    const all = [...ids.pool, ids.lock, ...ids.cpu, ...ids.queued, ids.syn];
    expect(all.filter((id) => !traces.has(id))).toEqual([]);
    for (const f of ['pool', 'conn', 'blockio', 'reclaim', 'offcpu', 'netdev', 'slowsys', 'faults']) expect(meta.hooks[f], f).toBeDefined();
    // The baseline saw GET /api/users alone: the other routes are named as having none.
    expect(report.routesWithoutBaseline).toEqual(expect.arrayContaining(['GET /healthz', 'POST /api/orders']));
  });

  it('pool exhaustion: the waits are pool wait spans with the pool full, and pool-wait findings say so', () => {
    // Twenty of the thirty found all ten connections busy (the first ten got one, some new).
    const full = ids.pool.filter((id) => spans(id, 'pool wait').some((s) => s.tags['db.client.connection.pool.busy'] === 10));
    expect(full.length).toBeGreaterThanOrEqual(15);
    for (const id of full) {
      const [w] = spans(id, 'pool wait');
      expect(w?.tags['db.client.connection.pool.max']).toBe(10);
      expect(ms(w as Span)).toBeGreaterThanOrEqual(POOL_DELAY_MS / 2);
      // Handler setup is the app's own time, not the wait.
      for (const h of spans(id, 'handler setup')) expect(ms(h)).toBeLessThan(POOL_DELAY_MS / 2);
      const [f] = findingsOf(id, 'pool-wait');
      expect(f?.message, id).toMatch(/^This request waited \d+\.\dms for a PostgreSQL pool connection \(all 10 connections were busy/);
    }
    // A checkout that opened a connection shows its TCP connect and PostgreSQL's session startup.
    const opened = ids.pool.flatMap((id) => spans(id, 'pool wait')).filter((s) => s.tags['db.client.connection.new'] === true);
    expect(opened.length).toBeGreaterThanOrEqual(1);
    const tree = traces.get(ids.pool.find((id) => spans(id, 'pool wait').some((s) => s.tags['db.client.connection.new'] === true)) as string) as Trace;
    expect(tree.spans.filter((s) => s.parentId === opened.find((o) => tree.spans.includes(o))?.id).map((s) => s.name)).toEqual(['tcp connect', 'session startup']);
  });

  it('held lock: the UPDATE waited for the row lock, found on a route the baseline never saw', () => {
    const [wait] = spans(ids.lock, 'lock wait');
    expect(ms(wait as Span)).toBeGreaterThanOrEqual(LOCK_HOLD_MS - 200);
    const [f] = findingsOf(ids.lock, 'lock-wait');
    expect(f?.withoutBaseline).toBe(true);
    expect(f?.message).toMatch(/^DB query \(UPDATE … products\) waited \d+\.\dms for a lock inside PostgreSQL \(\w+\) \(no baseline for the route: judged by its absolute cost\)$/);
    expect(f?.observedMs).toBeGreaterThanOrEqual(LOCK_HOLD_MS - 200);
  });

  it('CPU starvation: the findings about those requests say their time went to the backend waiting for a CPU', () => {
    const cpu = new Set(ids.cpu);
    const named = report.findings.filter((f) => cpu.has(f.requestId) && /of it the backend waited for a CPU/.test(f.message));
    expect(named.length, report.findings.filter((f) => cpu.has(f.requestId)).map((f) => f.message).join('\n')).toBeGreaterThanOrEqual(3);
    expect(named.some((f) => /^This request's DB query \(SELECT … users\) took \d+\.\dms \(p99 is \d+\.\dms\): \d+\.\dms of it the backend waited for a CPU, CPU contention rather than the statement$/.test(f.message))).toBe(true);
    expect(named.every((f) => f.cause?.kind === 'runqueue')).toBe(true);
    // With the offcpu family the backend's time is split into on CPU and waiting for one.
    const dbp = ids.cpu.flatMap((id) => spans(id, 'DB processing'));
    expect(dbp.some((s) => typeof s.tags['kernel.on_cpu_ns'] === 'number' && typeof s.tags['kernel.runq_delay_ns'] === 'number')).toBe(true);
    expect(dbp.find((s) => typeof s.tags['kernel.runq_delay_ns'] === 'number')?.tags['kernel.runq_delay.correlation']).toBe('thread+time');
  });

  it('accept queue: requests sent while nginx did not accept waited in its accept queue, and are found as queuing delay', () => {
    const queued = ids.queued.filter((id) => findingsOf(id, 'request-queuing-delay').length > 0);
    expect(queued.length).toBeGreaterThanOrEqual(6);
    for (const id of queued) {
      const root = traces.get(id)?.spans[0] as Span;
      expect(root.tags['net.connection.new']).toBe(true);
      expect(root.tags['net.tcp.correlation']).toBe('tuple');
      const [q] = spans(id, 'accept queue wait');
      expect(ms(q as Span)).toBeGreaterThanOrEqual(STOP_NGINX_MS / 4);
      expect(findingsOf(id, 'request-queuing-delay')[0]?.message).toMatch(/^This request waited \d+\.\dms in nginx's accept queue before nginx took its connection/);
    }
  });

  it('lost SYN: the handshake took about a second, and slow-connection-establishment says so', () => {
    const root = traces.get(ids.syn)?.spans[0] as Span;
    expect(Number(root.tags['net.tcp.handshake_ns'])).toBeGreaterThanOrEqual(900_000_000);
    const [f] = findingsOf(ids.syn, 'slow-connection-establishment');
    expect(f?.message).toMatch(/^This request's connection took \d+\.\dms to set up \(client SYN → established.*\) before its first byte was sent$/);
    expect(f?.observedMs).toBeGreaterThanOrEqual(900);
  });

  it('netdev: each query carries its packets from the device layer', () => {
    const queries = ids.cpu.flatMap((id) => (traces.get(id)?.spans ?? []).filter((s) => s.name.startsWith('DB query')));
    expect(queries.some((q) => Number(q.tags['net.xmit.query.packets'] ?? 0) >= 1 && q.tags['net.xmit.query.correlation'] === 'tuple')).toBe(true);
  });

  it('cold read: the backend read the users table from disk, under its DB processing', async () => {
    const admin = new pg.Client(pgAdminConnectionConfig(lab.config));
    await admin.connect();
    let files: string[];
    try {
      const dataDir = (await admin.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0]?.d as string;
      const rels = await admin.query<{ p: string }>("SELECT pg_relation_filepath(c.oid) AS p FROM pg_class c WHERE c.relname = 'users' OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'users'::regclass)");
      files = rels.rows.map((r) => join(dataDir, r.p));
    } finally {
      await admin.end();
    }
    // Restarted, PostgreSQL's shared buffers are empty; dropped, the page cache holds none of the files.
    await stopPostgres(lab.config);
    for (const f of files) execFileSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    await startPostgres(lab.config);
    // The pool finds its connections broken and opens new ones; a request on other tables first.
    for (let i = 0; i < 10 && (await send(idOf('warm', i), '/api/report')) !== 200; i++) await sleep(300);
    const dir = join(out, 'cold');
    await traceWhile(dir, 4, [], async () => {
      expect(await send(ids.cold, '/api/users')).toBe(200);
    });
    const t = (await loadTraces(dir, () => {})).assembled.traces.find((x) => x.traceId === ids.cold) as Trace;
    const count = t.spans.find((s) => s.name.startsWith('DB query') && String(s.tags['db.query.text']).includes('count(*)')) as Span;
    const dbp = t.spans.find((s) => s.parentId === count.id && s.name === 'DB processing') as Span;
    expect(Number(dbp.tags['kernel.block_read_ns'] ?? 0)).toBeGreaterThan(0);
    expect(Number(dbp.tags['kernel.block_ios'] ?? 0)).toBeGreaterThanOrEqual(1);
    expect(dbp.tags['kernel.waits.correlation']).toBe('thread+time');
    expect(kernelSplit(t, count).parts.map((p) => p.cause)).toContain('disk');
  }, 120_000);
});

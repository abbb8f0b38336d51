import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { labConfig } from '../config.ts';
import { pgConnectionConfig } from '../db/pg-credentials.ts';
import { startPostgres, stopPostgres } from '../db/postgres.ts';
import { pgAdminConnectionConfig, pgPaths } from '../db/postgres-cluster.ts';
import { appPaths, createApp } from './create-app.ts';
import { endpoint, type EndpointInput, type EndpointName } from './endpoints.ts';
import type { AppProbes } from './probes.ts';
import { systemClock } from './request-context.ts';
import { SQL_COMMENT_PREFIX, requestIdFromSql } from '../../shared/sql-comment.ts';
import { testPortBase } from '../../test/lab-fixture.ts';

// Ports 20100..20119 belong to this file: PostgreSQL on 20102, the child server on 20101.
const REPO = resolve(import.meta.dirname, '../..');
const stateDir = mkdtempSync(join(tmpdir(), 'reqtrace-app-e2e-'));
chmodSync(stateDir, 0o755);
const PORT_BASE = String(testPortBase(20100));
const cfg = labConfig({ LAB_PORT_BASE: PORT_BASE, LAB_STATE_DIR: stateDir });

type ProbeCall = { readonly probe: string; readonly args: readonly (string | number | boolean)[] };

/** Probe sink that records every call (all probes enabled). */
function recordingProbes(calls: ProbeCall[]): AppProbes {
  const rec =
    (probe: string) =>
    (...args: (string | number | boolean)[]): void => {
      calls.push({ probe, args });
    };
  const on = (): boolean => true;
  return {
    backend: 'file',
    enabled: { requestStart: on, requestEnd: on, dbQueryStart: on, dbQueryEnd: on, cacheHit: on, cacheMiss: on, fileOpen: on, fileClose: on, poolWait: on },
    requestStart: rec('requestStart'),
    requestEnd: rec('requestEnd'),
    dbQueryStart: rec('dbQueryStart'),
    dbQueryEnd: rec('dbQueryEnd'),
    cacheHit: rec('cacheHit'),
    cacheMiss: rec('cacheMiss'),
    fileOpen: rec('fileOpen'),
    fileClose: rec('fileClose'),
    poolWait: rec('poolWait'),
  };
}

const calls: ProbeCall[] = [];
const logs: Record<string, unknown>[] = [];
let pool: pg.Pool;
let admin: pg.Client;
let server: Server;
let base: string;

beforeAll(async () => {
  await startPostgres(cfg);
  pool = new pg.Pool({ ...pgConnectionConfig(cfg), max: 4, idleTimeoutMillis: 0 });
  admin = new pg.Client(pgAdminConnectionConfig(cfg));
  await admin.connect();
  const app = createApp({ pool, probes: recordingProbes(calls), clock: systemClock, config: { stateDir }, log: (r) => logs.push({ ...r }) });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server) await new Promise((r) => server.close(r));
  await pool?.end();
  await admin?.end();
  await stopPostgres(cfg);
  rmSync(stateDir, { recursive: true, force: true });
});

beforeEach(() => {
  calls.length = 0;
  logs.length = 0;
});

interface Reply {
  readonly status: number;
  readonly id: string;
  readonly body: Record<string, unknown>;
  readonly ms: number;
}

async function call(path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const t0 = performance.now();
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const body = (await res.json()) as Record<string, unknown>;
  const ms = performance.now() - t0;
  // 'finish' (request_end, log line) runs just after the last byte is handed to the socket.
  await new Promise((r) => setImmediate(r));
  return { status: res.status, id: res.headers.get('x-request-id') ?? '', body, ms };
}

async function trackedCalls(): Promise<number> {
  const r = await admin.query<{ n: number }>(
    "SELECT coalesce(sum(calls), 0)::int AS n FROM pg_stat_statements WHERE userid = 'lab'::regrole AND toplevel",
  );
  return r.rows[0]?.n ?? -1;
}

const forId = (id: string, probe: string): ProbeCall[] => calls.filter((c) => c.probe === probe && c.args[0] === id);

function isSocketFd(fd: number): boolean {
  return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
}

describe('endpoints against real PostgreSQL', () => {
  const cases: { name: EndpointName; path: string; method?: string; body?: unknown; input: EndpointInput }[] = [
    { name: 'users', path: '/api/users', input: {} },
    { name: 'user', path: '/api/users/77', input: { cacheHit: false } },
    { name: 'user', path: '/api/users/77', input: { cacheHit: true } },
    { name: 'orders', path: '/api/orders', method: 'POST', body: { user_id: 3, product_id: 4, quantity: 2 }, input: {} },
    { name: 'orders', path: '/api/orders', method: 'POST', input: {} },
    { name: 'report', path: '/api/report', input: {} },
    { name: 'report', path: '/api/report?totals=0', input: { totals: false } },
    { name: 'feed', path: '/api/feed', input: {} },
    { name: 'feed', path: '/api/feed?items=1', input: { items: 1 } },
    { name: 'feed', path: '/api/feed?items=50', input: { items: 50 } },
    { name: 'health', path: '/healthz', input: {} },
    { name: 'users', path: '/api/users?io_kb=64', input: { ioKb: 64 } },
  ];

  it.each(cases)('$method $path ($input) matches the endpoint table', async ({ name, path, method, body, input }) => {
    const spec = endpoint(name);
    await admin.query('SELECT pg_stat_statements_reset()');
    const r = await call(path, { method: method ?? spec.method, body });
    expect(r.status, JSON.stringify(r.body)).toBe(name === 'orders' ? 201 : 200);
    expect(r.id).toMatch(/^[0-9a-f]{32}$/);

    expect(await trackedCalls()).toBe(spec.statements(input));
    const starts = forId(r.id, 'dbQueryStart');
    const ends = forId(r.id, 'dbQueryEnd');
    expect(starts).toHaveLength(spec.roundTrips(input));
    expect(ends).toHaveLength(spec.roundTrips(input));
    for (const s of starts) {
      const [id, sql, fd] = s.args as [string, string, number];
      // The probe names the request beside the statement; the comment goes to PostgreSQL only.
      expect(id).toBe(r.id);
      expect(requestIdFromSql(sql)).toBeNull();
      // Values travel as $n parameters: no quote or digit appears outside $n.
      expect(sql.replace(/\$\d+/g, '')).not.toMatch(/['0-9]/);
      expect(fd).toBeGreaterThan(2);
      expect(isSocketFd(fd)).toBe(true);
    }
    expect(forId(r.id, 'fileOpen')).toHaveLength(spec.fileOpens(input));
    expect(forId(r.id, 'fileClose').map((c) => c.args[1])).toEqual(forId(r.id, 'fileOpen').map((c) => c.args[1]));

    const [start] = forId(r.id, 'requestStart');
    const [end] = forId(r.id, 'requestEnd');
    expect(start?.args.slice(1, 3)).toEqual([method ?? spec.method, path.split('?')[0]]);
    expect(end?.args[1]).toBe(r.status);
    expect(end?.args[3]).toBe(start?.args[3]);
    expect(isSocketFd(start?.args[3] as number)).toBe(true);
    if (name === 'user') expect(forId(r.id, input.cacheHit ? 'cacheHit' : 'cacheMiss')).toHaveLength(1);
    expect(logs.find((l) => l.msg === 'request' && l.request_id === r.id)).toMatchObject({ status: r.status, db_round_trips: spec.roundTrips(input) });
  });

  it('appends a line per report to the report log', async () => {
    const r = await call('/api/report');
    const lines = readFileSync(appPaths(stateDir).reportLog, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1] ?? '{}')).toMatchObject({ request_id: r.id });
  });
});

describe('request id in PostgreSQL', () => {
  it('shows the id in pg_stat_activity while the query runs and in the server log after', async () => {
    const id = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const pending = call('/api/feed?items=1&db_delay_ms=1200', { headers: { 'X-Request-ID': id } });
    let seen: string | undefined;
    for (let i = 0; i < 50 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const a = await admin.query<{ query: string }>("SELECT query FROM pg_stat_activity WHERE usename = 'lab' AND state = 'active'");
      seen = a.rows.map((row) => row.query).find((q) => q.startsWith(`${SQL_COMMENT_PREFIX}${id}'`));
    }
    expect(seen).toContain('pg_sleep($2)');
    const r = await pending;
    expect(r.id).toBe(id);
    const log = readFileSync(pgPaths(cfg).log, 'utf8');
    const line = log.split('\n').find((l) => l.includes(`request_id='${id}'`) && l.includes('duration:'));
    expect(line).toMatch(/\[\d+\] lab@reqtrace .*duration: \d+\.\d+ ms {2}execute <unnamed>: \/\*request_id=/);
    expect(log).not.toContain('parameters:');
  });
});

describe('latency knobs', () => {
  it('db_delay_ms adds at least its delay inside the first query', async () => {
    const quick = await call('/api/feed?items=1');
    const slow = await call('/api/feed?items=1&db_delay_ms=400');
    expect(quick.ms).toBeLessThan(400);
    expect(slow.ms).toBeGreaterThanOrEqual(400);
    const [first] = forId(slow.id, 'dbQueryEnd');
    expect(first?.args[1]).toBeGreaterThanOrEqual(400_000);
    expect(forId(slow.id, 'dbQueryStart')).toHaveLength(2);
  });

  it('db_delay_ms delays a statement that finds no rows too', async () => {
    const r = await call('/api/users/9999999?db_delay_ms=300');
    expect(r.status).toBe(404);
    expect(r.ms).toBeGreaterThanOrEqual(300);
  });

  it('db_delay_ms delays the first statement of the order transaction', async () => {
    const r = await call('/api/orders?db_delay_ms=250', { method: 'POST', body: {} });
    expect(r.status).toBe(201);
    const durations = forId(r.id, 'dbQueryEnd').map((c) => c.args[1] as number);
    expect(durations[1]).toBeGreaterThanOrEqual(250_000); // [0] is BEGIN
  });

  it('a request that found every pool connection busy reports its wait, the pool size and the busy count', async () => {
    // Four connections (the pool's max), eight requests that each hold one for 300 ms: the last
    // four wait for the first four to give theirs back.
    const replies = await Promise.all(Array.from({ length: 8 }, () => call('/api/users/424242?db_delay_ms=300')));
    const waits = replies.map((r) => {
      const [w] = forId(r.id, 'poolWait');
      if (!w) throw new Error(`no poolWait for ${r.id}`);
      const [, waitUs, size, busy, waiting, fd, fresh] = w.args as [string, number, number, number, number, number, boolean];
      expect(size).toBe(4);
      expect(isSocketFd(fd)).toBe(true);
      expect(typeof fresh).toBe('boolean');
      return { waitUs, busy, waiting };
    });
    const queued = waits.filter((w) => w.busy === 4);
    expect(queued.length).toBeGreaterThanOrEqual(4);
    // Each queued request waited for a 300 ms query to end (generous: the machine is shared).
    for (const w of queued) expect(w.waitUs).toBeGreaterThanOrEqual(200_000);
    expect(Math.max(...waits.map((w) => w.waiting))).toBeGreaterThanOrEqual(1);
    const logged = logs.filter((l) => replies.some((r) => r.id === l.request_id) && l.msg === 'request');
    expect(logged.filter((l) => (l.pool_wait_us as number) >= 200_000).length).toBe(queued.length);
  });

  it('delay_ms and cpu_ms add at least their time', async () => {
    expect((await call('/healthz?delay_ms=200')).ms).toBeGreaterThanOrEqual(200);
    expect((await call('/healthz?cpu_ms=150')).ms).toBeGreaterThanOrEqual(150);
  });

  it.each([
    ['/api/users?delay_ms=5001', 'delay_ms must be from 0 to 5000, got 5001'],
    ['/api/users?cpu_ms=-5', "cpu_ms must be a whole number from 0 to 2000, got '-5'"],
    ['/api/feed?db_delay_ms=abc', "db_delay_ms must be a whole number from 0 to 5000, got 'abc'"],
    ['/healthz?io_kb=99999', 'io_kb must be from 0 to 10240, got 99999'],
    ['/api/feed?items=51', 'items must be from 1 to 50, got 51'],
    ['/api/users?delay_ms=1&delay_ms=2', 'delay_ms must be given once, as a whole number from 0 to 5000'],
  ])('%s → 400', async (path, error) => {
    await admin.query('SELECT pg_stat_statements_reset()');
    const r = await call(path);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error, request_id: r.id });
    expect(await trackedCalls()).toBe(0);
  });

  it('rejects a bad order body with 400 before touching the database', async () => {
    const r = await call('/api/orders', { method: 'POST', body: { user_id: 'x' } });
    expect(r.status).toBe(400);
    expect(forId(r.id, 'dbQueryStart')).toHaveLength(0);
  });
});

describe('hostile request ids', () => {
  it.each([
    ["abc*/ DROP TABLE users; --"],
    ["'; SELECT pg_sleep(10); --"],
    ['a'.repeat(300)],
    ['0'.repeat(32)],
    ['{123e4567-e89b-12d3-a456-426614174000}'],
    ['caf\u00e9caf\u00e9caf\u00e9caf\u00e9caf\u00e9caf\u00e9caf\u00e9caf\u00e9'],
  ])('replaces %j and still serves the request', async (hostile) => {
    const r = await call('/api/users?limit=1', { headers: { 'X-Request-ID': hostile } });
    expect(r.status).toBe(200);
    expect(r.id).toMatch(/^[0-9a-f]{32}$/);
    expect(r.id).not.toBe(hostile);
    const warn = logs.find((l) => l.msg === 'request id replaced' && l.request_id === r.id);
    expect(warn?.rejected).toEqual(expect.any(String));
    expect(String(warn?.rejected).length).toBeLessThanOrEqual(64 + '...(300 chars)'.length);
    const starts = forId(r.id, 'dbQueryStart');
    expect(starts.length).toBeGreaterThan(0);
    for (const s of starts) {
      expect(s.args[0]).toBe(r.id);
      expect(String(s.args[1])).not.toContain(hostile);
    }
  });

  it('keeps a UUID id without dashes, lowercased, and a matching traceparent parent', async () => {
    const r = await call('/api/users?limit=1', {
      headers: { 'X-Request-ID': 'C0FFEE00-1111-2222-3333-444455556666', traceparent: '00-c0ffee00111122223333444455556666-1234567890abcdef-01' },
    });
    expect(r.id).toBe('c0ffee00111122223333444455556666');
    expect(logs.find((l) => l.msg === 'request' && l.request_id === r.id)).toMatchObject({ id_source: 'client', parent_span_id: '1234567890abcdef' });
  });
});

describe('server.ts as a process', () => {
  it('serves on the app port and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/app/server.ts'], {
      cwd: REPO,
      env: { ...process.env, LAB_PORT_BASE: PORT_BASE, LAB_STATE_DIR: stateDir, LAB_USDT: 'off', LAB_PG_POOL: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const listening = await new Promise<Record<string, unknown>>((resolveLine, reject) => {
        const timer = setTimeout(() => reject(new Error('server did not log "listening" within 20 s')), 20_000);
        lines.on('line', (line) => {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec.msg === 'listening') {
            clearTimeout(timer);
            resolveLine(rec);
          }
        });
        child.on('exit', (code) => reject(new Error(`server exited early with ${code}`)));
      });
      expect(listening).toMatchObject({ port: cfg.appPort, probes: 'off', pg_pool: 2 });
      const res = await fetch(`http://127.0.0.1:${cfg.appPort}/api/users/5`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses a bad LAB_PG_POOL with a one-line reason', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/app/server.ts'], {
      cwd: REPO,
      env: { ...process.env, LAB_PORT_BASE: PORT_BASE, LAB_STATE_DIR: stateDir, LAB_PG_POOL: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(stderr).toBe("app: LAB_PG_POOL must be a whole number from 1 to 50, got '0'\n");
  });
});

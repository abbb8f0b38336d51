/**
 * Anomaly detection end to end: a real lab (nginx, the app, PostgreSQL) traced with the real
 * loader and BPF. A normal load of 1200 requests becomes a baseline (`lab baseline`); a second
 * capture holds requests with known injected anomalies, sent with request ids the test chose:
 *
 *   phase  what is sent                                        expected finding
 *   A, E   normal requests of five routes                      nothing that matters
 *   B      GET /api/users?db_delay_ms=250 (×3), normal beside  slow DB query (≥ 250 ms)
 *   C      GET /api/feed?items=40 (×2)                         N+1: 41 queries, normal is 11
 *   D      GET /api/users/:id?cpu_ms=400 (blocks the loop),    socket-buffer wait ≥ 100 ms
 *          100 ms later GET /api/users (×4, concurrent)        naming the blocker
 *
 * `lab analyze --json` must report each kind for exactly the requests it was injected into,
 * with magnitudes that follow from the injection; `lab compare` must name the slow DB query.
 * Run as root. Under CI=true a missing loader build fails instead of skipping.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadTraces } from '../assembler/load-traces.ts';
import { durationNs, type Trace } from '../assembler/span.ts';
import { FEED_ITEMS, HOT_USERS, USER_IDS } from '../lab/load/mixes.ts';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../test/lab-fixture.ts';
import type { AnalysisReport } from './analyze-capture.ts';
import { parseBaseline } from './baseline-json.ts';
import type { Baseline } from './build-baseline.ts';
import type { Finding, FindingKind } from './finding.ts';
import { describeBuilt, requireBuilt } from '../test/require-built.ts';

const PORT_BASE = testPortBase(25360);
const NORMAL_REQUESTS = 1200;
const DB_DELAY_MS = 250;
const CPU_MS = 400;
/** How long after the blocker the blocked requests go out: the blocker is then on the loop. */
const BLOCKED_AFTER_MS = 100;
const N1_ITEMS = 40;
/** Outside the hot set the load and the normal requests draw from: never cached. */
const BLOCKER_USER = USER_IDS;
/** Seconds the anomalous capture traces; the phases take about 2 s on an idle machine. */
const ANOMALOUS_TRACE_S = 6;
/**
 * Findings at or above this many ms are what the injections cause (≥ 250 ms of DB sleep, ≥ 300 ms
 * of a blocked loop). Below it, a loaded 2-core machine can push a normal request a few ms past
 * its route's p99 or leave a DB result a few ms in a socket buffer: such findings are true
 * observations, not injected ones, so they are not counted against the detectors.
 */
const SIGNIFICANT_MS = 50;

/** 32 lowercase hex, fixed per role and index, with distinct 8-digit prefixes (messages cite those). */
const idOf = (role: string, i: number): string => createHash('sha256').update(`analyze-e2e ${role} ${i}`).digest('hex').slice(0, 32);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const ids = {
  normal: range(36).map((i) => idOf('normal', i)),
  dbDelay: range(3).map((i) => idOf('db-delay', i)),
  nPlusOne: range(2).map((i) => idOf('n-plus-one', i)),
  blocker: idOf('blocker', 0),
  blocked: range(4).map((i) => idOf('blocked', i)),
};
const allIds = [...ids.normal, ...ids.dbDelay, ...ids.nPlusOne, ids.blocker, ...ids.blocked];

interface Sent {
  readonly id: string;
  readonly path: string;
  readonly status: number;
}

/** Normal requests of five routes, as the load's mix sends them. */
function normalRequest(i: number): { path: string; method?: string; body?: string } {
  switch (i % 6) {
    case 0:
      return { path: '/api/users' };
    case 1:
      return { path: `/api/users/${1 + ((i * 37) % HOT_USERS)}` };
    case 2:
      return { path: `/api/feed?items=${FEED_ITEMS}` };
    case 3:
      return { path: '/healthz' };
    case 4:
      return { path: '/api/orders', method: 'POST', body: JSON.stringify({ user_id: 1 + i, product_id: 1 + ((i * 13) % 1000), quantity: 1 }) };
    default:
      return { path: '/api/users' };
  }
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();
const idsWith = (findings: readonly Finding[], kind: FindingKind, minMs = 0): string[] =>
  sorted(findings.filter((f) => f.kind === kind && f.observedMs >= minMs).map((f) => f.requestId));

const out = mkdtempSync(join(tmpdir(), 'lab-analyze-e2e-'));

describeBuilt('anomaly detection on real captures (BPF)', () => {
  let running: RunningLab;
  const normalDir = join(out, 'normal');
  const anomalousDir = join(out, 'anomalous');
  const baselineFile = join(out, 'baseline.json');
  const sent: Sent[] = [];
  let baseline: Baseline;
  let report: AnalysisReport;
  let traces: ReadonlyMap<string, Trace>;

  async function send(id: string, req: { path: string; method?: string; body?: string }): Promise<void> {
    const res = await fetch(running.url(req.path), {
      method: req.method ?? 'GET',
      headers: { 'x-request-id': id, ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    await res.arrayBuffer();
    sent.push({ id, path: req.path, status: res.status });
  }

  async function sendAnomalies(): Promise<void> {
    const normal = ids.normal.map((id, i) => () => send(id, normalRequest(i)));
    const inTurn = async (fs: (() => Promise<void>)[]): Promise<void> => {
      for (const f of fs) await f();
    };
    await inTurn(normal.slice(0, 24)); // A
    await Promise.all([...ids.dbDelay.map((id) => send(id, { path: `/api/users?db_delay_ms=${DB_DELAY_MS}` })), inTurn(normal.slice(24, 30))]); // B
    for (const id of ids.nPlusOne) await send(id, { path: `/api/feed?items=${N1_ITEMS}` }); // C
    // A user outside the load's hot set is a cache miss, so the busy loop is in `handler setup`
    // (before the DB query); on a cache hit the whole handler is one `handler` span.
    const blocker = send(ids.blocker, { path: `/api/users/${BLOCKER_USER}?cpu_ms=${CPU_MS}` }); // D
    await new Promise((r) => setTimeout(r, BLOCKED_AFTER_MS));
    await Promise.all([blocker, ...ids.blocked.map((id) => send(id, { path: '/api/users' }))]);
    await inTurn(normal.slice(30)); // E
  }

  beforeAll(async () => {
    requireBuilt();
    expect(new Set(allIds.map((id) => id.slice(0, 8))).size).toBe(allIds.length);
    running = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-analyze-e2e-${PORT_BASE}`), usdt: 'native' });

    const normal = await runLabCli(running, ['trace', '--out', normalDir, '--requests', String(NORMAL_REQUESTS), '--connections', '4'], { timeoutMs: 60_000 });
    if (normal.code !== 0) throw new Error(`lab trace (normal) failed: ${normal.stderr.trim().split('\n').at(-1)}`);
    const b = await runLabCli(running, ['baseline', normalDir, '--out', baselineFile], { timeoutMs: 30_000 });
    if (b.code !== 0) throw new Error(`lab baseline failed: ${b.stderr.trim().split('\n').at(-1)}`);
    baseline = parseBaseline(readFileSync(baselineFile, 'utf8'), baselineFile);

    let sending: Promise<void> | null = null;
    const anomalous = await runLabCli(running, ['trace', '--out', anomalousDir, '--no-load', '--duration', String(ANOMALOUS_TRACE_S)], {
      timeoutMs: 60_000,
      onStderr: (text) => {
        if (sending === null && text.includes('tracing whatever arrives')) sending = sendAnomalies();
      },
    });
    await sending;
    if (anomalous.code !== 0) throw new Error(`lab trace (anomalous) failed: ${anomalous.stderr.trim().split('\n').at(-1)}`);

    const a = await runLabCli(running, ['analyze', anomalousDir, '--baseline', baselineFile, '--json'], { timeoutMs: 30_000 });
    if (a.code !== 0) throw new Error(`lab analyze failed: ${a.stderr.trim().split('\n').at(-1)}`);
    report = JSON.parse(a.stdout) as AnalysisReport;
    traces = new Map((await loadTraces(anomalousDir, () => {})).assembled.traces.map((t) => [t.traceId, t]));
  }, 150_000);

  afterAll(async () => {
    await running?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('baselines 1200 traced requests: per-route DB query counts are what the endpoints run', () => {
    expect(baseline.requests).toBe(NORMAL_REQUESTS);
    const routes = baseline.routes;
    expect(Object.keys(routes)).toEqual(['GET /api/feed', 'GET /api/report', 'GET /api/users', 'GET /api/users/:id', 'GET /healthz', 'POST /api/orders']);
    expect(routes['GET /api/users']?.dbQueries.median).toBe(2);
    expect(routes['GET /api/feed']?.dbQueries.median).toBe(1 + FEED_ITEMS);
    expect(routes['GET /healthz']?.dbQueries.max).toBe(0);
    // BEGIN, 3 statements, COMMIT.
    expect(routes['POST /api/orders']?.dbQueries.median).toBe(5);
    for (const [route, r] of Object.entries(routes)) {
      expect(r.requests, route).toBeGreaterThanOrEqual(20);
      expect(r.latencyMs.p50, route).toBeGreaterThan(0);
    }
    // Span types carry the normalized statement (no literal, no request comment).
    const users = Object.entries(routes['GET /api/users']?.spanTypes ?? {}).filter(([k]) => /^app processing › DB query \(SELECT\) [^›]*$/.test(k));
    expect(users.map(([k]) => k.replace(/^app processing › DB query \(SELECT\) /, '')).sort()).toEqual([
      'SELECT count(*)::int AS total FROM users',
      'SELECT id, name, email FROM users ORDER BY id LIMIT $1 OFFSET $2',
    ]);
    for (const [, t] of users) expect(t.durationMs.p99).toBeLessThan(DB_DELAY_MS / 2);
  });

  it('traced every request sent during the anomalous capture, and analyzed each one against the baseline', () => {
    expect(sent.filter((s) => s.status !== 200 && s.status !== 201)).toEqual([]);
    expect(sorted(sent.map((s) => s.id))).toEqual(sorted(allIds));
    expect(allIds.filter((id) => !traces.has(id))).toEqual([]);
    expect(report.traces).toBe(allIds.length);
    expect(report.baselineIsSelf).toBe(false);
    expect(report.baselineSource).toBe(normalDir);
    expect(report.routesWithoutBaseline).toEqual([]);
  });

  it('N+1: exactly the feed requests with 40 items, 41 queries against a normal of 11', () => {
    expect(idsWith(report.findings, 'n-plus-one')).toEqual(sorted(ids.nPlusOne));
    for (const f of report.findings.filter((x) => x.kind === 'n-plus-one')) {
      expect(f.route).toBe('GET /api/feed');
      expect(f.message).toMatch(
        new RegExp(`^This request made ${1 + N1_ITEMS} DB queries \\(normal is ${1 + FEED_ITEMS}\\) — N\\+1 query problem: DB query \\(SELECT … order_items\\) ran ${N1_ITEMS} times \\(normal is ${FEED_ITEMS}\\): SELECT oi\\.product_id`),
      );
      expect(f.excessMs).toBeGreaterThan(0);
      const t = traces.get(f.requestId) as Trace;
      expect(t.spans.filter((s) => s.name.startsWith('DB query '))).toHaveLength(1 + N1_ITEMS);
    }
  });

  it('a slow DB query: exactly the db_delay_ms requests, their first query at least the injected delay', () => {
    const dbSpanFindings = report.findings.filter((f) => f.kind === 'slow-span' && f.message.startsWith("This request's DB query") && f.observedMs >= SIGNIFICANT_MS);
    expect(sorted(dbSpanFindings.map((f) => f.requestId))).toEqual(sorted(ids.dbDelay));
    for (const f of dbSpanFindings) {
      const m = /^This request's DB query \(SELECT … users\) took (\d+\.\d)ms \(p99 is (\d+\.\d+)ms for this route's other SELECT … users queries; this statement is new to the baseline\)$/.exec(f.message);
      expect(m, f.message).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(DB_DELAY_MS);
      expect(Number(m?.[2])).toBeLessThan(DB_DELAY_MS / 2);
      expect(f.observedMs).toBeGreaterThanOrEqual(DB_DELAY_MS);
      const span = (traces.get(f.requestId) as Trace).spans.find((s) => s.id === f.spanId);
      expect(span?.name).toBe('DB query 1 (SELECT)');
      expect(Number(durationNs(span as NonNullable<typeof span>)) / 1e6).toBeGreaterThanOrEqual(DB_DELAY_MS);
    }
    // The whole request is slow too, and the explanation puts the time in that query.
    for (const id of ids.dbDelay) {
      const slow = report.findings.find((f) => f.requestId === id && f.kind === 'slow-request');
      const m = /mostly DB query \(SELECT … users\) \+(\d+\.\d)ms/.exec(slow?.message ?? '');
      expect(m, slow?.message).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(DB_DELAY_MS);
    }
  });

  it('socket-buffer wait: exactly the requests that arrived while cpu_ms blocked the loop, naming the blocker', () => {
    expect(idsWith(report.findings, 'socket-buffer-wait', SIGNIFICANT_MS)).toEqual(sorted(ids.blocked));
    for (const id of ids.blocked) {
      const f = report.findings.find((x) => x.requestId === id && x.kind === 'socket-buffer-wait' && x.observedMs >= SIGNIFICANT_MS) as Finding;
      expect(f.observedMs).toBeGreaterThanOrEqual(100);
      const m = new RegExp(
        `^\\d+\\.\\dms was spent in the kernel socket buffer at network: nginx → app \\(the application was busy: event loop blocked; CPU work of concurrent requests then: GET /api/users/:id ${ids.blocker.slice(0, 8)} \\(handler setup, (\\d+\\.\\d)ms\\)`,
      ).exec(f.message);
      expect(m, f.message).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(100);
    }
    // The blocker itself: its handler setup held the loop for the whole busy loop.
    const blockerSpan = report.findings.find((f) => f.requestId === ids.blocker && f.kind === 'slow-span');
    expect(blockerSpan?.message).toMatch(/^This request's handler setup took \d+\.\dms/);
    expect(blockerSpan?.observedMs).toBeGreaterThanOrEqual(CPU_MS);
  });

  it('slow requests include every injected one; normal requests have no N+1 and no significant finding', () => {
    const slow = idsWith(report.findings, 'slow-request');
    expect([...ids.dbDelay, ...ids.blocked, ids.blocker].filter((id) => !slow.includes(id))).toEqual([]);
    const normal = new Set(ids.normal);
    const onNormal = report.findings.filter((f) => normal.has(f.requestId));
    expect(onNormal.filter((f) => f.kind === 'n-plus-one' || f.excessMs >= SIGNIFICANT_MS).map((f) => `${f.requestId} ${f.kind}: ${f.message}`)).toEqual([]);
  });

  it('the text report carries the sentences', async () => {
    const r = await runLabCli(running, ['analyze', anomalousDir, '--baseline', baselineFile], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`Baseline: ${normalDir}`);
    expect(r.stdout).toContain(`${allIds.length} request(s), ${report.findings.length} finding(s)`);
    expect(r.stdout).toContain(`This request made ${1 + N1_ITEMS} DB queries (normal is ${1 + FEED_ITEMS}) — N+1 query problem`);
    expect(r.stdout).toMatch(/This request's DB query \(SELECT … users\) took \d+\.\dms \(p99 is \d+\.\d+ms/);
    expect(r.stdout).toContain(`CPU work of concurrent requests then: GET /api/users/:id ${ids.blocker.slice(0, 8)} (handler setup`);
    for (const id of [...ids.dbDelay, ...ids.nPlusOne, ...ids.blocked]) expect(r.stdout).toContain(id);
  });

  it('compare: the db_delay request against a median one of its route names the slow DB query', async () => {
    const r = await runLabCli(running, ['compare', `${anomalousDir}@${ids.dbDelay[0]}`, `${normalDir}@median`], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^A: ${ids.dbDelay[0]} GET /api/users \\d+\\.\\dms$`));
    const b = /^B: [0-9a-f]{32} GET \/api\/users (\d+\.\d+)ms \(-\d+\.\dms, ×0\.\d\d\)$/.exec(lines[1] ?? '');
    expect(b, lines[1]).not.toBeNull();
    // The delayed statement differs in text from the normal one, yet the two line up as one row.
    const firstQuery = lines.filter((l) => / DB query 1 \(SELECT\) /.test(l));
    expect(firstQuery, r.stdout).toHaveLength(1);
    expect(firstQuery[0]).not.toMatch(/only [AB]$/);
    // The difference sits where PostgreSQL slept: the query's execute phase (or the query itself).
    const most = /^Differs most: (execute|DB processing|DB query 1 \(SELECT\)) -(\d+\.\d)ms/m.exec(r.stdout);
    expect(most, r.stdout).not.toBeNull();
    // A slept the whole delay in that phase; B spent some of its own time there too, at most all of it.
    expect(Number(most?.[2]) + Number(b?.[1])).toBeGreaterThanOrEqual(DB_DELAY_MS - 0.1); // both printed to 0.1 ms
    expect(Number(most?.[2])).toBeGreaterThan(DB_DELAY_MS * 0.9);
  });

  it('compare: a blocked request against a median one names its socket buffer wait', async () => {
    const r = await runLabCli(running, ['compare', `${anomalousDir}@${(ids.blocked[0] as string).slice(0, 8)}`, `${normalDir}@median`], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const most = /^Differs most: socket buffer wait -(\d+\.\d)ms/m.exec(r.stdout);
    expect(most, r.stdout).not.toBeNull();
    expect(Number(most?.[1])).toBeGreaterThanOrEqual(100);
  });
});

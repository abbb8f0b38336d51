/**
 * Run against run on real captures (nginx, the app, PostgreSQL, the loader with BPF). One
 * traced window holds three loads of the default mix, cut into slices and interleaved
 * (A A′ B, A′ B A, B A A′, …), so the shared machine's load falls on all three alike: A and A′
 * are the same load, B adds `db_delay_ms` to GET /api/users only. Split by request id, A
 * against A′ must differ in no route at FDR 5%; A against B must find GET /api/users slower,
 * with its first DB query as where the shift comes from and intervals excluding 0. (Separate
 * `lab trace` runs differ as a whole on a busy machine: bench/run-comparison-aa.ts measures
 * that.) Run as root; under CI=true a missing loader build fails instead of skipping.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadTraces } from '../assembler/load-traces.ts';
import type { Trace } from '../assembler/span.ts';
import type { TargetKnobs } from '../lab/load/mixes.ts';
import { runLoad } from '../lab/load/run-load.ts';
import { type CliRun, type RunningLab, runLabCli, startLab, testPortBase } from '../test/lab-fixture.ts';
import { compareRuns, type RunComparison } from './compare-runs.ts';
import { describeBuilt, requireBuilt } from '../test/require-built.ts';

/** Below the kernel's ephemeral ports (32768 up) even with LAB_TEST_PORT_OFFSET 6000. */
const PORT_BASE = testPortBase(22530);
const SLICES = 6;
const SLICE_REQUESTS = 70;
const DB_DELAY_MS = 8;
/** Seconds traced (--no-load traces that long): room for every slice on a loaded machine. */
const TRACE_S = 30;

/** Interleaved runs share the machine's moments: no run-wide factor to divide out (lab compare --raw). */
const SAME_MACHINE = { adjustRunWide: false } as const;

const out = mkdtempSync(join(tmpdir(), 'lab-compare-runs-e2e-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const readIds = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { requestId: string }).requestId);

describeBuilt('run comparison on real captures (BPF)', () => {
  let running: RunningLab;
  const dir = join(out, 'interleaved');
  const runs: Record<'a' | 'a2' | 'b', Trace[]> = { a: [], a2: [], b: [] };
  let trace: CliRun;

  beforeAll(async () => {
    requireBuilt();
    running = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-compare-runs-e2e-${PORT_BASE}`), usdt: 'native' });
    const load = (name: string, requests: number, knobs: TargetKnobs = {}): Promise<unknown> =>
      runLoad({ url: running.url(''), requests, connections: 4, mix: 'default', knobs, latencyOut: join(out, `${name}.jsonl`) });
    // Warm the app's user cache and PostgreSQL's buffers.
    await load('warm-up', 600);
    let attached!: () => void;
    const isAttached = new Promise<void>((r) => (attached = r));
    const tracing = runLabCli(running, ['trace', '--no-load', '--duration', String(TRACE_S), '--out', dir], { timeoutMs: (TRACE_S + 60) * 1000, onStderr: (t) => t.includes('attached (') && attached() });
    await Promise.race([isAttached, tracing.then((r) => Promise.reject(new Error(`lab trace ended before attaching: ${r.stderr.trim().split('\n').at(-1)}`)))]);
    // Every probe site's first hit and new PostgreSQL backends cost extra: a slice that is not compared.
    await load('traced-warm-up', SLICE_REQUESTS);
    const order = ['a', 'a2', 'b'] as const;
    for (let s = 0; s < SLICES; s++) {
      for (let k = 0; k < 3; k++) {
        const name = order[(s + k) % 3] as (typeof order)[number];
        await load(`${name}-${s}`, SLICE_REQUESTS, name === 'b' ? { users: `db_delay_ms=${DB_DELAY_MS}` } : {});
      }
    }
    trace = await tracing;
    if (trace.code !== 0) throw new Error(`lab trace failed: ${trace.stderr.trim().split('\n').at(-1)}`);
    const traces = (await loadTraces(dir, () => {})).assembled.traces;
    for (const name of order) {
      const ids = new Set(Array.from({ length: SLICES }, (_, s) => readIds(join(out, `${name}-${s}.jsonl`))).flat());
      runs[name] = traces.filter((t) => ids.has(t.traceId));
    }
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('traced every request of the three loads', () => {
    expect(runs.a.length).toBe(SLICES * SLICE_REQUESTS);
    expect(runs.a2.length).toBe(SLICES * SLICE_REQUESTS);
    expect(runs.b.length).toBe(SLICES * SLICE_REQUESTS);
  });

  it('A/A: two runs of the same load differ in no route at FDR 5%', () => {
    const c: RunComparison = compareRuns(runs.a, runs.a2, 'A', "A'", SAME_MACHINE);
    expect(c.routes.map((r) => r.route)).toEqual(expect.arrayContaining(['GET /api/users', 'GET /api/users/:id', 'POST /api/orders']));
    const shifted = c.routes.filter((r) => r.latency.significant).map((r) => `${r.route} p50 ${r.latency.p50Shift.shift.toFixed(2)}ms q ${r.latency.mannWhitneyQ.toExponential(1)} δ ${r.latency.cliffsDelta.toFixed(2)}`);
    expect(shifted).toEqual([]);
  });

  it(`A/B: db_delay_ms=${DB_DELAY_MS} on GET /api/users is found there, slower, in its first DB query, intervals excluding 0`, () => {
    const c = compareRuns(runs.a, runs.b, 'A', 'B', SAME_MACHINE);
    expect(c.significantRoutes).toContain('GET /api/users');
    const users = c.routes.find((r) => r.route === 'GET /api/users');
    expect(users?.latency.direction).toBe('slower');
    expect(users?.latency.p50Shift.low).toBeGreaterThan(DB_DELAY_MS / 2);
    expect(users?.latency.cliffsDelta).toBeGreaterThan(0.5);
    const top = users?.contributors.find((t) => t.type === 'app processing › DB query (SELECT … users)');
    expect(users?.contributors.map((t) => t.type)).toContain('app processing › DB query (SELECT … users)');
    expect(top?.direction).toBe('slower');
    expect(top?.p50Shift.low).toBeGreaterThan(DB_DELAY_MS / 2);
    expect(top?.p50Shift.high).toBeLessThan(DB_DELAY_MS * 3);
    expect(top?.shareOfShift).toBeGreaterThan(0.5);
  });

  it('lab report on the real capture: summary, findings with evidence, waterfalls, blind spots', async () => {
    const reportDir = join(out, 'report');
    const r = await runLabCli(running, ['report', dir, '--out', reportDir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(reportDir, 'report.md'), 'utf8');
    expect(md).toMatch(/^- \d+ traced request\(s\) over \d route\(s\);/m);
    expect(md).toMatch(/^!\[waterfall of [0-9a-f]{32}\]\(waterfall-[0-9a-f]{12}\.svg\)$/m);
    expect(md).toContain('## What this capture could not see');
    const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
    expect(html).toMatch(/<figure class="waterfall" data-trace="[0-9a-f]{32}"><svg /);
  });
});

/**
 * Run against run on real captures (nginx, the app, PostgreSQL, the loader with BPF): after an
 * untraced and a traced warm-up, two traced loads of one mix (A and A′) must differ in no route at FDR 5%;
 * a third (B), the same mix with `db_delay_ms` on GET /api/users only, must be found slower on
 * that route, with its first DB query as where the shift comes from and intervals excluding 0.
 * Then `lab report B --baseline A` must carry that comparison. Run as root; under CI=true a
 * missing loader build fails instead of skipping.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADDON } from '../cli/commands/trace.ts';
import { runLoad } from '../lab/load/run-load.ts';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../test/lab-fixture.ts';
import { LOADER_PATH } from '../tracer/spawn-loader.ts';
import type { RunComparison } from './compare-runs.ts';

const CI = process.env.CI === 'true';
const BUILT = existsSync(LOADER_PATH) && existsSync(DEFAULT_ADDON);
const PORT_BASE = testPortBase(36130);
const REQUESTS = 400;
const DB_DELAY_MS = 8;
/** Four connections: enough concurrency to be a load, few enough that a delayed query does not starve the pg pool for other routes. */
const LOAD = ['--requests', String(REQUESTS), '--connections', '4', '--mix', 'default'];

const out = mkdtempSync(join(tmpdir(), 'lab-compare-runs-e2e-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(!BUILT && !CI)('run comparison on real captures (BPF)', () => {
  let running: RunningLab;
  const dirA = join(out, 'a');
  const dirA2 = join(out, 'a2');
  const dirB = join(out, 'b');

  beforeAll(async () => {
    if (!BUILT) throw new Error(`the loader or the USDT addon is not built (${LOADER_PATH}, ${DEFAULT_ADDON}): run \`npm run build\``);
    running = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-compare-runs-e2e-${PORT_BASE}`), usdt: 'native' });
    // Warm the app's user cache and PostgreSQL's buffers, so A does not pay for what A′ reuses.
    await runLoad({ url: running.url(''), requests: 600, connections: 4, mix: 'default', latencyOut: join(out, 'warmup.jsonl'), seed: 1 });
    // The first traced run after attaching is slower (every probe site's first hit, new pg
    // backends), so a discarded one takes that cost.
    for (const [dir, extra] of [[join(out, 'warm-up'), []], [dirA, []], [dirA2, []], [dirB, ['--knob', `users:db_delay_ms=${DB_DELAY_MS}`]]] as const) {
      const r = await runLabCli(running, ['trace', '--out', dir, ...LOAD, ...extra], { timeoutMs: 90_000 });
      if (r.code !== 0) throw new Error(`lab trace ${dir} failed: ${r.stderr.trim().split('\n').at(-1)}`);
    }
  });
  afterAll(async () => {
    await running?.stop();
  });

  const compare = async (a: string, b: string): Promise<RunComparison> => {
    const r = await runLabCli(running, ['compare', a, b, '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { runs: RunComparison }).runs;
  };

  it('A/A: two runs of the same load differ in no route at FDR 5%', async () => {
    const c = await compare(dirA, dirA2);
    expect(c.routes.map((r) => r.route)).toEqual(expect.arrayContaining(['GET /api/users', 'GET /api/users/:id', 'POST /api/orders']));
    const shifted = c.routes.filter((r) => r.latency.significant).map((r) => `${r.route} p50 ${r.latency.p50Shift.shift.toFixed(2)}ms q ${r.latency.mannWhitneyQ.toExponential(1)} δ ${r.latency.cliffsDelta.toFixed(2)}`);
    expect(shifted).toEqual([]);
  });

  it(`A/B: db_delay_ms=${DB_DELAY_MS} on GET /api/users is found there, slower, in its first DB query, intervals excluding 0`, async () => {
    const c = await compare(dirA, dirB);
    expect(c.significantRoutes).toContain('GET /api/users');
    const users = c.routes.find((r) => r.route === 'GET /api/users');
    expect(users?.latency.direction).toBe('slower');
    expect(users?.latency.p50Shift.low).toBeGreaterThan(DB_DELAY_MS / 2);
    expect(users?.latency.cliffsDelta).toBeGreaterThan(0.8);
    const top = users?.contributors[0];
    expect(top?.type).toMatch(/^app processing › DB query \(SELECT … users\)$/);
    expect(top?.direction).toBe('slower');
    expect(top?.p50Shift.low).toBeGreaterThan(DB_DELAY_MS / 2);
    expect(top?.p50Shift.high).toBeLessThan(DB_DELAY_MS * 3);
    expect(top?.shareOfShift).toBeGreaterThan(0.6);
  });

  it('lab report B --baseline A: the comparison, the evidence and the waterfalls', async () => {
    const reportDir = join(out, 'report');
    const r = await runLabCli(running, ['report', dirB, '--baseline', dirA, '--out', reportDir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(reportDir, 'report.md'), 'utf8');
    expect(md).toMatch(/^- Against .*GET \/api\/users slower \(p50 \+\d+\.\dms, mostly app processing › DB query \(SELECT … users\)\)/m);
    expect(md).toMatch(/^\| GET \/api\/users \| slower \| \d+ → \d+ \|/m);
    expect(md).toContain('## What this capture could not see');
    const html = readFileSync(join(reportDir, 'report.html'), 'utf8');
    expect(html).toMatch(/<figure class="waterfall" data-trace="[0-9a-f]{32}"><svg /);
  });
});

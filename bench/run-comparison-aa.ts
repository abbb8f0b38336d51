/**
 * A/A false positives of `lab compare` on real captures: N traced runs of one load after an
 * untraced and a traced warm-up, every pair of runs compared; a route counts as a false positive when it is
 * significant (q ≤ 5%, |Cliff's δ| ≥ 0.147, median or mean shift ≥ 1 ms) after dividing
 * by the run-wide factor, and, for reference, as measured (`lab compare --raw`). Then one
 * run with db_delay_ms on GET /api/users, compared with the first: the shift found and its CI.
 *
 *   sudo npx tsx bench/run-comparison-aa.ts [--runs 6] [--requests 400] [--shift-ms 8]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTraces } from '../assembler/load-traces.ts';
import type { Trace } from '../assembler/span.ts';
import { compareRuns } from '../analysis/compare-runs.ts';
import { runLoad } from '../lab/load/run-load.ts';
import { parseBenchArgs } from './bench-args.ts';
import { openBenchLab } from './bench-lab.ts';

const args = parseBenchArgs(process.argv.slice(2), [
  { name: 'runs', min: 2, max: 30, default: 6, integer: true },
  { name: 'requests', min: 50, max: 100_000, default: 400, integer: true },
  { name: 'shift-ms', min: 1, max: 1000, default: 8, integer: true },
]);
if (!args.ok) {
  process.stderr.write(`run-comparison-aa: ${args.error}\n`);
  process.exit(2);
}
const { runs, requests } = args.values;
const shiftMs = args.values['shift-ms'];
const say = (line: string): void => {
  process.stderr.write(`run-comparison-aa: ${line}\n`);
};
const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'run-comparison-aa-'));
const lab = await openBenchLab(say);
try {
  await runLoad({ url: lab.url, requests: 600, connections: 4, mix: 'default', latencyOut: join(tmp, 'warmup.jsonl'), seed: 1 });
  const trace = async (name: string, extra: readonly string[]): Promise<readonly Trace[]> => {
    const dir = join(tmp, name);
    const r = spawnSync(process.execPath, [join(root, 'cli', 'lab.mjs'), 'trace', '--out', dir, '--requests', String(requests), '--connections', '4', ...extra], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(`lab trace ${name} failed: ${r.stderr.trim().split('\n').at(-1)}`);
    return (await loadTraces(dir, () => {})).assembled.traces;
  };
  // The first traced run after attaching is slower (every probe site's first hit, new pg
  // backends): a discarded one takes that cost.
  await trace('warm-up', []);
  const captures: (readonly Trace[])[] = [];
  for (let i = 0; i < runs; i++) {
    captures.push(await trace(`run-${i}`, []));
    say(`run ${i + 1}/${runs} traced`);
  }
  let pairs = 0;
  let routeTests = 0;
  const falsePositives: string[] = [];
  const shifts: Array<{ pair: string; route: string; runFactor: number | null; p50A: number; p50ShiftPct: number; delta: number; q: number }> = [];
  const qOnly: string[] = [];
  for (let i = 0; i < runs; i++) {
    for (let j = i + 1; j < runs; j++) {
      const c = compareRuns(captures[i] as readonly Trace[], captures[j] as readonly Trace[], `run-${i}`, `run-${j}`);
      const loose = compareRuns(captures[i] as readonly Trace[], captures[j] as readonly Trace[], `run-${i}`, `run-${j}`, { adjustRunWide: false });
      pairs++;
      routeTests += c.routes.length;
      falsePositives.push(...c.significantRoutes.map((r) => `${i}-${j} ${r}`));
      for (const r of c.routes) {
        const p50A = r.latency.p50A;
        shifts.push({ pair: `${i}-${j}`, route: r.route, runFactor: c.runFactor, p50A, p50ShiftPct: (r.latency.p50Shift.shift / Math.max(1e-9, p50A)) * 100, delta: r.latency.cliffsDelta, q: Math.min(r.latency.mannWhitneyQ, r.latency.ksQ) });
      }
      qOnly.push(...loose.significantRoutes.map((r) => `${i}-${j} ${r}`));
    }
  }
  const shifted = await trace('shifted', ['--knob', `users:db_delay_ms=${shiftMs}`]);
  const s = compareRuns(captures[0] as readonly Trace[], shifted, 'run-0', 'shifted');
  const users = s.routes.find((r) => r.route === 'GET /api/users');
  const result = {
    runs,
    requests,
    pairs,
    routeComparisons: routeTests,
    falsePositiveRoutes: falsePositives.length,
    pairsWithAFalsePositive: new Set(falsePositives.map((f) => f.split(' ')[0])).size,
    falsePositives,
    qOnlyFalsePositiveRoutes: qOnly.length,
    qOnly,
    shifts,
    shift: {
      injectedMs: shiftMs,
      significantRoutes: s.significantRoutes,
      usersP50Shift: users?.latency.p50Shift,
      usersCliffsDelta: users?.latency.cliffsDelta,
      topContributor: users?.contributors[0] ? { type: users.contributors[0].type, p50Shift: users.contributors[0].p50Shift, shareOfShift: users.contributors[0].shareOfShift } : null,
    },
  };
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'run-comparison-aa.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(
    [
      `A/A: ${pairs} pairs of ${runs} runs × ${requests} requests, ${routeTests} route comparisons`,
      `  significant (q ≤ 5%, |δ| ≥ 0.147, shift ≥ 1 ms): ${falsePositives.length} route(s) in ${result.pairsWithAFalsePositive} pair(s)${falsePositives.length ? `: ${falsePositives.join(', ')}` : ''}`,
      `  as measured (--raw): ${qOnly.length} route(s)${qOnly.length ? `: ${qOnly.join(', ')}` : ''}`,
      `shift: db_delay_ms=${shiftMs} on GET /api/users → significant ${s.significantRoutes.join(', ') || 'none'}; p50 ${users?.latency.p50Shift.shift.toFixed(1)} ms [${users?.latency.p50Shift.low.toFixed(1)}, ${users?.latency.p50Shift.high.toFixed(1)}], δ ${users?.latency.cliffsDelta.toFixed(2)}; from ${result.shift.topContributor?.type ?? '—'} p50 ${result.shift.topContributor?.p50Shift.shift.toFixed(1)} ms [${result.shift.topContributor?.p50Shift.low.toFixed(1)}, ${result.shift.topContributor?.p50Shift.high.toFixed(1)}]`,
    ].join('\n') + '\n',
  );
} finally {
  await lab.close();
  rmSync(tmp, { recursive: true, force: true });
}

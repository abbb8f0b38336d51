/**
 * Baseline and analysis throughput: assembles a synthetic capture of N requests (users and
 * feed routes, seeded jitter, one anomaly in 100), then times buildBaseline and analyzeCapture.
 *
 *   npx tsx bench/analyze-throughput.ts [requests=20000]
 */
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture } from '../assembler/fixtures/scenario-builder.ts';
import { analyzeCapture } from '../analysis/analyze-capture.ts';
import { buildBaseline } from '../analysis/build-baseline.ts';
import { feedPopulation, SPACING_US, usersPopulation } from '../analysis/fixtures/populations.ts';
import { DEFAULT_THRESHOLDS } from '../analysis/thresholds.ts';

const requests = Number(process.argv[2] ?? 20_000);
if (!Number.isInteger(requests) || requests < 10 || requests > 1_000_000) {
  process.stderr.write(`analyze-throughput: requests must be 10..1000000, got '${process.argv[2]}'\n`);
  process.exit(2);
}
const users = Math.round(requests * 0.7);
const plans = [...usersPopulation(users, 1, 1, 0), ...feedPopulation(requests - users, 2, users + 1, users * SPACING_US)].map((p, i) =>
  i % 100 === 99 ? { ...p, steps: [...p.steps, { kind: 'cpu' as const, us: 30_000 }] } : p,
);
const t0 = performance.now();
const traces = assembleCapture(buildCapture('bench', plans)).traces;
const t1 = performance.now();
const baseline = buildBaseline(traces, 'bench');
const t2 = performance.now();
const report = analyzeCapture(traces, baseline, DEFAULT_THRESHOLDS, { baselineIsSelf: true });
const t3 = performance.now();
const spans = traces.reduce((s, t) => s + t.spans.length, 0);
const rate = (n: number, ms: number): string => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`;
process.stdout.write(
  [
    `${traces.length} traces, ${spans} spans (assembled in ${(t1 - t0).toFixed(0)} ms)`,
    `buildBaseline   ${(t2 - t1).toFixed(0).padStart(6)} ms  ${rate(traces.length, t2 - t1)} traces`,
    `analyzeCapture  ${(t3 - t2).toFixed(0).padStart(6)} ms  ${rate(traces.length, t3 - t2)} traces, ${report.findings.length} findings`,
  ].join('\n') + '\n',
);

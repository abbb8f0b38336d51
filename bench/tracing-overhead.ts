/**
 * Tracing overhead: the lab's throughput and client latency through nginx (autocannon, no rate
 * cap) untraced, with only the app's USDT probes attached, and with every probe family at sample
 * rates 1, 0.1 and 0.01. Runs are interleaved (A B C D E A B C D E …) so drift in the host's load
 * hits every condition alike; each condition reports its median req/s and the ratio to the
 * untraced median. Prints a table and writes bench/results/tracing-overhead.json.
 *
 *   sudo npx tsx bench/tracing-overhead.ts [--duration 8] [--rounds 3] [--connections 10] [--budget 480]
 *                                          [--breakdown 1]
 *
 * --breakdown 1 compares family subsets instead (untraced; usdt with sockets+files, with postgres,
 * with sched) and writes bench/results/tracing-overhead-families.json.
 *
 * Uses the lab at LAB_PORT_BASE / LAB_STATE_DIR, bringing it up (and down again) if needed. Stops
 * starting rounds once --budget seconds would be exceeded.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { runLoad } from '../lab/load/run-load.ts';
import { loaderArgs, spawnLoader, type LoaderResult } from '../tracer/spawn-loader.ts';
import { parseBenchArgs } from './bench-args.ts';
import { openBenchLab, type BenchLab } from './bench-lab.ts';
import { formatOverheadTable, interleavedSchedule, summarizeOverhead, type OverheadRun } from './overhead-summary.ts';

const RESULTS = join(import.meta.dirname, 'results');
const MIX = 'default';
const WARMUP_S = 5;
/** Pause between runs: detaching uprobes and the load's sockets closing settle meanwhile. */
const PAUSE_MS = 1000;
/** The seed's goal for sampled tracing. */
const GOAL_PCT = 5;

interface Condition {
  readonly name: string;
  /** Absent: no loader. */
  readonly trace?: { readonly families?: readonly string[]; readonly sample: number };
}

const CONDITIONS: readonly Condition[] = [
  { name: 'untraced' },
  { name: 'usdt only', trace: { families: ['usdt'], sample: 1 } },
  { name: 'full, sample 1', trace: { sample: 1 } },
  { name: 'full, sample 0.1', trace: { sample: 0.1 } },
  { name: 'full, sample 0.01', trace: { sample: 0.01 } },
];

/** `--breakdown 1`: which families the full set's cost comes from (the app's probes in each). */
const BREAKDOWN: readonly Condition[] = [
  { name: 'untraced' },
  { name: 'usdt+sockets+files', trace: { families: ['usdt', 'sockets', 'files'], sample: 1 } },
  { name: 'usdt+postgres', trace: { families: ['usdt', 'postgres'], sample: 1 } },
  { name: 'usdt+sched', trace: { families: ['usdt', 'sched'], sample: 1 } },
];

interface RunRecord extends OverheadRun {
  /** The host's 1-minute load average when the run started (other work competes for the 2 cores). */
  readonly loadavg1m: number;
  readonly durationS: number;
  readonly responses: number;
  readonly loader?: {
    readonly records: number | null;
    readonly eventsPerSecond: number | null;
    readonly eventBytes: number;
    readonly drops: Readonly<Record<string, number>>;
    readonly attachSeconds: number;
    readonly stopSeconds: number;
  };
}

const say = (line: string): void => {
  process.stderr.write(`tracing-overhead: ${line}\n`);
};
const round2 = (n: number): number => Math.round(n * 100) / 100;
const loadAvg = (): number[] => loadavg().map(round2);

async function measure(lab: BenchLab, c: Condition, round: number, durationS: number, connections: number): Promise<RunRecord> {
  const eventsPath = join(lab.cfg.stateDir, 'bench-overhead-events.bin');
  let loader: ReturnType<typeof spawnLoader> | null = null;
  let attachSeconds = 0;
  if (c.trace) {
    const t0 = Date.now();
    loader = spawnLoader({
      args: loaderArgs({
        appPid: lab.appPid,
        addonPath: lab.addonPath,
        nginxPids: lab.nginxPids,
        pgPid: lab.pgPid,
        sample: c.trace.sample,
        maxSeconds: durationS + 120,
        ...(c.trace.families ? { families: c.trace.families } : {}),
      }),
      eventsPath,
      logPath: join(lab.cfg.stateDir, 'bench-overhead-loader.log'),
    });
    await loader.attached;
    attachSeconds = (Date.now() - t0) / 1000;
  }
  let result: LoaderResult | null = null;
  let stopSeconds = 0;
  const loadavg1m = round2(loadavg()[0] ?? 0);
  try {
    const s = await runLoad({ url: lab.url, durationS, connections, mix: MIX, latencyOut: join(lab.cfg.stateDir, 'bench-overhead-latency.jsonl'), seed: round });
    if (loader) {
      const t0 = Date.now();
      result = await loader.stop();
      stopSeconds = (Date.now() - t0) / 1000;
    }
    const records = result?.counters.records ?? null;
    return {
      condition: c.name,
      round,
      requestsPerSecond: s.requestsPerSecond,
      p50Ms: s.latencyMs.p50,
      p99Ms: s.latencyMs.p99,
      failures: s.errors + s.timeouts + s.non2xx,
      loadavg1m,
      durationS: s.durationS,
      responses: s.responses,
      ...(result
        ? {
            loader: {
              records,
              eventsPerSecond: records === null ? null : Math.round(records / s.durationS),
              eventBytes: result.eventBytes,
              drops: result.drops,
              attachSeconds: round2(attachSeconds),
              stopSeconds: round2(stopSeconds),
            },
          }
        : {}),
    };
  } finally {
    if (loader) await loader.stop();
    rmSync(eventsPath, { force: true });
  }
}

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2), [
    { name: 'duration', min: 1, max: 120, default: 8 },
    { name: 'rounds', min: 1, max: 20, default: 3, integer: true },
    { name: 'connections', min: 1, max: 1000, default: 10, integer: true },
    { name: 'budget', min: 10, max: 3600, default: 480 },
    { name: 'breakdown', min: 0, max: 1, default: 0, integer: true },
  ]);
  if (!args.ok) {
    say(args.error);
    return 2;
  }
  const { duration, rounds, connections, budget, breakdown } = args.values;
  const conditions = breakdown ? BREAKDOWN : CONDITIONS;
  const out = join(RESULTS, breakdown ? 'tracing-overhead-families.json' : 'tracing-overhead.json');
  const started = Date.now();
  const loadAtStart = loadAvg();
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    say('interrupted: finishing the current run, then stopping');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const lab = await openBenchLab(say);
  const runs: RunRecord[] = [];
  const warnings: string[] = [];
  try {
    say(`warm-up ${WARMUP_S} s`);
    await runLoad({ url: lab.url, durationS: WARMUP_S, connections, mix: MIX, latencyOut: join(lab.cfg.stateDir, 'bench-overhead-latency.jsonl'), seed: 0 });
    const schedule = interleavedSchedule(conditions, rounds);
    let roundStarted = Date.now();
    let roundSeconds = 0;
    for (const { round, condition } of schedule) {
      if (interrupted) break;
      if (condition === conditions[0]) {
        if (round > 1) roundSeconds = Math.max(roundSeconds, (Date.now() - roundStarted) / 1000);
        const elapsed = (Date.now() - started) / 1000;
        if (round > 1 && elapsed + roundSeconds > budget) {
          warnings.push(`stopped after ${round - 1} of ${rounds} rounds: another would pass the ${budget} s budget`);
          say(warnings.at(-1) as string);
          break;
        }
        roundStarted = Date.now();
      }
      say(`round ${round}/${rounds}: ${condition.name}`);
      const r = await measure(lab, condition, round, duration, connections);
      runs.push(r);
      const drops = r.loader ? Object.values(r.loader.drops).reduce((a, b) => a + b, 0) : 0;
      say(
        `  ${r.requestsPerSecond.toFixed(1)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms` +
          (r.loader ? `, ${r.loader.eventsPerSecond ?? '?'} events/s, ${drops} dropped` : ''),
      );
      await new Promise((res) => setTimeout(res, PAUSE_MS));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lab.close();
  }
  if (interrupted) warnings.push('interrupted by a signal: fewer runs than asked for');

  const rows = summarizeOverhead(runs, conditions[0]!.name);
  const table = formatOverheadTable(rows);
  process.stdout.write(`${table}\n`);
  const sampled = rows.filter((r) => r.condition.startsWith('full, sample 0.'));
  const result = {
    measuredAt: new Date().toISOString(),
    settings: { durationS: duration, rounds, connections, mix: MIX, proxy: 'nginx', warmupS: WARMUP_S },
    machine: { cpus: cpus().length, kernel: release(), node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadAvg() },
    goal: breakdown ? null : { maxOverheadPct: GOAL_PCT, conditions: sampled.map((r) => r.condition), met: sampled.length > 0 && sampled.every((r) => r.overheadPct < GOAL_PCT) },
    conditions: rows.map((r) => ({ ...r, medianRps: round2(r.medianRps), minRps: round2(r.minRps), maxRps: round2(r.maxRps), ratio: Math.round(r.ratio * 1000) / 1000, overheadPct: round2(r.overheadPct), medianP50Ms: round2(r.medianP50Ms), medianP99Ms: round2(r.medianP99Ms) })),
    runs: runs.map((r) => ({ ...r, requestsPerSecond: round2(r.requestsPerSecond), p50Ms: round2(r.p50Ms), p99Ms: round2(r.p99Ms), durationS: round2(r.durationS) })),
    table: table.split('\n'),
    elapsedS: Math.round((Date.now() - started) / 1000),
    warnings,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  say(`wrote ${out}`);
  const failed = runs.some((r) => r.failures > 0 || (r.loader && Object.values(r.loader.drops).some((n) => n > 0)));
  if (failed) say('some runs had failed requests or dropped events (see the runs in the JSON)');
  return interrupted || runs.length === 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);

/**
 * Baseline throughput and client latency through nginx with nothing traced, written to
 * bench/results/baseline-load.json. The reference point for tracing overhead.
 *
 *   npx tsx bench/baseline-load.ts [--duration S] [--connections C] [--mix NAME]
 *
 * Uses the lab at LAB_PORT_BASE / LAB_STATE_DIR, bringing it up (and down again) if needed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { labConfig } from '../lab/config.ts';
import { postgresVersion } from '../lab/db/postgres-binaries.ts';
import { labDown } from '../lab/lifecycle/lab-down.ts';
import { labIsUp, labStatus } from '../lab/lifecycle/lab-status.ts';
import { labUp } from '../lab/lifecycle/lab-up.ts';
import { labPaths } from '../lab/lifecycle/state-paths.ts';
import { parseNginxVersion } from '../lab/doctor/parse-doctor-inputs.ts';
import { formatLoadSummary } from '../lab/load/format-load-summary.ts';
import { runLoad } from '../lab/load/run-load.ts';
import { MIX_NAMES, type MixName } from '../shared/mixes.ts';
import { parseBenchArgs } from './bench-args.ts';

const WARMUP_S = 3;
const OUT = join(import.meta.dirname, 'results', 'baseline-load.json');

function nginxVersion(): string | null {
  // nginx -v prints to stderr.
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return parseNginxVersion(`${r.stderr ?? ''}${r.stdout ?? ''}`);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const at = argv.findIndex((a) => a === '--mix' || a.startsWith('--mix='));
  let mix: MixName = 'default';
  if (at >= 0) {
    const arg = argv[at] as string;
    const name = arg.includes('=') ? arg.slice('--mix='.length) : argv[at + 1];
    if (!MIX_NAMES.includes(name as MixName)) {
      process.stderr.write(`baseline-load: --mix must be one of ${MIX_NAMES.join(', ')}, got '${(name ?? '').slice(0, 40)}'\n`);
      return 2;
    }
    mix = name as MixName;
    argv.splice(at, arg.includes('=') ? 1 : 2);
  }
  const parsed = parseBenchArgs(argv, [
    { name: 'duration', min: 0.1, max: 3600, default: 20 },
    { name: 'connections', min: 1, max: 1000, default: 10, integer: true },
  ]);
  if (!parsed.ok) {
    process.stderr.write(`baseline-load: ${parsed.error}\n`);
    return 2;
  }
  const { duration: durationS, connections } = parsed.values;
  const cfg = labConfig();
  const say = (l: string): void => {
    process.stderr.write(`baseline-load: ${l}\n`);
  };
  const loadBefore = loadavg()[0] ?? 0;
  const wasUp = labIsUp(labStatus(cfg, () => null));
  const status = wasUp ? labStatus(cfg, () => null) : await labUp(cfg, { proxy: 'nginx', progress: say });
  if (status.proxy.kind !== 'nginx') throw new Error(`the lab runs the ${status.proxy.kind} proxy; the baseline is measured through nginx`);
  try {
    const url = `http://${cfg.host}:${cfg.proxyPort}`;
    const scratch = join(cfg.stateDir, 'baseline-warmup.jsonl');
    say(`warm-up ${WARMUP_S} s`);
    await runLoad({ url, durationS: WARMUP_S, connections, mix, latencyOut: scratch, seed: 1 });
    say(`measuring ${durationS} s, ${connections} connections, mix ${mix}`);
    const s = await runLoad({ url, durationS, connections, mix, latencyOut: labPaths(cfg).lastLoad, seed: 2, progress: say });
    process.stdout.write(formatLoadSummary(s) + '\n');
    const result = {
      measuredAt: new Date().toISOString(),
      proxy: 'nginx',
      mix,
      connections,
      durationS: Number(s.durationS.toFixed(3)),
      responses: s.responses,
      requestsPerSecond: Number(s.requestsPerSecond.toFixed(1)),
      latencyMs: Object.fromEntries(Object.entries(s.latencyMs).map(([k, v]) => [k, k === 'count' ? v : Number(v.toFixed(3))])),
      errors: s.errors,
      timeouts: s.timeouts,
      non2xx: s.non2xx,
      byTarget: Object.fromEntries(
        Object.entries(s.byTarget).map(([k, t]) => [k, t && { count: t.count, p50: Number(t.p50.toFixed(3)), p99: Number(t.p99.toFixed(3)) }]),
      ),
      versions: { node: process.version, nginx: nginxVersion(), postgres: postgresVersion(), kernel: release() },
      machine: { cpus: cpus().length, loadavg1mBefore: Number(loadBefore.toFixed(2)) },
    };
    mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
    writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
    say(`wrote ${OUT}`);
    return s.errors === 0 && s.non2xx === 0 ? 0 : 1;
  } finally {
    if (!wasUp) await labDown(cfg, say);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`baseline-load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

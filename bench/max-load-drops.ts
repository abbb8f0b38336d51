/**
 * The lab at its maximum load (autocannon, many connections, no rate cap) traced in full by
 * `lab trace`: how many events per second the loader writes, and its drop counters from the
 * capture's meta.json (the goal is zero). Prints a summary and writes
 * bench/results/max-load-drops.json; the capture itself is removed afterwards.
 *
 *   sudo npx tsx bench/max-load-drops.ts [--duration 15] [--connections 64]
 *
 * Uses the lab at LAB_PORT_BASE / LAB_STATE_DIR, bringing it up (and down again) if needed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lifecycle/app-tier.ts';
import { CAPTURE_FILES, parseMeta } from '../tracer/read-capture.ts';
import { parseBenchArgs } from './bench-args.ts';
import { openBenchLab } from './bench-lab.ts';
import { formatDropsSummary, summarizeDrops } from './drops-summary.ts';

const OUT = join(import.meta.dirname, 'results', 'max-load-drops.json');
const MIX = 'default';

const say = (line: string): void => {
  process.stderr.write(`max-load-drops: ${line}\n`);
};
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Runs `lab trace` in a child process (its progress on our stderr); resolves with its exit status and stdout. */
function labTrace(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli', 'main.ts'), 'trace', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => (stdout += c));
    // SIGINT lets `lab trace` detach its probes and write the capture.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run lab trace: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

async function main(): Promise<number> {
  const args = parseBenchArgs(process.argv.slice(2), [
    { name: 'duration', min: 1, max: 300, default: 15 },
    { name: 'connections', min: 1, max: 1000, default: 64, integer: true },
  ]);
  if (!args.ok) {
    say(args.error);
    return 2;
  }
  const { duration, connections } = args.values;
  const loadAtStart = loadavg().map(round2);
  const lab = await openBenchLab(say);
  const dir = join(lab.cfg.stateDir, 'bench-max-load-capture');
  try {
    rmSync(dir, { recursive: true, force: true });
    say(`lab trace: ${duration} s, ${connections} connections, mix ${MIX}, every family, sample 1`);
    const t = await labTrace(['--out', dir, '--duration', String(duration), '--connections', String(connections), '--mix', MIX, '--json'], (duration + 180) * 1000);
    if (t.code !== 0) say(`lab trace exited with status ${t.code}`);
    const meta = parseMeta(readFileSync(join(dir, CAPTURE_FILES.meta), 'utf8'), join(dir, CAPTURE_FILES.meta));
    const clientLines = readFileSync(join(dir, CAPTURE_FILES.client), 'utf8').split('\n').filter((l) => l.trim() !== '');
    const failures = clientLines.filter((l) => !/"status":2\d\d[,}]/.test(l)).length;
    const s = summarizeDrops(meta, clientLines.length);
    process.stdout.write(formatDropsSummary(s) + '\n');
    const result = {
      measuredAt: new Date().toISOString(),
      settings: { durationS: duration, connections, mix: MIX, rate: null, sample: meta.sample, proxy: meta.proxy },
      machine: { cpus: cpus().length, kernel: release(), node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map(round2) },
      hooks: meta.hooks,
      windowS: round2(s.windowS),
      requests: s.requests,
      non2xx: failures,
      requestsPerSecond: round2(s.requestsPerSecond),
      events: s.records,
      eventsPerSecond: Math.round(s.eventsPerSecond),
      eventsPerRequest: round2(s.eventsPerRequest),
      bytes: s.bytes,
      kinds: s.kinds,
      drops: s.drops,
      totalDrops: s.totalDrops,
      goalMet: s.dropCountersSeen && s.totalDrops === 0,
      loader: { stop: meta.loader?.stop ?? null, stopSeconds: meta.loader?.stopSeconds ?? null, families: meta.loader?.families ?? {} },
      labTraceExit: t.code,
      captureWarnings: meta.warnings ?? [],
    };
    mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
    writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
    say(`wrote ${OUT}`);
    return t.code === 0 && result.goalMet ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await lab.close();
  }
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

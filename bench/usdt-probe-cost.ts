// Cost of one app probe call through the USDT addon, untraced and traced (bpftrace counting
// hits on this process), for nop1 (sys/sdt.h) and nop5 probe sites. Prints figures; needs root
// and bpftrace.
//   npx tsx bench/usdt-probe-cost.ts
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DEFAULT_ADDON_PATH, loadUsdtAddon, nativeProbes, NOP1_ADDON_PATH } from '../lab/app/native/usdt-addon.ts';
import type { AppProbes } from '../lab/app/probes.ts';

const ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CHECK_ITERATIONS = 20_000_000;
const FIRE_ITERATIONS = 100_000;
const TRACED_ITERATIONS = 100_000;
// Many short rounds, best one kept: on a busy 2-core machine a quiet stretch comes eventually.
const ROUNDS = 20;

/** Best of ROUNDS runs of `body(n)`, in ns per iteration. */
function nsPerCall(n: number, body: (n: number) => number): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    body(n);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

function emptyLoop(n: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) k += i & 1;
  return k;
}

function checkOnly(p: AppProbes): (n: number) => number {
  return (n) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (p.enabled.requestStart()) k++;
    return k;
  };
}

function guardedFire(p: AppProbes): (n: number) => number {
  return (n) => {
    for (let i = 0; i < n; i++) if (p.enabled.requestStart()) p.requestStart(ID, 'GET', '/api/users', 10);
    return n;
  };
}

function unguardedFire(p: AppProbes): (n: number) => number {
  return (n) => {
    for (let i = 0; i < n; i++) p.requestStart(ID, 'GET', '/api/users', 10);
    return n;
  };
}

/**
 * Attaches bpftrace to request_start in this process. The semaphore is set when the uprobe is
 * created, before the BPF program is attached to it, so readiness is bpftrace's BEGIN, which
 * runs once every probe is attached.
 */
async function attach(p: AppProbes, path: string): Promise<{ detach(): Promise<number> }> {
  const tracer = spawn(
    'bpftrace',
    ['-B', 'line', '-p', String(process.pid), '-e',
      `BEGIN { printf("attached\\n"); } usdt:${path}:reqtrace:request_start { @hits = count(); }`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out: string[] = [];
  createInterface({ input: tracer.stdout }).on('line', (l) => out.push(l));
  let err = '';
  tracer.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => tracer.once('exit', res));
  const deadline = Date.now() + 30_000;
  while (!out.includes('attached') || !p.enabled.requestStart()) {
    if (tracer.exitCode !== null || Date.now() > deadline) {
      tracer.kill('SIGKILL');
      throw new Error(`bpftrace did not attach (exit ${tracer.exitCode}): ${err.trim() || "timed out"}`);
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  return {
    async detach() {
      tracer.kill('SIGINT');
      await exited;
      const line = out.find((l) => l.startsWith('@hits:'));
      return line === undefined ? 0 : Number(line.slice('@hits:'.length));
    },
  };
}

interface Figures {
  site: string;
  loop: number;
  check: number;
  untraced: number;
  nativeNop: number;
  traced: number;
  hits: number;
  wanted: number;
  trampoline: boolean;
}

async function measure(path: string): Promise<Figures> {
  const addon = loadUsdtAddon(path);
  const p = nativeProbes(addon);
  const loop = nsPerCall(CHECK_ITERATIONS, emptyLoop);
  const check = nsPerCall(CHECK_ITERATIONS, checkOnly(p));
  const untraced = nsPerCall(CHECK_ITERATIONS, guardedFire(p));
  const nativeNop = nsPerCall(FIRE_ITERATIONS, unguardedFire(p));
  const session = await attach(p, path);
  const traced = nsPerCall(TRACED_ITERATIONS, guardedFire(p));
  // The kernel maps this page once it has turned a probed nop5 into a call.
  const trampoline = readFileSync('/proc/self/maps', 'utf8').includes('[uprobes-trampoline]');
  const hits = await session.detach();
  return { site: addon.probeSite, loop, check, untraced, nativeNop, traced, hits, wanted: TRACED_ITERATIONS * ROUNDS, trampoline };
}

/**
 * Each variant runs in its own process: bpftrace 0.17 given `-p` and one module's path also
 * attaches at the offsets of a same-named probe in another loaded module, inside the named
 * file, which corrupts the code there.
 */
function measureInChild(path: string): Figures {
  const run = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--measure', path], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 240_000,
  });
  if (run.status !== 0) throw new Error(`measuring ${path} failed (${run.signal ?? `exit ${run.status}`})`);
  return JSON.parse(run.stdout) as Figures;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') {
    process.stdout.write(JSON.stringify(await measure(process.argv[3] ?? DEFAULT_ADDON_PATH)));
    return;
  }
  const runs = [NOP1_ADDON_PATH, DEFAULT_ADDON_PATH].map(measureInChild);
  const rows: Array<[string, (f: Figures) => string]> = [
    ['probe site', (f) => f.site],
    ['empty loop (baseline, ns/iter)', (f) => f.loop.toFixed(2)],
    ['is-enabled check alone (ns/call)', (f) => f.check.toFixed(2)],
    ['is-enabled + fire, untraced (ns/call)', (f) => f.untraced.toFixed(2)],
    ['fire without the check, untraced (ns/call)', (f) => f.nativeNop.toFixed(1)],
    ['is-enabled + fire, traced (ns/call)', (f) => f.traced.toFixed(1)],
    ['  probe hit alone (traced - untraced fire, ns)', (f) => (f.traced - f.nativeNop).toFixed(1)],
    ['[uprobes-trampoline] mapped while traced', (f) => String(f.trampoline)],
    ['hits counted by bpftrace / fired', (f) => `${f.hits} / ${f.wanted}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${runs.map((f) => v(f).padStart(18)).join('')}\n`);
  for (const f of runs) {
    if (f.hits !== f.wanted) {
      process.stderr.write(`usdt-probe-cost: ${f.site}: bpftrace counted ${f.hits} hits, expected ${f.wanted}\n`);
      process.exitCode = 1;
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`usdt-probe-cost: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

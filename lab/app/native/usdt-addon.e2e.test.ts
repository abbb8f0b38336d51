import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ADDON_PATH, NOP1_ADDON_PATH, PROBE_NAMES, type ProbeName } from './usdt-addon.ts';

// Real USDT: the built addon in a child node process, bpftrace attached to it by pid.

const REPO = resolve(import.meta.dirname, '../../..');
const CHILD = resolve(import.meta.dirname, 'testdata/fire-probes-child.ts');
const N = 200;
const USDT_NAMES = [
  'request_start',
  'request_end',
  'db_query_start',
  'db_query_end',
  'cache_hit',
  'cache_miss',
  'file_open',
  'file_close',
  'pool_wait',
] as const;

const started: ChildProcess[] = [];

afterEach(() => {
  for (const p of started.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
});

/** Collects a process's stdout lines and lets a test wait for one. */
/** Sends `signal` (none: only waits) and waits up to `ms` for `p` to exit; whether it did. */
function stopped(p: ChildProcess, signal: NodeJS.Signals | null, ms: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), ms);
    p.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
    if (signal) p.kill(signal);
  });
}

function lines(p: ChildProcess): { all: string[]; next(match: (l: string) => boolean, ms: number): Promise<string> } {
  const all: string[] = [];
  const waiters: Array<{ match: (l: string) => boolean; resolve: (l: string) => void }> = [];
  createInterface({ input: p.stdout! }).on('line', (l) => {
    all.push(l);
    const i = waiters.findIndex((w) => w.match(l));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(l);
  });
  return {
    all,
    next(match, ms) {
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no matching line within ${ms} ms; got ${all.slice(-5).join(' | ')}`)), ms);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            res(l);
          },
        });
      });
    },
  };
}

function track(p: ChildProcess): ChildProcess {
  started.push(p);
  return p;
}

interface SemReport {
  sems: Record<ProbeName, number>;
  enabled: Record<ProbeName, boolean>;
}

function requestIdOf(i: number): string {
  return i.toString(16).padStart(8, '0').repeat(4);
}

function bpftraceProgram(addon: string): string {
  const at = (name: string) => `usdt:${addon}:reqtrace:${name}`;
  // BEGIN runs once every probe is attached; the semaphores are set a little earlier, when the
  // uprobes are created and before their BPF programs are.
  return [
    'BEGIN { printf("attached\\n"); }',
    `${at('request_start')} { printf("request_start %s %s %s %d\\n", str(arg0), str(arg1), str(arg2), arg3); }`,
    `${at('request_end')} { printf("request_end %s %d %d %d\\n", str(arg0), arg1, arg2, arg3); }`,
    `${at('db_query_start')} { printf("db_query_start %s %d %s\\n", str(arg0), arg2, str(arg1)); }`,
    `${at('db_query_end')} { printf("db_query_end %s %d %d %d\\n", str(arg0), arg1, arg2, arg3); }`,
    `${at('cache_hit')} { printf("cache_hit %s %s\\n", str(arg0), str(arg1)); }`,
    `${at('cache_miss')} { printf("cache_miss %s %s\\n", str(arg0), str(arg1)); }`,
    `${at('file_open')} { printf("file_open %s %d %s\\n", str(arg0), arg1, str(arg2)); }`,
    `${at('file_close')} { printf("file_close %s %d\\n", str(arg0), arg1); }`,
    // bpftrace reads at most six USDT arguments on x86-64: new_connection (arg6) is not printed.
    `${at('pool_wait')} { printf("pool_wait %s %d %d %d %d %d\\n", str(arg0), arg1, arg2, arg3, arg4, arg5); }`,
  ].join('\n');
}

async function semaphores(child: ChildProcess, out: ReturnType<typeof lines>): Promise<SemReport> {
  child.stdin!.write('sem\n');
  return JSON.parse(await out.next((l) => l.startsWith('{'), 5_000)) as SemReport;
}

async function waitForSemaphores(
  child: ChildProcess,
  out: ReturnType<typeof lines>,
  want: (v: number) => boolean,
  ms: number,
): Promise<SemReport> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await semaphores(child, out);
    if (PROBE_NAMES.every((p) => want(r.sems[p])) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe.each([
  ['nop5', DEFAULT_ADDON_PATH],
  ['nop1', NOP1_ADDON_PATH],
])('USDT addon with %s probe sites under bpftrace', (site, addon) => {
  it('lists every probe with a non-zero semaphore in its stapsdt notes', () => {
    expect(existsSync(addon), `${addon} missing: run npm run build`).toBe(true);
    const notes = execFileSync('readelf', ['-n', addon], { encoding: 'utf8' });
    const found = [...notes.matchAll(/Provider: (\S+)\s+Name: (\S+)\s+Location: (\S+), Base: \S+, Semaphore: (0x[0-9a-f]+)/g)].map(
      (m) => ({ provider: m[1], name: m[2], location: BigInt(m[3]!), semaphoreNonZero: BigInt(m[4]!) !== 0n }),
    );
    expect(found.map((f) => f.name).sort()).toEqual([...USDT_NAMES].sort());
    expect(found.every((f) => f.provider === 'reqtrace' && f.semaphoreNonZero)).toBe(true);

    const nop = site === 'nop5' ? '0f 1f 44 00 00' : '90';
    for (const f of found) {
      const dis = execFileSync(
        'objdump',
        ['-d', `--start-address=${f.location}`, `--stop-address=${f.location + (site === 'nop5' ? 5n : 1n)}`, addon],
        { encoding: 'utf8' },
      );
      expect(dis, `${f.name} at 0x${f.location.toString(16)}`).toMatch(new RegExp(`${f.location.toString(16)}:\\s+${nop}\\s+nop`));
    }

    const listed = execFileSync('bpftrace', ['-l', `usdt:${addon}:*`], { encoding: 'utf8' });
    expect(listed.trim().split('\n').sort()).toEqual(USDT_NAMES.map((n) => `usdt:${addon}:reqtrace:${n}`).sort());
  });

  it('fires every probe with intact arguments while attached and flips the semaphores', async () => {
    expect(existsSync(addon), `${addon} missing: run npm run build`).toBe(true);
    const child = track(spawn(process.execPath, ['--import', 'tsx', CHILD, addon], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    }));
    const childOut = lines(child);
    await childOut.next((l) => l === 'ready', 20_000);

    const before = await semaphores(child, childOut);
    expect(Object.values(before.sems)).toEqual(PROBE_NAMES.map(() => 0));
    expect(Object.values(before.enabled)).toEqual(PROBE_NAMES.map(() => false));

    const tracer = track(
      spawn('bpftrace', ['-B', 'line', '-p', String(child.pid), '-e', bpftraceProgram(addon)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        // Room for every printf of a burst, so none is lost while bpftrace is slow to read.
        env: { ...process.env, BPFTRACE_STRLEN: '80', BPFTRACE_PERF_RB_PAGES: '1024' },
      }),
    );
    let tracerErr = '';
    tracer.stderr!.on('data', (d: Buffer) => (tracerErr += d.toString()));
    const tracerOut = lines(tracer);
    const tracerExit = new Promise<never>((_, rej) =>
      tracer.once('exit', (code) => rej(new Error(`bpftrace exited (${code}) before attaching: ${tracerErr}`))),
    );
    await Promise.race([tracerOut.next((l) => l === 'attached', 30_000), tracerExit]);
    tracerExit.catch(() => {});

    const during = await waitForSemaphores(child, childOut, (v) => v > 0, 10_000);
    expect(PROBE_NAMES.filter((p) => during.sems[p] === 0)).toEqual([]);
    expect(Object.values(during.enabled)).toEqual(PROBE_NAMES.map(() => true));

    // Both waits start before the burst: bpftrace may print its last line before the child says it is done.
    const last = `request_end ${requestIdOf(N - 1)}`;
    const lastTraced = tracerOut.next((l) => l.startsWith(last), 30_000);
    const fired = childOut.next((l) => l === `fired ${N}`, 10_000);
    child.stdin!.write(`fire ${N}\n`);
    await fired;
    await lastTraced.catch((e: Error) => {
      throw new Error(`${e.message}; bpftrace stderr: ${tracerErr}`);
    });

    // Every line is in by now (the last one was read); a bpftrace slow to detach is not waited for.
    if (!(await stopped(tracer, 'SIGINT', 15_000))) await stopped(tracer, 'SIGKILL', 5_000);

    const events = tracerOut.all.filter((l) => USDT_NAMES.some((n) => l.startsWith(`${n} `)));
    const counts = Object.fromEntries(USDT_NAMES.map((n) => [n, events.filter((l) => l.startsWith(`${n} `)).length]));
    expect(counts).toEqual(Object.fromEntries(USDT_NAMES.map((n) => [n, N])));

    const expected: string[] = [];
    for (let i = 0; i < N; i++) {
      const id = requestIdOf(i);
      expected.push(
        `request_start ${id} GET /api/users/${i} 10`,
        `db_query_start ${id} 11 /* ${id} */ SELECT * FROM users WHERE id = $1`,
        `db_query_end ${id} ${1500 + i} 1 11`,
        `cache_hit ${id} user:${i}`,
        `cache_miss ${id} user:${i}`,
        `file_open ${id} 12 /tmp/report-${i}.log`,
        `file_close ${id} 12`,
        `pool_wait ${id} ${40_000 + i} 10 10 ${i % 7} 11`,
        `request_end ${id} 200 ${2500 + i} 10`,
      );
    }
    expect(events).toEqual(expected);

    const after = await waitForSemaphores(child, childOut, (v) => v === 0, 10_000);
    expect(Object.values(after.sems)).toEqual(PROBE_NAMES.map(() => 0));
    expect(Object.values(after.enabled)).toEqual(PROBE_NAMES.map(() => false));

    child.stdin!.end();
    expect(await stopped(child, null, 10_000), 'the probe child exits when its stdin ends').toBe(true);
  });
});

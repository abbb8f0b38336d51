/**
 * The sched family: a traced process made to compete for the CPUs with one busy loop per CPU
 * waits on the runqueue, and those waits above the 100 µs floor come out as EV_RUNQ_DELAY; an
 * untraced competitor's waits do not. Real BPF: fails, never skips, where BPF cannot load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventKind, type EventOf } from '../shared/event-types.ts';
import { bpfObjectIds, buildProbes, startLoader, type LoaderExit } from '../test/run-loader.ts';

/** Spins for `ms`, then exits: bounded CPU hogs. */
const BUSY = (ms: number): string => `const end = Date.now() + ${ms}; while (Date.now() < end) {}`;

const children: ChildProcess[] = [];

function busy(ms: number): ChildProcess {
  const c = spawn(process.execPath, ['-e', BUSY(ms)], { stdio: 'ignore' });
  children.push(c);
  return c;
}

function exited(c: ChildProcess): Promise<void> {
  return c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
}

let exit: LoaderExit;
let tracedPid = 0;
let competitorPids: number[] = [];
let hooks: Record<string, string> = {};
let links: number[] = [];

beforeAll(async () => {
  buildProbes();
  const traced = busy(3000);
  tracedPid = traced.pid!;
  const loader = await startLoader(['--app-pid', String(tracedPid), '--families', 'sched', '-d', '60']);
  hooks = loader.hooks;
  links = loader.linkIds;
  const competitors = Array.from({ length: availableParallelism() }, () => busy(1500));
  competitorPids = competitors.map((c) => c.pid!);
  await Promise.all(competitors.map(exited));
  exit = await loader.stop();
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(children.map(exited));
});

describe('sched family', () => {
  it('attaches with the hook kind detection chose', () => {
    expect(['tp_btf', 'raw_tp']).toContain(hooks.sched);
    expect(exit.code, exit.stderr).toBe(0);
  });

  it('reports runqueue waits of the traced process above the floor, and of no one else', () => {
    const waits = exit.events.filter((e): e is EventOf<typeof EventKind.RunqDelay> => e.kind === EventKind.RunqDelay);
    const mine = waits.filter((e) => e.pid === tracedPid);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.delayNs >= 100_000n)).toBe(true);
    expect(mine.every((e) => e.requestId === '' && e.fd === -1)).toBe(true);
    // With a busy loop per CPU, the traced loop waits whole scheduler slices at a time.
    const total = mine.reduce((s, e) => s + e.delayNs, 0n);
    expect(total).toBeGreaterThan(10_000_000n);
    expect(waits.filter((e) => competitorPids.includes(e.pid))).toEqual([]);
  });

  it('leaves no BPF link behind', () => {
    const now = bpfObjectIds('link');
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((id) => now.has(id))).toEqual([]);
  });
});

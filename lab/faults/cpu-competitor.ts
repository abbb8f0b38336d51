/**
 * CPU starvation of one thread: the thread is pinned to one CPU, and a competitor pinned to the
 * same CPU at real-time priority (SCHED_FIFO 1, above every normal task) spins there for a
 * given time when asked. While it spins the pinned thread, if runnable, waits in the run queue
 * for exactly that long. The competitor is idle between spins and ends itself after its time.
 */
import { readFileSync } from 'node:fs';
import { startHelper, type HelperProcess } from './helper-process.ts';
import { runCommand } from './run-command.ts';

/** Spins `ms` for each `spin MS` line on stdin, answering `spun MS`; exits after SECONDS, or when its parent is gone. */
const SPINNER = (seconds: number): string => `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const ms = Number(line.split(' ')[1]);
  const t = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t) < ms * 1e6) {}
  console.log('spun ' + ms);
});
console.log('ready');
setTimeout(() => process.exit(0), ${Math.ceil(seconds * 1000)});
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500);
`;

/** The hex mask of `taskset -p PID` output (`pid 42's current affinity mask: 3`). Pure. */
export function parseAffinityMask(text: string): string {
  const m = /affinity mask:\s*([0-9a-f]+)\s*$/i.exec(text.trim());
  if (!m?.[1]) throw new Error(`cannot read an affinity mask from '${text.trim()}'`);
  return m[1];
}

/** Time on a CPU and time waiting in a run queue of one thread, ns (/proc/PID/task/TID/schedstat). Pure. */
export function parseSchedstat(text: string): { readonly onCpuNs: number; readonly runDelayNs: number } {
  const [on, delay] = text.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(on) || !Number.isFinite(delay)) throw new Error(`not a schedstat line: '${text.trim().slice(0, 60)}'`);
  return { onCpuNs: on as number, runDelayNs: delay as number };
}

export function threadSchedstat(pid: number, tid = pid): { readonly onCpuNs: number; readonly runDelayNs: number } {
  return parseSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
}

/** Pins thread `tid` to `cpu`; returns the undo that restores its former mask. */
export function pinThread(tid: number, cpu: number): () => void {
  const mask = parseAffinityMask(runCommand('taskset', ['-p', String(tid)]));
  runCommand('taskset', ['-p', '-c', String(cpu), String(tid)]);
  return () => {
    try {
      runCommand('taskset', ['-p', mask, String(tid)]);
    } catch (err) {
      // A thread that is gone has nothing to restore.
      if (!/No such process/i.test((err as Error).message)) throw err;
    }
  };
}

export interface Competitor {
  readonly pid: number;
  /** Spins `ms` on the competitor's CPU; resolves when it is done. */
  spin(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the competitor on `cpu` (idle until asked), real-time once ready; it ends itself after `seconds`. */
export async function startCompetitor(cpu: number, seconds: number): Promise<Competitor> {
  // Started at normal priority: node's own start-up must not hold the CPU at real-time priority.
  const helper: HelperProcess = await startHelper('cpu competitor', 'taskset', ['-c', String(cpu), process.execPath, '-e', SPINNER(seconds)]);
  try {
    runCommand('chrt', ['-f', '-p', '1', String(helper.pid)]);
  } catch (err) {
    await helper.stop();
    throw err;
  }
  return {
    pid: helper.pid,
    spin: async (ms) => {
      const done = helper.nextLine((l) => l === `spun ${ms}`, ms + 10_000);
      helper.send(`spin ${ms}`);
      await done;
    },
    stop: async () => {
      await helper.stop();
    },
  };
}

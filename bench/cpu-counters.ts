/**
 * CPU time of the whole machine and of single processes, from procfs and sysfs, in µs.
 *
 * The machine's busy time is taken from the idle side: with a cpuidle driver, each CPU's time in
 * its idle states is counted in µs (sysfs), not sampled at ticks as /proc/stat's user and system
 * are. Busy = wall × CPUs − idle − steal (steal: time the hypervisor ran someone else while this
 * guest wanted the CPU, not work of ours). Without cpuidle, /proc/stat's idle and iowait stand in.
 * A process's time is utime + stime of /proc/PID/stat: ticks, but scaled by the kernel to the
 * task's exact run time, so only the last tick is uncertain.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/stat and /proc/PID/stat times (100 on every Linux ABI). */
export const USER_HZ = 100;
const TICK_US = 1_000_000 / USER_HZ;

export interface MachineCpuSample {
  /** CLOCK_MONOTONIC µs when sampled. */
  readonly atUs: number;
  readonly cpus: number;
  /** Summed over CPUs, µs. */
  readonly idleUs: number;
  readonly stealUs: number;
  /** Where idleUs came from. */
  readonly idleSource: 'cpuidle' | 'proc-stat';
}

/** /proc/stat's aggregate `cpu` line, in µs: idle + iowait, and steal. Pure. */
export function parseProcStatCpu(text: string): { idleUs: number; stealUs: number; cpus: number } {
  const lines = text.split('\n');
  const total = lines.find((l) => l.startsWith('cpu '));
  if (!total) throw new Error("/proc/stat has no aggregate 'cpu' line");
  const f = total.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => (Number.isFinite(f[i]) ? (f[i] as number) : 0);
  const cpus = lines.filter((l) => /^cpu\d+ /.test(l)).length;
  return { idleUs: (at(3) + at(4)) * TICK_US, stealUs: at(7) * TICK_US, cpus };
}

/** utime + stime of a /proc/PID/stat line, µs; the command name may hold spaces and parentheses. Pure. */
export function parsePidStatCpuUs(text: string): number {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/PID/stat line');
  // Fields after the name: state is field 3, utime field 14, stime field 15.
  const f = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('no utime/stime in /proc/PID/stat');
  return (utime + stime) * TICK_US;
}

function cpuidleUs(): number | null {
  const base = '/sys/devices/system/cpu';
  let cpus: string[];
  try {
    cpus = readdirSync(base).filter((d) => /^cpu\d+$/.test(d));
  } catch {
    return null;
  }
  let total = 0;
  for (const cpu of cpus) {
    let states: string[];
    try {
      states = readdirSync(`${base}/${cpu}/cpuidle`).filter((d) => /^state\d+$/.test(d));
    } catch {
      return null;
    }
    if (states.length === 0) return null;
    for (const s of states) total += Number(readFileSync(`${base}/${cpu}/cpuidle/${s}/time`, 'utf8'));
  }
  return total;
}

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** One sample of the machine's idle and steal counters. */
export function sampleMachineCpu(): MachineCpuSample {
  const stat = parseProcStatCpu(readFileSync('/proc/stat', 'utf8'));
  const idle = cpuidleUs();
  return {
    atUs: monotonicUs(),
    cpus: stat.cpus,
    idleUs: idle ?? stat.idleUs,
    stealUs: stat.stealUs,
    idleSource: idle === null ? 'proc-stat' : 'cpuidle',
  };
}

/** Busy CPU time of the whole machine between two samples, µs. Pure. */
export function machineBusyUs(a: MachineCpuSample, b: MachineCpuSample): number {
  return (b.atUs - a.atUs) * a.cpus - (b.idleUs - a.idleUs) - (b.stealUs - a.stealUs);
}

/** utime + stime of a process (all its threads, exited ones included), µs; null once it is gone. */
export function processCpuUs(pid: number): number | null {
  try {
    return parsePidStatCpuUs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The first field of /proc/PID/task/TID/schedstat: the thread's time on a CPU, ns. Pure. */
export function parseSchedstatRunNs(text: string): number {
  const first = text.trim().split(/\s+/)[0] ?? '';
  const ns = /^\d+$/.test(first) ? Number(first) : NaN;
  if (!Number.isFinite(ns)) throw new Error(`not a schedstat line: ${text.slice(0, 80)}`);
  return ns;
}

/**
 * A live process's CPU time to the nanosecond (the scheduler's own account of each thread, where
 * /proc/PID/stat counts whole clock ticks of 10 ms), µs; the threads that have exited are not in
 * it, so it is for processes whose threads live as long as they do (the loader). Null once gone.
 */
export function processRunUs(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += parseSchedstatRunNs(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
    return ns / 1000;
  } catch {
    return processCpuUs(pid);
  }
}

/** A process's children now (e.g. the postmaster's backends), from /proc/PID/task/PID/children. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU µs per pid, for the pids that are alive. */
export function sampleProcesses(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const us = processCpuUs(pid);
    if (us !== null) out.set(pid, us);
  }
  return out;
}

/** CPU used between two samples by the processes present in both, µs. Pure. */
export function processesCpuUs(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, after] of b) {
    const before = a.get(pid);
    if (before !== undefined) total += after - before;
  }
  return total;
}

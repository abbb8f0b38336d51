/**
 * The machine's state once a second while `lab trace` runs (machine.jsonl in the capture), read
 * from procfs: CPU time by kind (steal included), memory, load, each disk's and network
 * interface's counters, TCP connections by state and TCP's segment counters. Counters are kept
 * cumulative as the kernel reports them; machine-context.ts turns neighbouring samples into rates.
 * The parsers are pure (text in, numbers out); `sampleMachine` reads the files.
 */
import { appendFileSync, readFileSync } from 'node:fs';

import type { CpuTicks, DiskCounters, MachineSample, NetCounters } from '../shared/capture-types.ts';

const nums = (line: string): number[] => line.trim().split(/\s+/).map(Number);

/** /proc/stat: the aggregate `cpu` line and the number of CPUs. */
export function parseProcStat(text: string): { cpu: CpuTicks; cpus: number } {
  const lines = text.split('\n');
  const agg = lines.find((l) => l.startsWith('cpu '));
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = agg ? nums(agg.slice(4)) : [];
  return { cpu: { user, nice, system, idle, iowait, irq, softirq, steal }, cpus: lines.filter((l) => /^cpu\d+ /.test(l)).length };
}

/** /proc/meminfo, kB. */
export function parseMeminfo(text: string): MachineSample['memKb'] {
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { total: kb('MemTotal'), available: kb('MemAvailable'), dirty: kb('Dirty'), swapUsed: kb('SwapTotal') - kb('SwapFree') };
}

/** /proc/loadavg: "0.52 0.58 0.59 2/623 12345". */
export function parseLoadavg(text: string): MachineSample['load'] {
  const [one = '0', five = '0', fifteen = '0', tasks = '0/0'] = text.trim().split(/\s+/);
  const [running = 0, total = 0] = tasks.split('/').map(Number);
  return { one: Number(one), five: Number(five), fifteen: Number(fifteen), running, tasks: total };
}

/** /proc/diskstats, whole disks only (no partitions, loop, ram or zram devices). */
export function parseDiskstats(text: string): Record<string, DiskCounters> {
  const out: Record<string, DiskCounters> = {};
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const name = f[2];
    if (!name || /^(loop|ram|zram|dm-)/.test(name) || /\d$/.test(name.replace(/^nvme\d+n\d+$/, 'x'))) continue;
    out[name] = { reads: Number(f[3]), readSectors: Number(f[5]), writes: Number(f[7]), writeSectors: Number(f[9]), ioMs: Number(f[12]) };
  }
  return out;
}

/** /proc/net/dev. */
export function parseNetDev(text: string): Record<string, NetCounters> {
  const out: Record<string, NetCounters> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = nums(m[2] as string);
    out[(m[1] as string).trim()] = { rxBytes: f[0] ?? 0, rxPackets: f[1] ?? 0, txBytes: f[8] ?? 0, txPackets: f[9] ?? 0, drops: (f[3] ?? 0) + (f[11] ?? 0) };
  }
  return out;
}

const TCP_STATES: Readonly<Record<string, string>> = {
  '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '06': 'TIME_WAIT',
  '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING', '0C': 'NEW_SYN_RECV',
};

/** Connections by state in the given /proc/net/tcp and tcp6 texts. */
export function countTcpStates(texts: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const text of texts) {
    for (const line of text.split('\n').slice(1)) {
      const st = line.trim().split(/\s+/)[3];
      if (!st) continue;
      const name = TCP_STATES[st] ?? st;
      out[name] = (out[name] ?? 0) + 1;
    }
  }
  return out;
}

/** /proc/net/snmp's Tcp OutSegs and RetransSegs. */
export function parseTcpSnmp(text: string): { outSegs: number; retransSegs: number } {
  const lines = text.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  const get = (n: string): number => values[names.indexOf(n)] ?? 0;
  return { outSegs: get('OutSegs'), retransSegs: get('RetransSegs') };
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** Appends a sample to `path` now and every `intervalMs`, until stop() (which appends a last one). */
export function startMachineSampling(path: string, intervalMs = 1000): { stop(): void } {
  const once = (): void => {
    try {
      appendFileSync(path, JSON.stringify(sampleMachine()) + '\n');
    } catch {
      // A sample that cannot be written leaves a gap; the capture's readers use the others.
    }
  };
  once();
  const timer = setInterval(once, intervalMs);
  timer.unref();
  return {
    stop(): void {
      clearInterval(timer);
      once();
    },
  };
}

/** One sample of this machine now, stamped with CLOCK_MONOTONIC `nowNs`. */
export function sampleMachine(nowNs: bigint = process.hrtime.bigint(), proc = '/proc'): MachineSample {
  const stat = parseProcStat(read(`${proc}/stat`));
  return {
    tsNs: nowNs.toString(),
    cpus: stat.cpus,
    cpu: stat.cpu,
    memKb: parseMeminfo(read(`${proc}/meminfo`)),
    load: parseLoadavg(read(`${proc}/loadavg`)),
    disks: parseDiskstats(read(`${proc}/diskstats`)),
    net: parseNetDev(read(`${proc}/net/dev`)),
    tcp: { states: countTcpStates([read(`${proc}/net/tcp`), read(`${proc}/net/tcp6`)]), ...parseTcpSnmp(read(`${proc}/net/snmp`)) },
  };
}

/**
 * The machine around a request, from the capture's once-a-second samples (tracer/
 * machine-sample.ts): the samples just before and just after the request's time, turned into
 * rates over that stretch, and said in one line for `lab show`:
 *
 *   machine (2.0 s around it): CPU 92% busy of 2 (steal 0%, iowait 1%), load 3.2, 22.7 GiB
 *   memory available, disk vda 4% busy, TCP 24 established, 141 time-wait, 0 retransmits
 */
import type { MachineSample } from '../shared/capture-types.ts';

export interface MachineContext {
  /** The stretch the rates are over, seconds. */
  readonly seconds: number;
  readonly cpus: number;
  readonly cpuBusyPct: number;
  readonly stealPct: number;
  readonly iowaitPct: number;
  readonly load1: number;
  readonly memAvailableMiB: number;
  /** Per disk, % of the time it had I/O in flight. */
  readonly diskBusyPct: Readonly<Record<string, number>>;
  readonly tcpEstablished: number;
  readonly tcpTimeWait: number;
  readonly tcpRetransmits: number;
}

const tsOf = (s: MachineSample): bigint => BigInt(s.tsNs);

/** The context of [startNs, endNs] from `samples` (in time order); undefined with fewer than two around it. */
export function machineContext(samples: readonly MachineSample[], startNs: bigint, endNs: bigint): MachineContext | undefined {
  if (samples.length < 2) return undefined;
  let a = 0;
  for (let i = 0; i < samples.length; i++) if (tsOf(samples[i] as MachineSample) <= startNs) a = i;
  let b = samples.length - 1;
  for (let i = samples.length - 1; i > a; i--) if (tsOf(samples[i] as MachineSample) >= endNs) b = i;
  if (b === a) return undefined;
  const s0 = samples[a] as MachineSample;
  const s1 = samples[b] as MachineSample;
  const seconds = Number(tsOf(s1) - tsOf(s0)) / 1e9;
  const ticks = (c: MachineSample['cpu']): number => c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal;
  const total = Math.max(1, ticks(s1.cpu) - ticks(s0.cpu));
  const pct = (x: number): number => Math.round((x / total) * 1000) / 10;
  const diskBusyPct: Record<string, number> = {};
  for (const [name, d] of Object.entries(s1.disks)) {
    const before = s0.disks[name];
    if (before) diskBusyPct[name] = Math.min(100, Math.round(((d.ioMs - before.ioMs) / (seconds * 1000)) * 1000) / 10);
  }
  return {
    seconds,
    cpus: s1.cpus,
    cpuBusyPct: pct(total - (s1.cpu.idle - s0.cpu.idle) - (s1.cpu.iowait - s0.cpu.iowait)),
    stealPct: pct(s1.cpu.steal - s0.cpu.steal),
    iowaitPct: pct(s1.cpu.iowait - s0.cpu.iowait),
    load1: s1.load.one,
    memAvailableMiB: Math.round(s1.memKb.available / 1024),
    diskBusyPct,
    tcpEstablished: s1.tcp.states.ESTABLISHED ?? 0,
    tcpTimeWait: s1.tcp.states.TIME_WAIT ?? 0,
    tcpRetransmits: s1.tcp.retransSegs - s0.tcp.retransSegs,
  };
}

export function formatMachineContext(c: MachineContext): string {
  const disks = Object.entries(c.diskBusyPct).map(([d, p]) => `disk ${d} ${p}% busy`);
  const mem = c.memAvailableMiB >= 1024 ? `${(c.memAvailableMiB / 1024).toFixed(1)} GiB` : `${c.memAvailableMiB} MiB`;
  return [
    `machine (${c.seconds.toFixed(1)} s around it): CPU ${c.cpuBusyPct}% busy of ${c.cpus} (steal ${c.stealPct}%, iowait ${c.iowaitPct}%)`,
    `load ${c.load1}`,
    `${mem} memory available`,
    ...disks,
    `TCP ${c.tcpEstablished} established, ${c.tcpTimeWait} time-wait, ${c.tcpRetransmits} retransmit(s)`,
  ].join(', ');
}

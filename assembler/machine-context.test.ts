import { describe, expect, it } from 'vitest';
import type { MachineSample } from '../shared/capture-types.ts';
import { formatMachineContext, machineContext } from './machine-context.ts';

function sample(sec: number, busy: number, idle: number, steal: number, ioMs: number, retrans: number): MachineSample {
  return {
    tsNs: String(BigInt(sec) * 1_000_000_000n),
    cpus: 2,
    cpu: { user: busy, nice: 0, system: 0, idle, iowait: 0, irq: 0, softirq: 0, steal },
    memKb: { total: 8_000_000, available: 4_194_304, dirty: 0, swapUsed: 0 },
    load: { one: 3.2, five: 2, fifteen: 1, running: 3, tasks: 200 },
    disks: { vda: { reads: 0, readSectors: 0, writes: 0, writeSectors: 0, ioMs } },
    net: {},
    tcp: { states: { ESTABLISHED: 24, TIME_WAIT: 141 }, outSegs: 0, retransSegs: retrans },
  };
}

describe('machineContext', () => {
  //   samples  s0 (t=10)      s1 (t=11)      s2 (t=12)
  //   request            [11.2 … 11.6]        → rates over s1 … s2
  const samples = [sample(10, 0, 0, 0, 0, 0), sample(11, 100, 100, 0, 0, 5), sample(12, 280, 110, 10, 40, 7)];

  it('takes the samples just before and after the request and turns the counters into rates', () => {
    const c = machineContext(samples, 11_200_000_000n, 11_600_000_000n);
    expect(c).toEqual({
      seconds: 1,
      cpus: 2,
      cpuBusyPct: 95,
      stealPct: 5,
      iowaitPct: 0,
      load1: 3.2,
      memAvailableMiB: 4096,
      diskBusyPct: { vda: 4 },
      tcpEstablished: 24,
      tcpTimeWait: 141,
      tcpRetransmits: 2,
    });
    expect(formatMachineContext(c!)).toBe(
      'machine (1.0 s around it): CPU 95% busy of 2 (steal 5%, iowait 0%), load 3.2, 4.0 GiB memory available, disk vda 4% busy, TCP 24 established, 141 time-wait, 2 retransmit(s)',
    );
  });

  it('nothing to say with fewer than two samples', () => {
    expect(machineContext(samples.slice(0, 1), 0n, 1n)).toBeUndefined();
  });
});

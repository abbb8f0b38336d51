import { describe, expect, it } from 'vitest';
import { machineBusyUs, parsePidStatCpuUs, parseSchedstatRunNs, processRunUs, parseProcStatCpu, processesCpuUs, type MachineCpuSample } from './cpu-counters.ts';

const PROC_STAT = `cpu  31320 0 9304 394698 566 0 211 1827 0 0
cpu0 14188 0 3908 199819 63 0 57 934 0 0
cpu1 17132 0 5395 194878 503 0 154 893 0 0
intr 123
`;

describe('parseProcStatCpu', () => {
  it('reads idle + iowait and steal of the aggregate line in µs, and counts the CPUs', () => {
    expect(parseProcStatCpu(PROC_STAT)).toEqual({ idleUs: (394698 + 566) * 10_000, stealUs: 1827 * 10_000, cpus: 2 });
  });
  it('refuses text without the aggregate line', () => {
    expect(() => parseProcStatCpu('cpu0 1 2 3\n')).toThrow(/aggregate/);
  });
});

describe('parsePidStatCpuUs', () => {
  it('adds utime and stime, whatever the command name holds', () => {
    const line = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 1 2 3 4 150 25 0 0 20 0 11 0 100 0 0';
    expect(parsePidStatCpuUs(line)).toBe((150 + 25) * 10_000);
  });
  it('refuses a line that is not /proc/PID/stat', () => {
    expect(() => parsePidStatCpuUs('nothing here')).toThrow();
  });
});

describe('machineBusyUs', () => {
  it('is wall time times CPUs less idle and steal', () => {
    const a: MachineCpuSample = { atUs: 1_000_000, cpus: 2, idleUs: 500_000, stealUs: 10_000, idleSource: 'cpuidle' };
    const b: MachineCpuSample = { atUs: 2_000_000, cpus: 2, idleUs: 1_700_000, stealUs: 30_000, idleSource: 'cpuidle' };
    // 2 CPUs × 1 s = 2 s; 1.2 s idle, 20 ms stolen.
    expect(machineBusyUs(a, b)).toBe(780_000);
  });
});

describe('processesCpuUs', () => {
  it('counts only the processes present in both samples', () => {
    expect(processesCpuUs(new Map([[1, 100], [2, 50]]), new Map([[1, 160], [3, 999]]))).toBe(60);
  });
});

describe('parseSchedstatRunNs', () => {
  it('reads the time on a CPU in ns, the first of the three fields', () => {
    expect(parseSchedstatRunNs('123456789 2000 17\n')).toBe(123456789);
    expect(() => parseSchedstatRunNs('')).toThrow();
  });
  it('this process has run for some time, and more after a busy loop', () => {
    const a = processRunUs(process.pid)!;
    const until = Date.now() + 20;
    while (Date.now() < until);
    const b = processRunUs(process.pid)!;
    expect(a).toBeGreaterThan(0);
    expect(b - a).toBeGreaterThanOrEqual(10_000);
  });
});

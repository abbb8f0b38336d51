import { describe, expect, it } from 'vitest';
import { captureCoverage } from './capture-coverage.ts';

const ALL = { core: 'tp_btf', usdt: 'usdt', sockets: 'tp_btf', sched: 'tp_btf', postgres: 'usdt-uprobe-multi-binary', tcp: 'tp_btf' };

describe('captureCoverage', () => {
  it('names the file syscalls, the I/O starts while sampling, the unsampled requests and the PostgreSQL detail left out', () => {
    expect(captureCoverage({ hooks: ALL, sample: 0.1, pgDetail: false }).map((s) => s.split(':')[0])).toEqual([
      'files',
      'sockets',
      'sockets',
      'requests outside the sample fire none of the app\'s probes; their traces come from nginx\'s access log alone',
      'not traced (opt-in, their hooks run for every fault, context switch, syscall or packet of the machine)',
      'postgres',
      'postgres',
    ]);
  });
  it('says that while sampling block requests are kept only around sampled requests', () => {
    const withIo = { ...ALL, blockio: 'tp_btf' };
    expect(captureCoverage({ hooks: withIo, sample: 0.01, pgDetail: true }).filter((l) => l.startsWith('blockio'))).toEqual([expect.stringContaining('served a sampled request')]);
    expect(captureCoverage({ hooks: withIo, sample: 1, pgDetail: true }).filter((l) => l.startsWith('blockio'))).toEqual([]);
    const { usdt: _, ...noApp } = withIo;
    expect(captureCoverage({ hooks: noApp, sample: 0.01, pgDetail: true }).filter((l) => l.startsWith('blockio'))).toEqual([]);
  });
  it('says what tail keeping keeps of the requests outside the sample', () => {
    const got = captureCoverage({ hooks: ALL, sample: 0.01, pgDetail: true, keepSlowerThanMs: 50 });
    expect(got).toContain('requests outside the sample that end faster than 50 ms and not 5xx keep only their start and end');
    expect(got.some((l) => l.includes('fire none'))).toBe(false);
  });
  it('names the opt-in families left out', () => {
    const got = captureCoverage({ hooks: { ...ALL, offcpu: 'tp_btf', netdev: 'tp_btf' }, sample: 1, pgDetail: true });
    expect(got).toContain(
      'not traced (opt-in, their hooks run for every fault, context switch, syscall or packet of the machine): faults (major page faults), slowsys (slow syscalls); `--families +NAME` adds them',
    );
  });
  it('says less when the files and the other opt-in families ran, every request was followed and --pg-detail was given', () => {
    const got = captureCoverage({ hooks: { ...ALL, files: 'tracepoint', faults: 'tp_btf+perf', offcpu: 'tp_btf', slowsys: 'tp_btf', netdev: 'tp_btf' }, sample: 1, pgDetail: true });
    expect(got).toEqual(["postgres: the probes trap in every PostgreSQL process of the binary while tracing, sampled or not; only the lab's are recorded"]);
  });
  it('says run-queue waits are schedstat sums when the sched family did not run', () => {
    const { sched: _, ...noSched } = ALL;
    const got = captureCoverage({ hooks: noSched, sample: 1, pgDetail: true, keepSlowerThanMs: undefined });
    expect(got.filter((l) => l.startsWith('sched'))).toEqual([expect.stringContaining('schedstat sums')]);
    expect(captureCoverage({ hooks: ALL, sample: 1, pgDetail: true }).filter((l) => l.startsWith('sched'))).toEqual([]);
  });
  it('says what PostgreSQL\'s phases would add, and at what cost, when its server has probes and the family did not run', () => {
    const { postgres: _, ...noPg } = ALL;
    expect(captureCoverage({ hooks: noPg, sample: 1, pgDetail: false, pgProbes: true }).filter((l) => l.startsWith('postgres'))).toEqual([expect.stringContaining('--families +postgres')]);
    expect(captureCoverage({ hooks: noPg, sample: 1, pgDetail: false, pgProbes: false }).filter((l) => l.startsWith('postgres'))).toEqual([]);
  });
  it('says that while sampling arrival times need --arrivals, and nothing of them at sample 1 or with it', () => {
    const arrivals = (c: string[]): string[] => c.filter((l) => l.includes('no arrival times'));
    expect(arrivals(captureCoverage({ hooks: ALL, sample: 0.01, pgDetail: true }))).toEqual([expect.stringContaining('`--arrivals` records them')]);
    expect(arrivals(captureCoverage({ hooks: ALL, sample: 0.01, pgDetail: true, arrivals: true }))).toEqual([]);
    expect(arrivals(captureCoverage({ hooks: ALL, sample: 1, pgDetail: true }))).toEqual([]);
  });
  it('has nothing to say about socket receives with the syscall hooks, which time each call', () => {
    expect(captureCoverage({ hooks: { usdt: 'usdt', sockets: 'syscall-tracepoints', files: 'tracepoint' }, sample: 0.5, pgDetail: false }).filter((l) => l.startsWith('sockets'))).toEqual([]);
  });
});

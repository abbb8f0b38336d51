import { describe, expect, it } from 'vitest';
import { captureCoverage } from './capture-coverage.ts';

const ALL = { core: 'tp_btf', usdt: 'usdt', sockets: 'tp_btf', sched: 'tp_btf', postgres: 'usdt-uprobe-multi-binary', tcp: 'tp_btf' };

describe('captureCoverage', () => {
  it('names the file syscalls, the receive starts while sampling and the PostgreSQL detail left out', () => {
    expect(captureCoverage({ hooks: ALL, sample: 0.1, pgDetail: false }).map((s) => s.split(':')[0])).toEqual(['files', 'sockets', 'postgres', 'postgres']);
  });
  it('says less when the files family ran, every request was followed and --pg-detail was given', () => {
    const got = captureCoverage({ hooks: { ...ALL, files: 'tracepoint' }, sample: 1, pgDetail: true });
    expect(got).toEqual(["postgres: the probes trap in every PostgreSQL process of the binary while tracing, sampled or not; only the lab's are recorded"]);
  });
  it('has nothing to say about socket receives with the syscall hooks, which time each call', () => {
    expect(captureCoverage({ hooks: { usdt: 'usdt', sockets: 'syscall-tracepoints', files: 'tracepoint' }, sample: 0.5, pgDetail: false })).toEqual([]);
  });
});

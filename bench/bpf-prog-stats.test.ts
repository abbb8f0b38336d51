import { describe, expect, it } from 'vitest';
import { familyCosts, parseBpftoolProgs, type ProgStat } from './bpf-prog-stats.ts';

describe('parseBpftoolProgs', () => {
  it('reads id, name and the bpf_stats counters; programs without them count zero', () => {
    const json = JSON.stringify([
      { id: 7, type: 'tracing', name: 'btf_recv', run_time_ns: 1500, run_cnt: 3 },
      { id: 8, type: 'kprobe', name: 'pg_probe' },
      { type: 'junk' },
    ]);
    expect(parseBpftoolProgs(json)).toEqual([
      { id: 7, name: 'btf_recv', runTimeNs: 1500, runCnt: 3 },
      { id: 8, name: 'pg_probe', runTimeNs: 0, runCnt: 0 },
    ]);
  });
  it('refuses output that is not an array', () => {
    expect(() => parseBpftoolProgs('{}')).toThrow(/array/);
  });
});

describe('familyCosts', () => {
  const at = (list: ProgStat[]): Map<number, ProgStat> => new Map(list.map((p) => [p.id, p]));
  it('gives each family the growth of its programs, most expensive first, programs that did not run left out', () => {
    const before = at([
      { id: 1, name: 'btf_recv', runTimeNs: 1000, runCnt: 10 },
      { id: 2, name: 'btf_send', runTimeNs: 500, runCnt: 5 },
      { id: 3, name: 'request_start', runTimeNs: 0, runCnt: 0 },
    ]);
    const after = at([
      { id: 1, name: 'btf_recv', runTimeNs: 4000, runCnt: 20 },
      { id: 2, name: 'btf_send', runTimeNs: 500, runCnt: 5 },
      { id: 3, name: 'request_start', runTimeNs: 9000, runCnt: 3 },
    ]);
    const programs = { sockets: [{ id: 1, name: 'btf_recv' }, { id: 2, name: 'btf_send' }], usdt: [{ id: 3, name: 'request_start' }, { id: 99, name: 'gone' }] };
    expect(familyCosts(before, after, programs)).toEqual([
      { family: 'usdt', runTimeNs: 9000, runCnt: 3, programs: [{ family: 'usdt', name: 'request_start', runTimeNs: 9000, runCnt: 3 }] },
      { family: 'sockets', runTimeNs: 3000, runCnt: 10, programs: [{ family: 'sockets', name: 'btf_recv', runTimeNs: 3000, runCnt: 10 }] },
    ]);
  });
});

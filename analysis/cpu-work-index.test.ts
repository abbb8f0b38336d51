import { describe, expect, it } from 'vitest';
import type { Span, Trace } from '../assembler/span.ts';
import { cpuWorkDuring, indexCpuWork } from './cpu-work-index.ts';

const ms = (v: number): bigint => BigInt(v * 1_000_000);
function trace(id: string, pid: number, work: readonly [string, number, number][]): Trace {
  const root: Span = { id: `${id}r`, parentId: null, name: 'GET /api/report', tier: 'nginx', startNs: 0n, endNs: ms(100), tags: { 'http.request.method': 'GET', 'http.route': '/api/report' }, logs: [], warnings: [] };
  const app: Span = { ...root, id: `${id}a`, parentId: root.id, name: 'app processing', tier: 'app', tags: { 'process.pid': pid } };
  const spans = work.map(([name, s, e], i): Span => ({ ...app, id: `${id}${i}`, parentId: app.id, name, startNs: ms(s), endNs: ms(e), tags: {} }));
  return { traceId: id.repeat(32).slice(0, 32), spans: [root, app, ...spans] };
}

describe('cpuWorkDuring', () => {
  //   window              |-------- 10..50 --------|
  //   a  business logic      |== 12..40 ==|                      overlap 28
  //   b  handler setup    |=5..15=|    |=== 35..60 ===|          overlap 5 + 15 = 20
  //   c  business logic (other pid)  |== 20..30 ==|              ignored
  //   d  DB query                    (not CPU work)              ignored
  const a = trace('a', 1, [['business logic', 12, 40]]);
  const b = trace('b', 1, [['handler setup', 5, 15], ['response serialization', 35, 60]]);
  const c = trace('c', 2, [['business logic', 20, 30]]);
  const d = trace('d', 1, [['DB query 1 (SELECT)', 10, 50]]);
  const index = indexCpuWork([a, b, c, d]);

  it('sums the overlap per request, largest first, on the same process only', () => {
    const found = cpuWorkDuring(index, ms(10), ms(50), 1, 'x'.repeat(32));
    expect(found.map((f) => [f.work.traceId[0], Number(f.overlapNs) / 1e6])).toEqual([
      ['a', 28],
      ['b', 20],
    ]);
  });

  it('leaves out the waiting request itself', () => {
    expect(cpuWorkDuring(index, ms(10), ms(50), 1, a.traceId).map((f) => f.work.traceId[0])).toEqual(['b']);
  });
});

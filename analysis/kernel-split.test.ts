import { describe, expect, it } from 'vitest';
import type { Span, Trace } from '../assembler/span.ts';
import { describePart, dominantCause, kernelSplit } from './kernel-split.ts';
import { fmtMs } from './finding.ts';

let n = 0;
function span(name: string, parent: Span | null, startMs: number, endMs: number, tags: Span['tags'] = {}, tier: Span['tier'] = 'app'): Span {
  return { id: `s${++n}`, parentId: parent?.id ?? null, name, tier, startNs: BigInt(startMs * 1e6), endNs: BigInt(endMs * 1e6), tags, logs: [], warnings: [] };
}

describe('kernelSplit', () => {
  //   DB query 1 (SELECT)   |==========================| 0 .. 10.4 ms
  //     DB processing        |=================|          runqueue 6.1, on CPU 2.9 (the backend)
  //     result receive                          |==|      socket buffer 0.8
  const root = span('GET /api/users', null, 0, 20);
  const q = span('DB query 1 (SELECT)', root, 0, 10.4);
  const db = span('DB processing', q, 0.2, 9.4, { 'kernel.runq_delay_ns': 6_100_000, 'kernel.on_cpu_ns': 2_900_000 }, 'postgres');
  const rr = span('result receive', q, 9.4, 10.4, { 'kernel.socket_buffer_wait_ns': 800_000 }, 'kernel');
  const other = span('DB query 2 (SELECT)', root, 11, 12, { 'kernel.runq_delay_ns': 900_000 });
  const trace: Trace = { traceId: 'a'.repeat(32), spans: [root, q, db, rr, other] };

  it("splits a DB query into the backend's CPU wait, its time on CPU, the socket wait and the rest", () => {
    const s = kernelSplit(trace, q);
    expect(s.parts.map((p) => [p.cause, Math.round(p.ms * 10) / 10, p.spanName])).toEqual([
      ['runqueue', 6.1, 'DB processing'],
      ['on-cpu', 2.9, 'DB processing'],
      ['socket-buffer', 0.8, 'result receive'],
    ]);
    expect(s.otherMs).toBeCloseTo(0.6, 5);
    expect(describePart(dominantCause(s)!, fmtMs)).toBe('6.1ms of it the backend waited for a CPU');
  });

  it('scales the parts down when waits of several threads add up to more than the span', () => {
    const app = span('app processing', null, 0, 10, { 'kernel.runq_delay_ns': 8_000_000 });
    const dbp = span('DB processing', app, 1, 9, { 'kernel.runq_delay_ns': 6_000_000, 'kernel.io_wait_ns': 2_000_000 }, 'postgres');
    const s = kernelSplit({ traceId: 'b'.repeat(32), spans: [app, dbp] }, app);
    expect(s.parts.reduce((x, p) => x + p.ms, 0)).toBeCloseTo(10, 5);
    expect(s.otherMs).toBe(0);
    expect(s.parts[0]).toMatchObject({ cause: 'runqueue', spanName: 'app processing' });
  });

  it('a PostgreSQL lock wait and the disk, from block I/O where no I/O-wait sleep was seen', () => {
    const qq = span('DB query 1 (UPDATE)', null, 0, 600);
    const dbp = span('DB processing', qq, 0, 600, { 'kernel.block_io_ns': 1_500_000 }, 'postgres');
    const lw = span('lock wait', dbp, 1, 598, {}, 'postgres');
    const s = kernelSplit({ traceId: 'c'.repeat(32), spans: [qq, dbp, lw] }, qq);
    expect(s.parts.map((p) => p.cause)).toEqual(['lock', 'disk']);
    expect(describePart(dominantCause(s)!, fmtMs)).toBe('597.0ms of it the backend waited for a lock');
  });

  it("a socket-buffer wait while its reader waited for a CPU counts as the reader's CPU wait", () => {
    const qq = span('DB query 1 (SELECT)', null, 0, 19);
    const dbp = span('DB processing', qq, 0.1, 4, {}, 'postgres');
    const recv = span('result receive', qq, 4, 19, { 'kernel.socket_buffer_wait_ns': 14_000_000, 'kernel.reader_runq_delay_ns': 9_000_000 }, 'kernel');
    const s = kernelSplit({ traceId: 'e'.repeat(32), spans: [qq, dbp, recv] }, qq);
    expect(s.parts.map((p) => [p.cause, p.ms])).toEqual([
      ['runqueue', 9],
      ['socket-buffer', 5],
    ]);
    expect(describePart(dominantCause(s)!, fmtMs)).toBe('9.0ms of it the app thread waited for a CPU');
  });

  it('names no cause when the largest part is small, or only time on CPU', () => {
    expect(dominantCause(kernelSplit(trace, other), 0.2, 1)).toBeUndefined();
    const busy = span('DB processing', null, 0, 10, { 'kernel.on_cpu_ns': 9_000_000 }, 'postgres');
    expect(dominantCause(kernelSplit({ traceId: 'd'.repeat(32), spans: [busy] }, busy))).toBeUndefined();
  });
});

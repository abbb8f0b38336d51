/**
 * Where each request ran CPU work on the app's event loop: the app-tier gaps between the
 * things the probes saw (handler setup, business logic, response serialization, …). While one
 * request runs such a stretch, every other request on that process waits, so a long socket
 * buffer wait is explained by the stretches of other requests that overlap it:
 *
 *   request A   network: nginx → app  |~~~~~~~~~~ socket buffer wait ~~~~~~~~~|
 *   request B   app processing        |==== business logic (CPU) ====|
 *   overlap                           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
 */
import type { Trace } from '../assembler/span.ts';
import { routeOfTrace } from './span-type.ts';

/** App-tier span names that stand for the app's own (on-CPU or blocked-loop) time. */
export const CPU_WORK_SPANS: ReadonlySet<string> = new Set(['handler setup', 'business logic', 'response serialization', 'handler', 'response finish']);

export interface CpuWork {
  readonly traceId: string;
  readonly route: string;
  readonly spanName: string;
  /** `process.pid` of the app (-1 when unknown). */
  readonly pid: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

export interface CpuWorkIndex {
  /** Sorted by start. */
  readonly work: readonly CpuWork[];
  /** The longest stretch, ns: bounds how far back an overlapping stretch can start. */
  readonly maxLenNs: bigint;
}

export interface CpuOverlap {
  readonly work: CpuWork;
  readonly overlapNs: bigint;
}

/** Indexes the CPU work of every trace (read once). O(n log n). */
export function indexCpuWork(traces: Iterable<Trace>): CpuWorkIndex {
  const work: CpuWork[] = [];
  let maxLenNs = 0n;
  for (const t of traces) {
    const route = routeOfTrace(t);
    const apps = new Map<string, number>();
    for (const s of t.spans) if (s.name === 'app processing') apps.set(s.id, typeof s.tags['process.pid'] === 'number' ? s.tags['process.pid'] : -1);
    for (const s of t.spans) {
      if (s.tier !== 'app' || !CPU_WORK_SPANS.has(s.name) || s.parentId === null || !apps.has(s.parentId)) continue;
      work.push({ traceId: t.traceId, route, spanName: s.name, pid: apps.get(s.parentId) as number, startNs: s.startNs, endNs: s.endNs });
      if (s.endNs - s.startNs > maxLenNs) maxLenNs = s.endNs - s.startNs;
    }
  }
  work.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  return { work, maxLenNs };
}

/**
 * Other requests' CPU work overlapping [startNs, endNs] on `pid` (any pid when -1), the largest
 * overlap first, at most one entry per request.
 */
export function cpuWorkDuring(index: CpuWorkIndex, startNs: bigint, endNs: bigint, pid: number, excludeTraceId: string): CpuOverlap[] {
  const { work } = index;
  const from = startNs - index.maxLenNs;
  let lo = 0;
  let hi = work.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((work[mid] as CpuWork).startNs < from) lo = mid + 1;
    else hi = mid;
  }
  const best = new Map<string, CpuOverlap>();
  for (let i = lo; i < work.length; i++) {
    const w = work[i] as CpuWork;
    if (w.startNs >= endNs) break;
    if (w.traceId === excludeTraceId || (pid !== -1 && w.pid !== -1 && w.pid !== pid)) continue;
    const overlapNs = (w.endNs < endNs ? w.endNs : endNs) - (w.startNs > startNs ? w.startNs : startNs);
    if (overlapNs <= 0n) continue;
    const prev = best.get(w.traceId);
    if (!prev) best.set(w.traceId, { work: w, overlapNs });
    else best.set(w.traceId, { work: prev.overlapNs >= overlapNs ? prev.work : w, overlapNs: prev.overlapNs + overlapNs });
  }
  return [...best.values()].sort((a, b) => (a.overlapNs !== b.overlapNs ? (a.overlapNs > b.overlapNs ? -1 : 1) : a.work.traceId < b.work.traceId ? -1 : 1));
}

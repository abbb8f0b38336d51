/**
 * Run-queue waits read from the schedstat counters the app's and PostgreSQL's records carry
 * (schema 3), for captures without the sched family's timed waits (it is opt-in: two program
 * runs per context switch of the machine).
 *
 * Each request and query record holds its thread's total wait so far, and each phase record the
 * backend's at the phase's start and end, so two consecutive samples of one thread bound the
 * waits between them. The sum is placed at the end of that
 * window, where attribute-runq-delay.ts counts it against the spans it overlaps:
 *
 *   thread records   r1 ─────────────── r2          run_delay(r2) − run_delay(r1) = 0.3 ms
 *   wait placed                   [0.3 ms]
 *
 * A backend woken by a statement waits before its first probe fires: that wait falls in the
 * window from its previous statement's last phase to the new one's first, placed at the latter's
 * start.
 */
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import type { RunqDelayEvent } from './index-capture.ts';

export interface SchedstatRunq {
  /** By `pid:tid`, sorted by end time. */
  readonly byThread: Map<string, RunqDelayEvent[]>;
  /** By pid, sorted by end time. */
  readonly byPid: Map<number, RunqDelayEvent[]>;
  readonly maxDelayNs: bigint;
}

interface Sample {
  readonly tsNs: bigint;
  readonly runDelayNs: bigint;
}

const byTime = (a: Sample, b: Sample): number => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : a.runDelayNs < b.runDelayNs ? -1 : a.runDelayNs > b.runDelayNs ? 1 : 0);

/** The waits of `events` (any order; inputs not modified). */
export function runqFromSchedstat(events: readonly TraceEvent[]): SchedstatRunq {
  const samples = new Map<string, { pid: number; tid: number; list: Sample[] }>();
  for (const e of events) {
    switch (e.kind) {
      case EventKind.RequestStart:
      case EventKind.RequestEnd:
      case EventKind.DbQueryStart:
      case EventKind.DbQueryEnd:
      case EventKind.PgPhase: {
        // 0: the kernel keeps no counter; undefined: a capture older than the counters.
        if (!e.runDelayNs) break;
        const key = `${e.pid}:${e.tid}`;
        let s = samples.get(key);
        if (!s) samples.set(key, (s = { pid: e.pid, tid: e.tid, list: [] }));
        s.list.push({ tsNs: e.tsNs, runDelayNs: e.runDelayNs });
        if (e.kind === EventKind.PgPhase && e.runDelayStartNs && e.durationNs > 0n) s.list.push({ tsNs: e.tsNs - e.durationNs, runDelayNs: e.runDelayStartNs });
        break;
      }
    }
  }
  const byThread = new Map<string, RunqDelayEvent[]>();
  const byPid = new Map<number, RunqDelayEvent[]>();
  let maxDelayNs = 0n;
  for (const [key, { pid, tid, list }] of samples) {
    list.sort(byTime);
    const waits: RunqDelayEvent[] = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      const d = b.runDelayNs - a.runDelayNs;
      const window = b.tsNs - a.tsNs;
      if (d <= 0n || window <= 0n) continue;
      const delayNs = d < window ? d : window;
      waits.push({ kind: EventKind.RunqDelay, tsNs: b.tsNs, requestId: '', pid, tid, fd: -1, delayNs });
      if (delayNs > maxDelayNs) maxDelayNs = delayNs;
    }
    if (waits.length === 0) continue;
    byThread.set(key, waits);
    const p = byPid.get(pid);
    byPid.set(pid, p ? [...p, ...waits].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0)) : waits);
  }
  return { byThread, byPid, maxDelayNs };
}

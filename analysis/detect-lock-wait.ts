/**
 * A statement waited for a lock: a heavyweight lock inside PostgreSQL (`lock wait` phase), or,
 * with the offcpu family, a backend's futex waits (its lightweight locks and semaphores). Most
 * requests never wait, so the bar is the per-request quantile over all the route's requests (0
 * for those without a wait): a handful of long waits cannot make up their own p99. A route the
 * baseline never saw, and futex waits (no baseline keeps them), are judged by their absolute cost.
 */
import { dbQueryOf } from './db-query-of.ts';
import type { Detector, Finding } from './finding.ts';
import { fmtMs, judged, largeWithoutBaseline, usableRouteBaseline, WITHOUT_BASELINE_NOTE } from './finding.ts';
import { localSpanType } from './span-type.ts';
import { tagNsAsMs, tagNumber, traceFacts } from './trace-facts.ts';

/** PostgreSQL's LOCKMODE numbers (lockdefs.h). */
const LOCK_MODES: Readonly<Record<number, string>> = {
  1: 'AccessShareLock',
  2: 'RowShareLock',
  3: 'RowExclusiveLock',
  4: 'ShareUpdateExclusiveLock',
  5: 'ShareLock',
  6: 'ShareRowExclusiveLock',
  7: 'ExclusiveLock',
  8: 'AccessExclusiveLock',
};

export const detectLockWait: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = usableRouteBaseline(baseline, f.route, thresholds);
  const t = thresholds.lockWait;
  const out: Finding[] = [];
  for (const s of trace.spans) {
    const heavyweight = s.name === 'lock wait' && s.tier === 'postgres';
    const futexMs = s.name === 'DB processing' ? tagNsAsMs(s, 'kernel.futex_wait_ns') : 0;
    if (!heavyweight && futexMs === 0) continue;
    const d = heavyweight ? (f.spanMs.get(s.id) ?? 0) : futexMs;
    const b = heavyweight && rb ? rb.spanTypes[f.typeKeys.get(s.id) as string] : undefined;
    const judgedByBaseline = heavyweight && rb !== undefined;
    const p99 = b?.perRequestMs.p99 ?? 0;
    if (judgedByBaseline ? d < t.minMs || d <= p99 * (1 + t.p99Margin) : d < t.minMs || !largeWithoutBaseline(d, f.rootMs, thresholds)) continue;
    const q = dbQueryOf(trace, s);
    const who = q ? localSpanType(q).label : 'A statement';
    const mode = LOCK_MODES[tagNumber(s, 'db.postgresql.lock.mode')];
    const expectedMs = b?.perRequestMs.p50 ?? 0;
    const what = heavyweight
      ? `${who} waited ${fmtMs(d)} for a lock inside PostgreSQL${mode ? ` (${mode})` : ''}`
      : `${who}'s backend waited ${fmtMs(d)} on futexes (PostgreSQL's lightweight locks and semaphores; ${tagNumber(s, 'kernel.futex_waits')} wait(s))`;
    const bar = judgedByBaseline ? ` (${b ? `p99 is ${fmtMs(p99)}` : 'normally no lock wait'})` : rb ? '' : WITHOUT_BASELINE_NOTE;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'lock-wait',
      message: `${what}${bar}`,
      spanId: s.id,
      ...judged(rb, d, expectedMs, thresholds),
    });
  }
  return out;
};

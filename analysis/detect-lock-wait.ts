/**
 * A statement waited for a heavyweight lock inside PostgreSQL (`lock wait` phase). Most
 * requests never wait, so the bar is the per-request quantile over all the route's requests
 * (0 for those without a wait): a handful of long waits cannot make up their own p99.
 */
import { dbQueryOf } from './db-query-of.ts';
import type { Detector, Finding } from './finding.ts';
import { fmtMs, severityOf } from './finding.ts';
import { localSpanType } from './span-type.ts';
import { tagNumber, traceFacts } from './trace-facts.ts';

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
  const rb = baseline.routes[f.route];
  if (!rb) return [];
  const t = thresholds.lockWait;
  const out: Finding[] = [];
  for (const s of trace.spans) {
    if (s.name !== 'lock wait' || s.tier !== 'postgres') continue;
    const key = f.typeKeys.get(s.id) as string;
    const b = rb.spanTypes[key];
    const p99 = b?.perRequestMs.p99 ?? 0;
    const d = f.spanMs.get(s.id) ?? 0;
    if (d < t.minMs || d <= p99 * (1 + t.p99Margin)) continue;
    const q = dbQueryOf(trace, s);
    const who = q ? localSpanType(q).label : 'A statement';
    const mode = LOCK_MODES[tagNumber(s, 'db.postgresql.lock.mode')];
    const expectedMs = b?.perRequestMs.p50 ?? 0;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'lock-wait',
      severity: severityOf(d - expectedMs, rb.latencyMs.p99, thresholds),
      message: `${who} waited ${fmtMs(d)} for a lock inside PostgreSQL${mode ? ` (${mode})` : ''} (${b ? `p99 is ${fmtMs(p99)}` : 'normally no lock wait'})`,
      spanId: s.id,
      observedMs: d,
      expectedMs,
      excessMs: Math.max(0, d - expectedMs),
    });
  }
  return out;
};

/**
 * The request waited for a PostgreSQL pool connection (`pool wait`, the app's pool_wait probe):
 * longer than the route's per-request p99, or, on a route the baseline never saw, long in
 * absolute terms. The pool's size and how many connections were busy say whether it was full.
 */
import type { Detector, Finding } from './finding.ts';
import { fmtMs, judged, largeWithoutBaseline, usableRouteBaseline, WITHOUT_BASELINE_NOTE } from './finding.ts';
import { tagNumber, traceFacts } from './trace-facts.ts';

export const detectPoolWait: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = usableRouteBaseline(baseline, f.route, thresholds);
  const t = thresholds.poolWait;
  const out: Finding[] = [];
  for (const s of trace.spans) {
    if (s.name !== 'pool wait') continue;
    const d = f.spanMs.get(s.id) ?? 0;
    const b = rb?.spanTypes[f.typeKeys.get(s.id) as string];
    const p99 = b?.perRequestMs.p99 ?? 0;
    if (d < t.minMs || (rb ? d <= p99 * (1 + t.p99Margin) : !largeWithoutBaseline(d, f.rootMs, thresholds))) continue;
    const size = tagNumber(s, 'db.client.connection.pool.max');
    const busy = tagNumber(s, 'db.client.connection.pool.busy');
    const queued = tagNumber(s, 'db.client.connection.pool.pending_requests');
    const full = size > 0 && busy >= size;
    const state = full
      ? `all ${size} connections were busy${queued > 0 ? ` and ${queued} request(s) queued ahead` : ''}: the pool is too small for this concurrency`
      : s.tags['db.client.connection.new'] === true
        ? `${busy} of ${size} busy; the pool opened a new connection for it`
        : `${busy} of ${size} busy`;
    const expectedMs = b?.perRequestMs.p50 ?? 0;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'pool-wait',
      message: `This request waited ${fmtMs(d)} for a PostgreSQL pool connection (${state})${rb ? (b ? ` (p99 is ${fmtMs(p99)})` : '') : WITHOUT_BASELINE_NOTE}`,
      spanId: s.id,
      ...judged(rb, d, expectedMs, thresholds),
    });
  }
  return out;
};

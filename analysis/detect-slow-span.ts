/**
 * A component of the request (nginx, network, a DB query, a file, a stretch of app work) took
 * far longer than that span type's p99 on this route.
 */
import type { SpanTypeBaseline, RouteBaseline } from './build-baseline.ts';
import type { Finding, Detector } from './finding.ts';
import { fmtMs, severityOf } from './finding.ts';
import { citeSplit } from './cite-split.ts';
import { TYPE_PATH_SEPARATOR } from './span-type.ts';
import { traceFacts } from './trace-facts.ts';

/**
 * The baseline of a DB query whose statement the route's baseline never saw, or saw too rarely
 * (the same query with one more condition, say): the route's other queries of the same
 * operation and table under the same parent, the one with the highest p99, so a new statement
 * is judged leniently.
 */
function sameTableQueries(rb: RouteBaseline, key: string, parentKey: string, label: string, minSamples: number): SpanTypeBaseline | undefined {
  if (!label.startsWith('DB query (')) return undefined;
  const prefix = parentKey === 'request' ? '' : parentKey + TYPE_PATH_SEPARATOR;
  let best: SpanTypeBaseline | undefined;
  for (const [k, b] of Object.entries(rb.spanTypes)) {
    if (k === key || !k.startsWith(prefix) || k.slice(prefix.length).includes(TYPE_PATH_SEPARATOR)) continue;
    if (b.label !== label || b.spans < minSamples) continue;
    if (!best || b.durationMs.p99 > best.durationMs.p99) best = b;
  }
  return best;
}

export const detectSlowSpan: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = baseline.routes[f.route];
  if (!rb) return [];
  const t = thresholds.slowSpan;
  const out: Finding[] = [];
  for (const s of trace.spans) {
    const key = f.typeKeys.get(s.id) as string;
    if (!f.componentMs.has(key)) continue;
    const own = rb.spanTypes[key];
    const trusted = own && own.spans >= t.minSamples;
    const standIn = trusted || s.parentId === null ? undefined : sameTableQueries(rb, key, f.typeKeys.get(s.parentId) as string, f.labels.get(key) ?? key, t.minSamples);
    const b = trusted ? own : standIn;
    if (!b) continue;
    const d = f.spanMs.get(s.id) ?? 0;
    const p99 = b.durationMs.p99;
    if (d <= p99 * (1 + t.p99Margin) || d - p99 < t.minExcessMs) continue;
    const excessMs = d - b.durationMs.p50;
    const newStatement = standIn ? ` for this route's other ${b.label.slice('DB query ('.length, -1)} queries; this statement is ${own ? 'too rare in' : 'new to'} the baseline` : '';
    const split = citeSplit(trace, s, thresholds);
    // A query whose time went mostly to waiting for a CPU is CPU contention, not a slow statement.
    const contention = split.cause?.cause === 'runqueue' && s.name.startsWith('DB query') ? ', CPU contention rather than the statement' : '';
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'slow-span',
      severity: severityOf(excessMs, rb.latencyMs.p99, thresholds),
      message: `This request's ${b.label} took ${fmtMs(d)} (p99 is ${fmtMs(p99)}${newStatement})${split.clause ? `: ${split.clause}${contention}` : ''}`,
      ...split.fields,
      spanId: s.id,
      observedMs: d,
      expectedMs: b.durationMs.p50,
      excessMs,
    });
  }
  return out;
};

/**
 * A component of the request (nginx, network, a DB query, a file, a stretch of app work) took
 * far longer than that span type's p99 on this route.
 */
import type { Finding, Detector } from './finding.ts';
import { fmtMs, severityOf } from './finding.ts';
import { traceFacts } from './trace-facts.ts';

export const detectSlowSpan: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = baseline.routes[f.route];
  if (!rb) return [];
  const t = thresholds.slowSpan;
  const out: Finding[] = [];
  for (const s of trace.spans) {
    const key = f.typeKeys.get(s.id) as string;
    if (!f.componentMs.has(key)) continue;
    const b = rb.spanTypes[key];
    if (!b || b.spans < t.minSamples) continue;
    const d = f.spanMs.get(s.id) ?? 0;
    const p99 = b.durationMs.p99;
    if (d <= p99 * (1 + t.p99Margin) || d - p99 < t.minExcessMs) continue;
    const excessMs = d - b.durationMs.p50;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'slow-span',
      severity: severityOf(excessMs, rb.latencyMs.p99, thresholds),
      message: `This request's ${b.label} took ${fmtMs(d)} (p99 is ${fmtMs(p99)})`,
      spanId: s.id,
      observedMs: d,
      expectedMs: b.durationMs.p50,
      excessMs,
    });
  }
  return out;
};

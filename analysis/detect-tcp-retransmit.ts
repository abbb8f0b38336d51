/**
 * TCP retransmits on the request's connections. A retransmit costs at least one RTO (200ms
 * minimum on Linux), so its cost is estimated as the span's excess over its type's p50.
 */
import type { Span } from '../assembler/span.ts';
import type { Detector, Finding } from './finding.ts';
import { fmtMs, largeWithoutBaseline, severityOf, usableRouteBaseline, WITHOUT_BASELINE_NOTE } from './finding.ts';
import { tagNsAsMs, tagNumber, traceFacts } from './trace-facts.ts';

function whatWasDelayed(s: Span): string {
  if (s.name.startsWith('DB query')) return 'the database response';
  if (s.name === 'network: nginx → app') return "the request's delivery to the app";
  if (s.name === 'network: app → nginx') return "the response's delivery to nginx";
  if (s.name === 'app processing') return "the app's work on the request";
  return 'the client connection';
}

export const detectTcpRetransmit: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = usableRouteBaseline(baseline, f.route, thresholds);
  const out: Finding[] = [];
  for (const s of trace.spans) {
    const n = tagNumber(s, 'kernel.tcp_retransmits');
    if (n <= 0) continue;
    if (!rb) {
      // Without a baseline the cost is the time since the last send on the connection.
      const waited = tagNsAsMs(s, 'kernel.tcp_retransmit_wait_ns');
      if (!largeWithoutBaseline(waited, f.rootMs, thresholds)) continue;
      out.push({
        requestId: trace.traceId,
        route: f.route,
        kind: 'tcp-retransmit',
        severity: 'warning',
        message: `TCP retransmission (${n} retransmit${n === 1 ? '' : 's'}) held ${whatWasDelayed(s)} up ${fmtMs(waited)} after its last send${WITHOUT_BASELINE_NOTE}`,
        spanId: s.id,
        observedMs: waited,
        expectedMs: 0,
        excessMs: waited,
        withoutBaseline: true,
      });
      continue;
    }
    const key = f.typeKeys.get(s.id) as string;
    const b = rb.spanTypes[key];
    const d = f.spanMs.get(s.id) ?? 0;
    const expectedMs = b?.durationMs.p50 ?? 0;
    const excessMs = Math.max(0, d - expectedMs);
    const label = b?.label ?? f.labels.get(key) ?? s.name;
    const what = whatWasDelayed(s);
    const visible = excessMs >= thresholds.retransmit.minExcessMs;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'tcp-retransmit',
      severity: visible ? severityOf(excessMs, rb.latencyMs.p99, thresholds) : 'info',
      message: visible
        ? `TCP retransmission (${n} retransmit${n === 1 ? '' : 's'}) added ~${fmtMs(excessMs)} to ${what} (${label} took ${fmtMs(d)}, p50 is ${fmtMs(expectedMs)})`
        : `${n} TCP retransmit${n === 1 ? '' : 's'} on ${what}'s connection with no visible delay (${label} took ${fmtMs(d)}, p50 is ${fmtMs(expectedMs)})`,
      spanId: s.id,
      observedMs: d,
      expectedMs,
      excessMs,
    });
  }
  return out;
};

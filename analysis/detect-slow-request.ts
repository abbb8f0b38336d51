/**
 * A request slower than its route's p99, explained: its components (see trace-facts.ts) are
 * compared to their per-request p50, and the ones with the largest excess are named until they
 * cover most of the gap between the request and the route's p50.
 */
import type { Detector } from './finding.ts';
import { fmtMs, severityOf } from './finding.ts';
import { citeSplit } from './cite-split.ts';
import { traceFacts } from './trace-facts.ts';

export interface Cause {
  readonly typeKey: string;
  readonly label: string;
  readonly excessMs: number;
}

export const detectSlowRequest: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = baseline.routes[f.route];
  if (!rb) return [];
  const t = thresholds.slowRequest;
  const { p50, p99 } = rb.latencyMs;
  if (rb.requests < t.minSamples || f.rootMs <= p99 * (1 + t.p99Margin) || f.rootMs - p99 < t.minExcessMs) return [];
  const gap = f.rootMs - p50;
  const keys = new Set([...f.componentMs.keys(), ...rb.components]);
  const excesses: Cause[] = [];
  for (const key of keys) {
    const b = rb.spanTypes[key];
    const excessMs = (f.componentMs.get(key) ?? 0) - (b?.perRequestMs.p50 ?? 0);
    if (excessMs > 0) excesses.push({ typeKey: key, label: b?.label ?? f.labels.get(key) ?? key, excessMs });
  }
  excesses.sort((a, b) => b.excessMs - a.excessMs || (a.typeKey < b.typeKey ? -1 : 1));
  const causes: Cause[] = [];
  let covered = 0;
  for (const c of excesses) {
    if (causes.length >= t.maxCauses || covered >= t.explainShare * gap) break;
    causes.push(c);
    covered += c.excessMs;
  }
  const share = gap > 0 ? Math.min(100, Math.round((covered / gap) * 100)) : 0;
  const where = causes.length > 0 ? `, mostly ${causes.map((c) => `${c.label} +${fmtMs(c.excessMs)}`).join(', ')} (${share}% of it)` : '';
  // The kernel's view of the component that cost the most: its longest span of that type.
  const top = causes[0] ? trace.spans.filter((s) => f.typeKeys.get(s.id) === causes[0]?.typeKey).sort((a, b) => (f.spanMs.get(b.id) ?? 0) - (f.spanMs.get(a.id) ?? 0))[0] : undefined;
  const split = citeSplit(trace, top ?? f.root, thresholds);
  const inWhat = split.clause ? `; ${top ? `in ${causes[0]?.label}, ` : ''}${split.clause}` : '';
  return [
    {
      requestId: trace.traceId,
      route: f.route,
      kind: 'slow-request',
      severity: severityOf(gap, p99, thresholds),
      message: `This request took ${fmtMs(f.rootMs)} (p99 is ${fmtMs(p99)}): ${fmtMs(gap)} over p50${where}${inWhat}`,
      ...split.fields,
      spanId: f.root.id,
      observedMs: f.rootMs,
      expectedMs: p50,
      excessMs: gap,
    },
  ];
};

/**
 * N+1 queries: many more DB queries than the route's median, most of them one statement run
 * again and again (one query per item of a list fetched by a first query).
 */
import type { Detector } from './finding.ts';
import { severityOf } from './finding.ts';
import { traceFacts } from './trace-facts.ts';

/** Longest statement text quoted in a message. */
const MAX_STATEMENT_CHARS = 80;

const quote = (statementKey: string): string => {
  const text = statementKey.replace(/^DB query(?: \(\w+\))? ?/, '');
  return text.length > MAX_STATEMENT_CHARS ? `${text.slice(0, MAX_STATEMENT_CHARS - 1)}…` : text;
};

export const detectNPlusOne: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = baseline.routes[f.route];
  if (!rb) return [];
  const t = thresholds.nPlusOne;
  const count = f.dbQueries.length;
  const median = rb.dbQueries.median;
  if (count < median * t.ratio || count < median + t.minExtraQueries) return [];

  let worst: { key: string; runs: number; normal: number; extra: number } | undefined;
  for (const [key, runs] of f.statementCounts) {
    const normalP90 = rb.statements[key]?.perRequest.p90 ?? 0;
    const extra = runs - normalP90;
    if (extra >= t.minRepeats && (!worst || extra > worst.extra || (extra === worst.extra && key < worst.key))) {
      worst = { key, runs, normal: rb.statements[key]?.perRequest.median ?? 0, extra };
    }
  }
  if (!worst) return [];
  const w = worst;
  const spans = f.dbQueries.filter((q) => q.statementKey === w.key);
  const observedMs = spans.reduce((s, q) => s + q.durationMs, 0);
  const expectedMs = (observedMs * w.normal) / w.runs;
  const excessMs = observedMs - expectedMs;
  const label = spans[0]?.label ?? 'DB query';
  return [
    {
      requestId: trace.traceId,
      route: f.route,
      kind: 'n-plus-one',
      severity: severityOf(excessMs, rb.latencyMs.p99, thresholds),
      message: `This request made ${count} DB queries (normal is ${median}) — N+1 query problem: ${label} ran ${w.runs} times (normal is ${w.normal}): ${quote(w.key)}`,
      ...(spans[0] ? { spanId: spans[0].span.id } : {}),
      observedMs,
      expectedMs,
      excessMs,
    },
  ];
};

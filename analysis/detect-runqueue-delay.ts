/** The app thread was runnable but not running (waiting for a CPU) while serving the request. */
import type { Detector } from './finding.ts';
import { fmtMs, largeWithoutBaseline, severityOf, usableRouteBaseline, WITHOUT_BASELINE_NOTE } from './finding.ts';
import { tagNumber, traceFacts } from './trace-facts.ts';

export const detectRunqueueDelay: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = usableRouteBaseline(baseline, f.route, thresholds);
  const t = thresholds.runqDelay;
  const d = f.runqDelayMs;
  const app = trace.spans.find((s) => s.parentId === f.root.id && s.name === 'app processing');
  if (!rb) {
    if (d < t.minMs || !largeWithoutBaseline(d, f.rootMs, thresholds)) return [];
    const count = app ? tagNumber(app, 'kernel.runq_delays') : 0;
    return [
      {
        requestId: trace.traceId,
        route: f.route,
        kind: 'runqueue-delay',
        severity: 'warning',
        message: `The app thread waited ${fmtMs(d)} for a CPU while the request was in flight (${count} run-queue delay${count === 1 ? '' : 's'})${WITHOUT_BASELINE_NOTE}`,
        ...(app ? { spanId: app.id } : {}),
        observedMs: d,
        expectedMs: 0,
        excessMs: d,
        withoutBaseline: true,
      },
    ];
  }
  // The thread's waits add up over the whole time the request is in flight, most of it spent
  // serving other requests while this one waits on the database: a request in flight n times as
  // long as the route's usual one is judged against n times the usual waits.
  const typicalAppMs = rb.spanTypes['app processing']?.durationMs.p50 ?? 0;
  const inFlight = app && typicalAppMs > 0 ? Math.max(1, (f.spanMs.get(app.id) ?? 0) / typicalAppMs) : 1;
  const p99 = rb.runqDelayMs.p99 * inFlight;
  if (d < t.minMs || d <= p99 * (1 + t.p99Margin)) return [];
  const count = app ? tagNumber(app, 'kernel.runq_delays') : 0;
  const expectedMs = rb.runqDelayMs.p50 * inFlight;
  const scaled = inFlight > 1 ? ` for a request ${inFlight.toFixed(1)}× as long in flight` : '';
  return [
    {
      requestId: trace.traceId,
      route: f.route,
      kind: 'runqueue-delay',
      severity: severityOf(d - expectedMs, rb.latencyMs.p99, thresholds),
      message: `The app thread waited ${fmtMs(d)} for a CPU while the request was in flight (${count} run-queue delay${count === 1 ? '' : 's'}; p99 is ${fmtMs(p99)}${scaled})`,
      ...(app ? { spanId: app.id } : {}),
      observedMs: d,
      expectedMs,
      excessMs: Math.max(0, d - expectedMs),
    },
  ];
};

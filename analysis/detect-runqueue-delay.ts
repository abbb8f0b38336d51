/** The app thread was runnable but not running (waiting for a CPU) while serving the request. */
import type { Detector } from './finding.ts';
import { fmtMs, severityOf } from './finding.ts';
import { tagNumber, traceFacts } from './trace-facts.ts';

export const detectRunqueueDelay: Detector = (trace, baseline, thresholds) => {
  const f = traceFacts(trace);
  const rb = baseline.routes[f.route];
  if (!rb) return [];
  const t = thresholds.runqDelay;
  const d = f.runqDelayMs;
  if (d < t.minMs || d <= rb.runqDelayMs.p99 * (1 + t.p99Margin)) return [];
  const app = trace.spans.find((s) => s.parentId === f.root.id && s.name === 'app processing');
  const count = app ? tagNumber(app, 'kernel.runq_delays') : 0;
  const expectedMs = rb.runqDelayMs.p50;
  return [
    {
      requestId: trace.traceId,
      route: f.route,
      kind: 'runqueue-delay',
      severity: severityOf(d - expectedMs, rb.latencyMs.p99, thresholds),
      message: `The app thread waited ${fmtMs(d)} for a CPU while the request was in flight (${count} run-queue delay${count === 1 ? '' : 's'}; p99 is ${fmtMs(rb.runqDelayMs.p99)})`,
      ...(app ? { spanId: app.id } : {}),
      observedMs: d,
      expectedMs,
      excessMs: Math.max(0, d - expectedMs),
    },
  ];
};

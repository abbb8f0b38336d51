/** What a detector reports about one request, and the shape every detector has. */
import type { Trace } from '../assembler/span.ts';
import type { Baseline, RouteBaseline } from './build-baseline.ts';
import type { Thresholds } from './thresholds.ts';
import type { CpuWorkIndex } from './cpu-work-index.ts';
import type { SplitCause } from './kernel-split.ts';

export const FINDING_KINDS = [
  'slow-request',
  'slow-span',
  'n-plus-one',
  'socket-buffer-wait',
  'tcp-retransmit',
  'runqueue-delay',
  'lock-wait',
  'slow-disk-read',
  'pool-wait',
  'request-queuing-delay',
  'slow-connection-establishment',
] as const;

export type FindingKind = (typeof FINDING_KINDS)[number];

export type Severity = 'info' | 'warning' | 'critical';

export interface Finding {
  readonly requestId: string;
  readonly route: string;
  readonly kind: FindingKind;
  readonly severity: Severity;
  /** One line, e.g. "This request's DB query (SELECT … users) took 200.0ms (p99 is 50.0ms)". */
  readonly message: string;
  /** The span the finding is about, when there is one. */
  readonly spanId?: string;
  /** Milliseconds (or a count, for n-plus-one: see the message). */
  readonly observedMs: number;
  readonly expectedMs: number;
  /** observed − expected, ≥ 0, ms: what findings are ranked by. */
  readonly excessMs: number;
  /** What the kernel saw inside the duration the finding cites (kernel-split.ts), largest first, ms. */
  readonly kernelSplit?: { readonly parts: readonly { readonly cause: SplitCause; readonly ms: number }[]; readonly otherMs: number };
  /** The cause the sentence names, when one part dominates. */
  readonly cause?: { readonly kind: SplitCause; readonly ms: number };
  /** Judged without a baseline (its route was not in it), by the absolute cost alone. */
  readonly withoutBaseline?: true;
}

/** What a detector may know about the other requests of the capture (optional). */
export interface DetectContext {
  readonly cpuWork?: CpuWorkIndex;
}

/** A detector: pure, one trace against a baseline. */
export type Detector = (trace: Trace, baseline: Baseline, thresholds: Thresholds, context?: DetectContext) => Finding[];

/** Critical when the excess alone is at least `criticalP99Multiple` × the route's p99, else warning. */
export function severityOf(excessMs: number, routeP99Ms: number, thresholds: Thresholds): Severity {
  return routeP99Ms > 0 && excessMs >= thresholds.severity.criticalP99Multiple * routeP99Ms ? 'critical' : 'warning';
}

/**
 * A wait worth reporting on a route the baseline never saw: at least `absolute.minMs`, or at
 * least `absolute.requestShare` of the request and `absolute.shareMinMs`.
 */
export function largeWithoutBaseline(ms: number, requestMs: number, thresholds: Thresholds): boolean {
  const a = thresholds.absolute;
  return ms >= a.minMs || (ms >= a.shareMinMs && requestMs > 0 && ms >= a.requestShare * requestMs);
}

/**
 * The route's baseline when it can judge a request: it exists and holds at least
 * `slowRequest.minSamples` requests (a capture analyzed against itself gives a route of three
 * requests a baseline of those three, the anomaly among them). Otherwise the detectors that need
 * none judge by absolute cost.
 */
export function usableRouteBaseline(baseline: Baseline, route: string, thresholds: Thresholds): RouteBaseline | undefined {
  const rb = baseline.routes[route];
  return rb && rb.requests >= thresholds.slowRequest.minSamples ? rb : undefined;
}

/**
 * How a finding observed at `observedMs` against `expectedMs` is judged: against the route's p99
 * when `rb` is the usable baseline, else by absolute cost (warning, `withoutBaseline`).
 */
export function judged(
  rb: RouteBaseline | undefined,
  observedMs: number,
  expectedMs: number,
  thresholds: Thresholds,
): Pick<Finding, 'severity' | 'observedMs' | 'expectedMs' | 'excessMs' | 'withoutBaseline'> {
  return {
    severity: rb ? severityOf(observedMs - expectedMs, rb.latencyMs.p99, thresholds) : 'warning',
    observedMs,
    expectedMs,
    excessMs: Math.max(0, observedMs - expectedMs),
    ...(rb ? {} : { withoutBaseline: true as const }),
  };
}

/** Appended to the message of a finding judged without a baseline. */
export const WITHOUT_BASELINE_NOTE = ' (no baseline for the route: judged by its absolute cost)';

/** Milliseconds as report text: one decimal, two below 0.1ms so small values do not read as 0. */
export const fmtMs = (v: number): string => `${Math.abs(v) > 0 && Math.abs(v) < 0.1 ? v.toFixed(2) : v.toFixed(1)}ms`;

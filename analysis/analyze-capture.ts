/** Runs every detector over every trace of a capture and summarizes the findings. Pure. */
import type { Trace } from '../assembler/span.ts';
import type { Baseline } from './build-baseline.ts';
import { indexCpuWork } from './cpu-work-index.ts';
import { detectLockWait } from './detect-lock-wait.ts';
import { detectNPlusOne } from './detect-n-plus-one.ts';
import { detectPoolWait } from './detect-pool-wait.ts';
import { detectRequestQueuing } from './detect-request-queuing.ts';
import { detectSlowConnection } from './detect-slow-connection.ts';
import { detectRunqueueDelay } from './detect-runqueue-delay.ts';
import { detectSlowDiskRead } from './detect-slow-disk-read.ts';
import { detectSlowRequest } from './detect-slow-request.ts';
import { detectSlowSpan } from './detect-slow-span.ts';
import { detectSocketBufferWait } from './detect-socket-buffer-wait.ts';
import { detectTcpRetransmit } from './detect-tcp-retransmit.ts';
import { FINDING_KINDS, usableRouteBaseline, type Detector, type Finding, type FindingKind } from './finding.ts';
import type { Quantiles } from './quantiles.ts';
import type { Thresholds } from './thresholds.ts';
import { traceFacts } from './trace-facts.ts';

export const DETECTORS: readonly Detector[] = [
  detectSlowRequest,
  detectSlowSpan,
  detectNPlusOne,
  detectSocketBufferWait,
  detectTcpRetransmit,
  detectRunqueueDelay,
  detectLockWait,
  detectSlowDiskRead,
  detectPoolWait,
  detectRequestQueuing,
  detectSlowConnection,
];

export interface RouteSummary {
  readonly route: string;
  readonly requests: number;
  /** From the baseline, ms (absent when the route is not in the baseline). */
  readonly baselineLatencyMs?: Quantiles;
  /** Requests of this route with at least one finding. */
  readonly requestsWithFindings: number;
  readonly findings: number;
  readonly slowRequests: number;
}

export interface AnalysisReport {
  /** Where the baseline came from; `self` when it was built from the analyzed capture. */
  readonly baselineSource: string;
  readonly baselineIsSelf: boolean;
  readonly traces: number;
  /** Largest excess first; ties by request id, then kind. */
  readonly findings: readonly Finding[];
  readonly countsByKind: Readonly<Record<FindingKind, number>>;
  readonly routes: readonly RouteSummary[];
  /**
   * Routes present in the capture with no baseline to judge them (not in it, or with fewer than
   * `slowRequest.minSamples` requests there): their requests get only the findings that need
   * none (kernel waits, pool waits, queuing, connection setup), by absolute cost.
   */
  readonly routesWithoutBaseline: readonly string[];
  readonly thresholds: Thresholds;
}

export interface AnalyzeOptions {
  readonly baselineIsSelf: boolean;
}

/**
 * Every detector's findings on `traces`, which are read twice (the CPU work of all requests
 * first, then each request against it): a stream of traces is assembled twice, never held.
 */
export function analyzeCapture(traces: Iterable<Trace>, baseline: Baseline, thresholds: Thresholds, options: AnalyzeOptions): AnalysisReport {
  const context = { cpuWork: indexCpuWork(traces) };
  const findings: Finding[] = [];
  const perRoute = new Map<string, number>();
  let traceCount = 0;
  for (const t of traces) {
    traceCount++;
    for (const d of DETECTORS) findings.push(...d(t, baseline, thresholds, context));
    const r = traceFacts(t).route;
    perRoute.set(r, (perRoute.get(r) ?? 0) + 1);
  }
  findings.sort((a, b) => b.excessMs - a.excessMs || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));

  const countsByKind = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  for (const f of findings) countsByKind[f.kind]++;

  const routes: RouteSummary[] = [...perRoute.keys()].sort().map((route) => {
    const own = findings.filter((f) => f.route === route);
    const b = baseline.routes[route];
    return {
      route,
      requests: perRoute.get(route) as number,
      ...(b ? { baselineLatencyMs: b.latencyMs } : {}),
      requestsWithFindings: new Set(own.map((f) => f.requestId)).size,
      findings: own.length,
      slowRequests: own.filter((f) => f.kind === 'slow-request').length,
    };
  });
  return {
    baselineSource: baseline.source,
    baselineIsSelf: options.baselineIsSelf,
    traces: traceCount,
    findings,
    countsByKind,
    routes,
    routesWithoutBaseline: routes.filter((r) => !usableRouteBaseline(baseline, r.route, thresholds)).map((r) => r.route),
    thresholds,
  };
}

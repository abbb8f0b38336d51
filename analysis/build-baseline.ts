/**
 * A capture's baseline: per route, what a normal request looks like (latency, time per span
 * type, DB query counts, file I/O, kernel waits). Versioned plain JSON, so `lab baseline` can
 * write it and `lab analyze --baseline` read it back.
 */
import type { Trace } from '../assembler/span.ts';
import { distributionOf, quantilesOf, type CountDistribution, type Quantiles } from './quantiles.ts';
import { traceFacts, type TraceFacts } from './trace-facts.ts';

export const BASELINE_VERSION = 1;

/** One span type's durations on one route, ms. */
export interface SpanTypeBaseline {
  readonly label: string;
  /** Spans of this type seen (a request may hold several). */
  readonly spans: number;
  /** Requests holding at least one. */
  readonly requests: number;
  /** Per span. */
  readonly durationMs: Quantiles;
  /** Per request, the sum over its spans of this type (0 for requests without one). */
  readonly perRequestMs: Quantiles;
}

export interface StatementBaseline {
  readonly label: string;
  /** Executions per request (0 for requests that did not run it). */
  readonly perRequest: CountDistribution;
}

export interface RouteBaseline {
  readonly requests: number;
  /** Root span duration, ms. */
  readonly latencyMs: Quantiles;
  /** By full span type key (see span-type.ts). */
  readonly spanTypes: Readonly<Record<string, SpanTypeBaseline>>;
  /** Full type keys of the components a request's time divides into. */
  readonly components: readonly string[];
  readonly dbQueries: CountDistribution;
  /** By statement key (operation + normalized statement text). */
  readonly statements: Readonly<Record<string, StatementBaseline>>;
  readonly fileOps: CountDistribution;
  readonly fileBytesRead: CountDistribution;
  readonly fileBytesWritten: CountDistribution;
  /** Per request, the sum of kernel socket-buffer waits, ms. */
  readonly socketWaitMs: Quantiles;
  /** Per request, the app thread's run-queue delay, ms. */
  readonly runqDelayMs: Quantiles;
}

export interface Baseline {
  readonly kind: 'reqtrace-baseline';
  readonly version: typeof BASELINE_VERSION;
  /** Where it was built from (a capture directory), for reports. */
  readonly source: string;
  readonly requests: number;
  /** By route (`METHOD /template`), sorted. */
  readonly routes: Readonly<Record<string, RouteBaseline>>;
}

function routeBaseline(facts: readonly TraceFacts[]): RouteBaseline {
  const n = facts.length;
  const typeSpans = new Map<string, number[]>();
  const typeReq = new Map<string, number[]>();
  const labels = new Map<string, string>();
  const components = new Set<string>();
  const statements = new Map<string, string>();
  for (const f of facts) {
    for (const [key, total] of f.typeTotalMs) {
      const list = typeReq.get(key);
      if (list) list.push(total);
      else typeReq.set(key, [total]);
      if (!labels.has(key)) labels.set(key, f.labels.get(key) ?? key);
    }
    for (const key of f.componentMs.keys()) components.add(key);
    for (const q of f.dbQueries) {
      if (!statements.has(q.statementKey)) statements.set(q.statementKey, q.label);
    }
  }
  for (const f of facts) {
    for (const [id, key] of f.typeKeys) {
      const d = f.spanMs.get(id) ?? 0;
      const list = typeSpans.get(key);
      if (list) list.push(d);
      else typeSpans.set(key, [d]);
    }
  }
  const spanTypes: Record<string, SpanTypeBaseline> = {};
  for (const key of [...typeSpans.keys()].sort()) {
    const perReq = typeReq.get(key) ?? [];
    const zeros = new Array<number>(n - perReq.length).fill(0);
    spanTypes[key] = {
      label: labels.get(key) ?? key,
      spans: (typeSpans.get(key) as number[]).length,
      requests: perReq.length,
      durationMs: quantilesOf(typeSpans.get(key) as number[]),
      perRequestMs: quantilesOf([...zeros, ...perReq]),
    };
  }
  const stmtOut: Record<string, StatementBaseline> = {};
  for (const key of [...statements.keys()].sort()) {
    stmtOut[key] = { label: statements.get(key) as string, perRequest: distributionOf(facts.map((f) => f.statementCounts.get(key) ?? 0)) };
  }
  return {
    requests: n,
    latencyMs: quantilesOf(facts.map((f) => f.rootMs)),
    spanTypes,
    components: [...components].sort(),
    dbQueries: distributionOf(facts.map((f) => f.dbQueries.length)),
    statements: stmtOut,
    fileOps: distributionOf(facts.map((f) => f.fileOps)),
    fileBytesRead: distributionOf(facts.map((f) => f.fileBytesRead)),
    fileBytesWritten: distributionOf(facts.map((f) => f.fileBytesWritten)),
    socketWaitMs: quantilesOf(facts.map((f) => f.socketWaitMs)),
    runqDelayMs: quantilesOf(facts.map((f) => f.runqDelayMs)),
  };
}

/** The baseline of `traces` (read once), grouped by route. Pure; O(n log n) in the number of spans. */
export function buildBaseline(traces: Iterable<Trace>, source: string): Baseline {
  const byRoute = new Map<string, TraceFacts[]>();
  let requests = 0;
  for (const t of traces) {
    requests++;
    const f = traceFacts(t);
    const list = byRoute.get(f.route);
    if (list) list.push(f);
    else byRoute.set(f.route, [f]);
  }
  const routes: Record<string, RouteBaseline> = {};
  for (const route of [...byRoute.keys()].sort()) routes[route] = routeBaseline(byRoute.get(route) as TraceFacts[]);
  return { kind: 'reqtrace-baseline', version: BASELINE_VERSION, source, requests, routes };
}

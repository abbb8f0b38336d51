/**
 * An incident report's content, as data: what happened (summary), the findings grouped and
 * ranked by the time they cost, each with its evidence from the worst request of its group
 * (trace ids, span timings, kernel waits, the timeline), the comparison with a baseline, the
 * changes of level within the capture, and what the capture could not see. Renderers turn it
 * into Markdown and HTML; the CLI writes the files.
 */
import { renderTextTree } from '../assembler/render-text-tree.ts';
import { durationNs, rootOf, type Span, type Trace } from '../assembler/span.ts';
import type { CaptureMeta } from '../shared/capture-types.ts';
import type { AnalysisReport } from './analyze-capture.ts';
import type { Changepoint } from './detect-changepoints.ts';
import type { CaptureComparison } from './compare-traces.ts';
import type { RunComparison } from './compare-runs.ts';
import type { Finding, FindingKind, Severity } from './finding.ts';
import { quantilesOf, type Quantiles } from './quantiles.ts';
import { localSpanType, routeOfTrace } from './span-type.ts';
import { ms, tagNsAsMs, tagNumber } from './trace-facts.ts';

export interface SpanTiming {
  readonly name: string;
  readonly tier: Span['tier'];
  readonly depth: number;
  /** ms after the request's start. */
  readonly startMs: number;
  readonly durationMs: number;
  /** On the path from the root to the finding's span. */
  readonly onPath: boolean;
}

export interface KernelWaits {
  readonly socketBufferWaitMs: number;
  readonly runqueueDelayMs: number;
  readonly tcpRetransmits: number;
}

export interface Evidence {
  readonly traceId: string;
  readonly route: string;
  readonly totalMs: number;
  /** The detector's sentence about this request. */
  readonly message: string;
  readonly observedMs: number;
  readonly expectedMs: number;
  readonly spanTimings: readonly SpanTiming[];
  readonly kernelWaits: KernelWaits;
  /** The request's span tree as text (`lab show`). */
  readonly timeline: string;
  /** The waterfall's file name, written beside the report. */
  readonly waterfallFile: string;
}

export interface FindingGroup {
  readonly kind: FindingKind;
  readonly route: string;
  /** What the findings are about: a span type's label, or the request. */
  readonly subject: string;
  readonly severity: Severity;
  readonly requests: number;
  /** Σ excess over what is normal, ms: what the groups are ranked by. */
  readonly costMs: number;
  /** Request ids, largest excess first (at most 10). */
  readonly traceIds: readonly string[];
  readonly evidence: Evidence;
}

export interface RouteLine {
  readonly route: string;
  readonly requests: number;
  readonly latencyMs: Quantiles;
}

export type BaselineSection =
  | { readonly kind: 'capture'; readonly source: string; readonly runs: RunComparison }
  | { readonly kind: 'baseline-file'; readonly source: string; readonly quantiles: CaptureComparison };

export interface IncidentReport {
  readonly dir: string;
  readonly createdAt: string;
  readonly durationS: number | null;
  readonly traces: number;
  readonly findingsTotal: number;
  readonly summary: readonly string[];
  readonly routes: readonly RouteLine[];
  readonly groups: readonly FindingGroup[];
  /** The slowest request of the capture. */
  readonly worst: Evidence | null;
  readonly baseline: BaselineSection | null;
  readonly changepoints: readonly Changepoint[];
  readonly blindSpots: readonly string[];
}

export interface CaptureFacts {
  readonly dir: string;
  readonly meta: CaptureMeta;
  /** Requests the client saw (client.jsonl) and the proxy logged. */
  readonly clientRequests: number;
  readonly proxyRequests: number;
  /** Read and assembly warnings of the capture. */
  readonly warnings: readonly string[];
}

export interface IncidentReportInput {
  readonly capture: CaptureFacts;
  readonly traces: readonly Trace[];
  readonly analysis: AnalysisReport;
  readonly baseline: BaselineSection | null;
  readonly changepoints: readonly Changepoint[];
  /** Most finding groups given evidence (the rest are counted in the summary). */
  readonly maxGroups?: number;
}

/** The probe families a full BPF capture has, and what is missing without each. */
const FAMILIES: Readonly<Record<string, string>> = {
  usdt: 'app spans (requests, queries, cache, files)',
  sockets: 'socket I/O, network spans and socket-buffer waits',
  files: 'file I/O of the app',
  postgres: 'parse/plan/execute, lock waits and disk reads inside PostgreSQL',
  sched: 'run-queue delays',
  tcp: 'TCP retransmits',
};

const SHED = /^(off|shed|none|disabled)$/;

/** Waterfall file name of a trace. */
export const waterfallFileOf = (traceId: string): string => `waterfall-${traceId.slice(0, 12)}.svg`;

function evidenceOf(trace: Trace, finding: Pick<Finding, 'message' | 'observedMs' | 'expectedMs' | 'spanId'> | null): Evidence {
  const root = rootOf(trace);
  const byId = new Map(trace.spans.map((s) => [s.id, s]));
  const path = new Set<string>();
  for (let s = finding?.spanId ? byId.get(finding.spanId) : undefined; s; s = s.parentId ? byId.get(s.parentId) : undefined) path.add(s.id);
  const depth = new Map<string, number>();
  const spanTimings: SpanTiming[] = [];
  for (const s of trace.spans) {
    const d = s.parentId === null ? 0 : (depth.get(s.parentId) ?? 0) + 1;
    depth.set(s.id, d);
    // The top two levels, and the whole path down to the finding's span.
    if (d <= 2 || path.has(s.id)) {
      spanTimings.push({ name: s.name, tier: s.tier, depth: d, startMs: ms(s.startNs - root.startNs), durationMs: ms(durationNs(s)), onPath: path.has(s.id) });
    }
  }
  let socket = 0;
  let runq = 0;
  let retransmits = 0;
  for (const s of trace.spans) {
    socket += tagNsAsMs(s, 'kernel.socket_buffer_wait_ns');
    runq += tagNsAsMs(s, 'kernel.runq_delay_ns');
    retransmits += tagNumber(s, 'kernel.tcp_retransmits');
  }
  const totalMs = ms(durationNs(root));
  return {
    traceId: trace.traceId,
    route: routeOfTrace(trace),
    totalMs,
    message: finding?.message ?? `The slowest request of the capture: ${root.name}, ${totalMs.toFixed(1)}ms`,
    observedMs: finding?.observedMs ?? totalMs,
    expectedMs: finding?.expectedMs ?? totalMs,
    spanTimings,
    kernelWaits: { socketBufferWaitMs: socket, runqueueDelayMs: runq, tcpRetransmits: retransmits },
    timeline: renderTextTree(trace),
    waterfallFile: waterfallFileOf(trace.traceId),
  };
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

function groupFindings(findings: readonly Finding[], traces: ReadonlyMap<string, Trace>, maxGroups: number): FindingGroup[] {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const trace = traces.get(f.requestId);
    const span = f.spanId ? trace?.spans.find((s) => s.id === f.spanId) : undefined;
    const subject = span && span.parentId !== null ? localSpanType(span).label : 'request';
    const key = `${f.kind}\u0000${f.route}\u0000${subject}`;
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }
  const ranked = [...groups.entries()]
    .map(([key, list]) => ({ key, list: [...list].sort((a, b) => b.excessMs - a.excessMs || (a.requestId < b.requestId ? -1 : 1)), cost: list.reduce((s, f) => s + f.excessMs, 0) }))
    .sort((a, b) => b.cost - a.cost || (a.key < b.key ? -1 : 1))
    .slice(0, maxGroups);
  return ranked.map(({ key, list, cost }) => {
    const [kind, route, subject] = key.split('\u0000') as [FindingKind, string, string];
    const worst = list[0] as Finding;
    return {
      kind,
      route,
      subject,
      severity: list.reduce<Severity>((s, f) => (SEVERITY_RANK[f.severity] > SEVERITY_RANK[s] ? f.severity : s), 'info'),
      requests: new Set(list.map((f) => f.requestId)).size,
      costMs: cost,
      traceIds: [...new Set(list.map((f) => f.requestId))].slice(0, 10),
      evidence: evidenceOf(traces.get(worst.requestId) as Trace, worst),
    };
  });
}

function blindSpotsOf(c: CaptureFacts, traces: readonly Trace[]): string[] {
  const out: string[] = [];
  const m = c.meta;
  if (m.sample < 1) {
    out.push(`Sampling: ${Math.round(m.sample * 100)}% of requests were traced in full; the proxy logged ${c.proxyRequests} request(s), ${traces.length} have a trace. Findings and quantiles describe the traced ones.`);
  } else if (c.proxyRequests > traces.length) {
    out.push(`${c.proxyRequests - traces.length} of the ${c.proxyRequests} request(s) the proxy logged have no trace.`);
  }
  if (c.clientRequests > traces.length && c.clientRequests !== c.proxyRequests) out.push(`${c.clientRequests - traces.length} of the ${c.clientRequests} request(s) the client sent have no trace.`);
  if (m.source === 'app-file') out.push('No BPF: app events only (from the app probe file), so no kernel, proxy or PostgreSQL internals.');
  else {
    for (const [family, what] of Object.entries(FAMILIES)) {
      const hook = m.hooks[family];
      if (hook === undefined) out.push(`The ${family} probe family did not run: no ${what}.`);
      else if (SHED.test(hook)) out.push(`The ${family} probe family was shed (${hook}): no ${what} from then on.`);
    }
  }
  if (m.proxy === 'node') out.push('The proxy tier is the Node fallback: no proxy spans from the kernel.');
  const drops = Object.entries(m.drops).filter(([, n]) => n > 0);
  if (Object.keys(m.drops).length === 0) out.push('Drop counters are unknown (the loader gave no summary): records may be missing.');
  else if (drops.length > 0) out.push(`Records lost: ${drops.map(([k, n]) => `${k}=${n}`).join(', ')}; traces near those losses may lack spans.`);
  const repaired = traces.filter((t) => t.spans.some((s) => s.warnings.length > 0)).length;
  if (repaired > 0) out.push(`${repaired} trace(s) hold repaired or estimated spans (see the warnings in their timelines).`);
  for (const w of m.warnings ?? []) out.push(`Capture: ${w}`);
  for (const w of c.warnings.slice(0, 10)) out.push(`Reading: ${w}`);
  if (c.warnings.length > 10) out.push(`… and ${c.warnings.length - 10} more reading warning(s).`);
  return out;
}

const fmt = (v: number): string => `${v.toFixed(1)}ms`;

function summaryOf(input: IncidentReportInput, groups: readonly FindingGroup[], worst: Evidence | null): string[] {
  const a = input.analysis;
  const out = [`${a.traces} traced request(s) over ${a.routes.length} route(s); ${a.findings.length} finding(s) in ${new Set(a.findings.map((f) => f.requestId)).size} request(s).`];
  const top = groups[0];
  if (top) {
    out.push(`Costliest: ${top.kind} on ${top.route} (${top.subject}), ${top.requests} request(s), ${fmt(top.costMs)} over normal in all; worst ${top.evidence.traceId} (${fmt(top.evidence.totalMs)}).`);
  } else out.push('No detector fired.');
  if (worst) out.push(`Slowest request: ${worst.traceId} ${worst.route}, ${fmt(worst.totalMs)}.`);
  const b = input.baseline;
  if (b?.kind === 'capture') {
    const changed = b.runs.routes.filter((r) => r.latency.significant);
    out.push(
      changed.length === 0
        ? `Against ${b.source}: no route changed significantly (FDR ${Math.round(b.runs.alpha * 100)}%).`
        : `Against ${b.source}: ${changed.map((r) => `${r.route} ${r.latency.direction} (p50 ${r.latency.p50Shift.shift >= 0 ? '+' : ''}${fmt(r.latency.p50Shift.shift)}${r.contributors[0] ? `, mostly ${r.contributors[0].type}` : ''})`).join('; ')}.`,
    );
  } else if (b?.kind === 'baseline-file') {
    const rose = b.quantiles.routes.filter((r) => r.verdict === 'rose');
    out.push(rose.length === 0 ? `Against the baseline ${b.source}: no route's p99 rose.` : `Against the baseline ${b.source}: p99 rose on ${rose.map((r) => `${r.route} (${fmt(r.a.p99)} → ${fmt(r.b.p99)})`).join(', ')}.`);
  }
  if (input.changepoints.length > 0) out.push(`${input.changepoints.length} change(s) of level within the capture (see below).`);
  return out;
}

/** The report's content. Pure. */
export function buildIncidentReport(input: IncidentReportInput): IncidentReport {
  const byId = new Map(input.traces.map((t) => [t.traceId, t]));
  const groups = groupFindings(input.analysis.findings, byId, input.maxGroups ?? 8);
  const slowest = input.traces.reduce<Trace | null>((w, t) => (w === null || durationNs(rootOf(t)) > durationNs(rootOf(w)) ? t : w), null);
  const worst = slowest ? evidenceOf(slowest, null) : null;
  const byRoute = new Map<string, number[]>();
  for (const t of input.traces) {
    const r = routeOfTrace(t);
    const list = byRoute.get(r) ?? [];
    list.push(ms(durationNs(rootOf(t))));
    byRoute.set(r, list);
  }
  const m = input.capture.meta;
  const window = m.window ? Number(BigInt(m.window.endNs) - BigInt(m.window.startNs)) / 1e9 : null;
  return {
    dir: input.capture.dir,
    createdAt: m.createdAt,
    durationS: window,
    traces: input.traces.length,
    findingsTotal: input.analysis.findings.length,
    summary: summaryOf(input, groups, worst),
    routes: [...byRoute.keys()].sort().map((route) => ({ route, requests: (byRoute.get(route) as number[]).length, latencyMs: quantilesOf(byRoute.get(route) as number[]) })),
    groups,
    worst,
    baseline: input.baseline,
    changepoints: input.changepoints,
    blindSpots: blindSpotsOf(input.capture, input.traces),
  };
}

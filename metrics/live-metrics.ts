/**
 * What `lab trace --metrics-port` serves, accumulated as the trace grows: per-route request
 * latency histograms (from the proxy's access log: every request, sampled or not), per-layer
 * time of the traced requests (proxy from the access log; app and DB from the app's events;
 * kernel waits from the kernel's), finding counters computed from the events alone, and the
 * tracer's own records, drops and CPU. The snapshot is plain data for renderExposition.
 */
import { collapsePath } from '../analysis/span-type.ts';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../analysis/thresholds.ts';
import { quantileOfSorted } from '../analysis/quantiles.ts';
import type { ProxyAccessEntry } from '../lab/nginx/parse-access-log.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import type { HistogramSeries, MetricFamily, Sample } from './render-exposition.ts';

/** Latency bucket bounds, seconds: dense where the lab's requests are (1–100 ms). */
export const LATENCY_BOUNDS_S = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

export const LIVE_FINDING_KINDS = ['slow-request', 'n-plus-one', 'socket-buffer-wait', 'runqueue-delay', 'tcp-retransmit'] as const;
export type LiveFindingKind = (typeof LIVE_FINDING_KINDS)[number];

export const LAYER_LABELS = ['proxy', 'app', 'db', 'kernel_wait'] as const;
type LayerLabel = (typeof LAYER_LABELS)[number];

/** More routes than this share the label `other`: a client sending random paths must not grow the series without bound. */
export const MAX_ROUTES = 64;
/** Requests started but not ended that are remembered (the oldest are forgotten first). */
const MAX_OPEN_REQUESTS = 50_000;
/** Recent requests per route the live thresholds (p99, median query count) are taken from. */
const WINDOW = 500;
const RECOMPUTE_EVERY = 25;

export type TracerTier = 'app' | 'nginx' | 'postgres';

export interface LiveMetricsOptions {
  readonly pids?: Readonly<Partial<Record<TracerTier, readonly number[]>>>;
  readonly thresholds?: Thresholds;
}

interface OpenRequest {
  readonly route: string;
  dbUs: number;
  queries: number;
  readonly statements: Map<string, number>;
  socketWaitNs: number;
}

interface Recent {
  readonly values: number[];
  next: number;
  seen: number;
  /** Cached statistic and when it was computed (in `seen`). */
  cached: number;
  cachedAt: number;
}

const recent = (): Recent => ({ values: [], next: 0, seen: 0, cached: NaN, cachedAt: -1 });

function push(r: Recent, v: number): void {
  if (r.values.length < WINDOW) r.values.push(v);
  else r.values[r.next] = v;
  r.next = (r.next + 1) % WINDOW;
  r.seen++;
}

function quantileOf(r: Recent, q: number): number {
  if (r.cachedAt < 0 || r.seen - r.cachedAt >= RECOMPUTE_EVERY) {
    r.cached = quantileOfSorted([...r.values].sort((a, b) => a - b), q);
    r.cachedAt = r.seen;
  }
  return r.cached;
}

class Histogram {
  readonly counts = new Array<number>(LATENCY_BOUNDS_S.length + 1).fill(0);
  sum = 0;
  observe(v: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_S.length && v > (LATENCY_BOUNDS_S[i] as number)) i++;
    this.counts[i]!++;
    this.sum += v;
  }
}

const add = <K>(m: Map<K, number>, k: K, v: number): void => {
  m.set(k, (m.get(k) ?? 0) + v);
};

export interface TracerCounters {
  /** Seconds of CPU by process role ('loader', 'lab'). */
  readonly cpuSeconds?: Readonly<Record<string, number>>;
  /** The loader's loss counters, when it has reported them. */
  readonly drops?: Readonly<Record<string, number>>;
}

/** The live metrics of one trace. Feed it what the capture gains; `families()` any time. */
export class LiveMetrics {
  private readonly thresholds: Thresholds;
  private readonly tierOf = new Map<number, TracerTier>();
  private readonly routes = new Set<string>();
  private readonly latency = new Map<string, Histogram>();
  private readonly statuses = new Map<string, number>();
  private readonly layers = new Map<string, number>();
  private readonly traced = new Map<string, number>();
  private readonly kernelWaits = new Map<string, number>();
  private readonly findings = new Map<LiveFindingKind, number>();
  private readonly open = new Map<string, OpenRequest>();
  private readonly recentLatency = new Map<string, Recent>();
  private readonly recentQueries = new Map<string, Recent>();
  private records = 0;
  private bytes = 0;
  private decodeWarnings = 0;
  private cpu: Readonly<Record<string, number>> = {};
  private drops: Readonly<Record<string, number>> = {};
  private readonly startedS: number;

  constructor(options: LiveMetricsOptions = {}, nowMs = Date.now()) {
    this.thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
    for (const [tier, pids] of Object.entries(options.pids ?? {}) as [TracerTier, readonly number[]][]) for (const p of pids) this.tierOf.set(p, tier);
    this.startedS = nowMs / 1000;
  }

  /** `METHOD /path` with ids collapsed, or `other` past MAX_ROUTES. */
  private route(method: string, path: string): string {
    const r = `${method} ${collapsePath(path)}`;
    if (this.routes.has(r)) return r;
    if (this.routes.size >= MAX_ROUTES) return 'other';
    this.routes.add(r);
    return r;
  }

  private finding(kind: LiveFindingKind): void {
    add(this.findings, kind, 1);
  }

  /** Requests the proxy logged. */
  observeAccess(entries: readonly ProxyAccessEntry[]): void {
    const t = this.thresholds.slowRequest;
    for (const e of entries) {
      const route = this.route(e.method, e.uri);
      add(this.statuses, `${route}\u0000${e.status}`, 1);
      if (e.requestTime === null) continue;
      let h = this.latency.get(route);
      if (!h) this.latency.set(route, (h = new Histogram()));
      h.observe(e.requestTime);
      if (e.upstreamResponseTime !== null) add(this.layers, `${route}\u0000proxy`, Math.max(0, e.requestTime - e.upstreamResponseTime));
      const ms = e.requestTime * 1000;
      const r = this.recentLatency.get(route) ?? recent();
      this.recentLatency.set(route, r);
      if (r.values.length >= t.minSamples) {
        const p99 = quantileOf(r, 0.99);
        if (ms > p99 * (1 + t.p99Margin) && ms - p99 >= t.minExcessMs) this.finding('slow-request');
      }
      push(r, ms);
    }
  }

  /** Records decoded from events.bin (or the app's probe file), in order. */
  observeEvents(events: readonly TraceEvent[], bytes = 0, warnings = 0): void {
    this.records += events.length;
    this.bytes += bytes;
    this.decodeWarnings += warnings;
    for (const e of events) this.observeEvent(e);
  }

  private observeEvent(e: TraceEvent): void {
    switch (e.kind) {
      case EventKind.RequestStart: {
        if (e.requestId === '') return;
        if (this.open.size >= MAX_OPEN_REQUESTS) this.open.delete(this.open.keys().next().value as string);
        this.open.set(e.requestId, { route: this.route(e.method, e.path), dbUs: 0, queries: 0, statements: new Map(), socketWaitNs: 0 });
        return;
      }
      case EventKind.DbQueryStart: {
        const r = this.open.get(e.requestId);
        if (!r) return;
        r.queries++;
        add(r.statements, e.query, 1);
        return;
      }
      case EventKind.DbQueryEnd: {
        const r = this.open.get(e.requestId);
        if (r) r.dbUs += Number(e.durationUs);
        return;
      }
      case EventKind.SockRecv: {
        if (e.arrivalNs === 0n) return;
        const waitNs = Number(e.tsNs - e.durationNs - e.arrivalNs);
        if (waitNs <= 0) return;
        add(this.kernelWaits, `socket_buffer\u0000${this.tierOf.get(e.pid) ?? 'other'}`, waitNs / 1e9);
        if (waitNs / 1e6 >= this.thresholds.socketWait.minMs) this.finding('socket-buffer-wait');
        const r = this.open.get(e.requestId);
        if (r) r.socketWaitNs += waitNs;
        return;
      }
      case EventKind.RunqDelay: {
        add(this.kernelWaits, `runqueue\u0000${this.tierOf.get(e.pid) ?? 'other'}`, Number(e.delayNs) / 1e9);
        if (Number(e.delayNs) / 1e6 >= this.thresholds.runqDelay.minMs) this.finding('runqueue-delay');
        return;
      }
      case EventKind.TcpRetransmit:
        this.finding('tcp-retransmit');
        return;
      case EventKind.RequestEnd: {
        const r = this.open.get(e.requestId);
        if (!r) return;
        this.open.delete(e.requestId);
        const appS = Number(e.durationUs) / 1e6;
        const dbS = Math.min(appS, r.dbUs / 1e6);
        add(this.traced, r.route, 1);
        add(this.layers, `${r.route}\u0000app`, appS - dbS);
        add(this.layers, `${r.route}\u0000db`, dbS);
        add(this.layers, `${r.route}\u0000kernel_wait`, r.socketWaitNs / 1e9);
        this.judgeQueries(r);
        return;
      }
      default:
        return;
    }
  }

  private judgeQueries(r: OpenRequest): void {
    const t = this.thresholds.nPlusOne;
    const q = this.recentQueries.get(r.route) ?? recent();
    this.recentQueries.set(r.route, q);
    if (q.values.length >= this.thresholds.slowRequest.minSamples) {
      const median = quantileOf(q, 0.5);
      const repeats = Math.max(0, ...r.statements.values());
      if (r.queries >= median * t.ratio && r.queries >= median + t.minExtraQueries && repeats >= t.minRepeats) this.finding('n-plus-one');
    }
    push(q, r.queries);
  }

  /** The tracer's own CPU and, once the loader reports them, its loss counters. */
  setTracer(c: TracerCounters): void {
    if (c.cpuSeconds) this.cpu = { ...c.cpuSeconds };
    if (c.drops) this.drops = { ...c.drops };
  }

  families(): MetricFamily[] {
    const split = (key: string): string[] => key.split('\u0000');
    const sorted = <V>(m: ReadonlyMap<string, V>): [string, V][] => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const latency: HistogramSeries[] = sorted(this.latency).map(([route, h]) => ({ labels: { route }, bounds: LATENCY_BOUNDS_S, counts: h.counts, sum: h.sum }));
    const layerSamples: Sample[] = [];
    for (const route of [...new Set([...this.latency.keys(), ...this.traced.keys()])].sort()) {
      for (const layer of LAYER_LABELS as readonly LayerLabel[]) layerSamples.push({ labels: { route, layer }, value: this.layers.get(`${route}\u0000${layer}`) ?? 0 });
    }
    return [
      { name: 'reqtrace_request_duration_seconds', help: 'Request latency as the proxy logged it (request_time), by route.', type: 'histogram', series: latency },
      { name: 'reqtrace_requests_total', help: 'Requests the proxy logged, by route and status.', type: 'counter', samples: sorted(this.statuses).map(([k, v]) => ({ labels: { route: split(k)[0] as string, status: split(k)[1] as string }, value: v })) },
      { name: 'reqtrace_traced_requests_total', help: 'Requests with app events (traced in full), by route: the divisor of the layer seconds.', type: 'counter', samples: sorted(this.traced).map(([route, v]) => ({ labels: { route }, value: v })) },
      { name: 'reqtrace_layer_seconds_total', help: 'Time per layer: proxy (all logged requests), app, db and kernel_wait (socket-buffer waits; traced requests), by route.', type: 'counter', samples: layerSamples },
      { name: 'reqtrace_kernel_wait_seconds_total', help: 'Socket-buffer and run-queue waits of the lab processes, by kind and tier.', type: 'counter', samples: sorted(this.kernelWaits).map(([k, v]) => ({ labels: { kind: split(k)[0] as string, tier: split(k)[1] as string }, value: v })) },
      { name: 'reqtrace_findings_total', help: 'Findings computed from the events as they arrive (lab analyze judges whole traces afterwards), by kind.', type: 'counter', samples: LIVE_FINDING_KINDS.map((kind) => ({ labels: { kind }, value: this.findings.get(kind) ?? 0 })) },
      { name: 'reqtrace_tracer_records_total', help: 'Records the tracer wrote and this process decoded.', type: 'counter', samples: [{ labels: {}, value: this.records }] },
      { name: 'reqtrace_tracer_bytes_total', help: 'Bytes of records decoded.', type: 'counter', samples: [{ labels: {}, value: this.bytes }] },
      { name: 'reqtrace_tracer_decode_warnings_total', help: 'Records that could not be decoded.', type: 'counter', samples: [{ labels: {}, value: this.decodeWarnings }] },
      { name: 'reqtrace_tracer_drops_total', help: "Records lost, by the loader's counter name (reported when the loader reports them).", type: 'counter', samples: Object.keys(this.drops).sort().map((counter) => ({ labels: { counter }, value: this.drops[counter] as number })) },
      { name: 'reqtrace_tracer_cpu_seconds_total', help: 'CPU time of the tracer, by process: the BPF loader, and lab trace itself.', type: 'counter', samples: Object.keys(this.cpu).sort().map((process) => ({ labels: { process }, value: this.cpu[process] as number })) },
      { name: 'reqtrace_trace_start_time_seconds', help: 'When this trace started, seconds since the epoch.', type: 'gauge', samples: [{ labels: {}, value: this.startedS }] },
    ];
  }
}

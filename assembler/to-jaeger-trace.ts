/**
 * Traces in the JSON shape Jaeger's query API returns and Jaeger UI's "Upload JSON" reads:
 * `{ data: [{ traceID, spans, processes, warnings }] }`, times in wall-clock microseconds.
 * Pure: the caller writes the file.
 */
import { rootOf, type Span, type SpanTier, type TagValue, type Trace } from './span.ts';

export interface JaegerTag {
  readonly key: string;
  readonly type: 'string' | 'bool' | 'int64' | 'float64';
  readonly value: string | number | boolean;
}

export interface JaegerReference {
  readonly refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  readonly traceID: string;
  readonly spanID: string;
}

export interface JaegerLog {
  /** Wall-clock µs since the epoch. */
  readonly timestamp: number;
  readonly fields: readonly JaegerTag[];
}

export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly flags: number;
  readonly operationName: string;
  readonly references: readonly JaegerReference[];
  /** Wall-clock µs since the epoch. */
  readonly startTime: number;
  /** µs. */
  readonly duration: number;
  readonly tags: readonly JaegerTag[];
  readonly logs: readonly JaegerLog[];
  readonly processID: string;
  readonly warnings: readonly string[] | null;
}

export interface JaegerProcess {
  readonly serviceName: string;
  readonly tags: readonly JaegerTag[];
}

export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, JaegerProcess>>;
  readonly warnings: readonly string[] | null;
}

export interface JaegerDocument {
  readonly data: readonly JaegerTrace[];
}

/** Jaeger process id and service name of each tier. */
export const JAEGER_PROCESSES: Readonly<Record<SpanTier, { id: string; serviceName: string }>> = {
  nginx: { id: 'p1', serviceName: 'nginx' },
  app: { id: 'p2', serviceName: 'app' },
  postgres: { id: 'p3', serviceName: 'postgresql' },
  kernel: { id: 'p4', serviceName: 'kernel' },
};

export function jaegerTag(key: string, value: TagValue): JaegerTag {
  if (typeof value === 'boolean') return { key, type: 'bool', value };
  if (typeof value === 'number') return { key, type: Number.isInteger(value) ? 'int64' : 'float64', value };
  return { key, type: 'string', value };
}

const toUs = (ns: bigint): number => Number((ns + 500n) / 1000n);

function toJaegerSpan(traceId: string, s: Span, wallOffsetNs: bigint): JaegerSpan {
  const tags = Object.entries(s.tags).map(([k, v]) => jaegerTag(k, v));
  tags.push(jaegerTag('span.tier', s.tier));
  return {
    traceID: traceId,
    spanID: s.id,
    flags: 1,
    operationName: s.name,
    references: s.parentId === null ? [] : [{ refType: 'CHILD_OF', traceID: traceId, spanID: s.parentId }],
    startTime: toUs(s.startNs + wallOffsetNs),
    duration: toUs(s.endNs - s.startNs),
    tags,
    logs: s.logs.map((l) => ({ timestamp: toUs(l.tsNs + wallOffsetNs), fields: Object.entries(l.fields).map(([k, v]) => jaegerTag(k, v)) })),
    processID: JAEGER_PROCESSES[s.tier].id,
    warnings: s.warnings.length > 0 ? s.warnings : null,
  };
}

/** One trace in Jaeger's JSON model. `wallOffsetNs` maps CLOCK_MONOTONIC to wall time. */
export function toJaegerTrace(trace: Trace, wallOffsetNs: bigint): JaegerTrace {
  rootOf(trace);
  const processes: Record<string, JaegerProcess> = {};
  for (const s of trace.spans) {
    const p = JAEGER_PROCESSES[s.tier];
    processes[p.id] ??= { serviceName: p.serviceName, tags: [jaegerTag('reqtrace.tier', s.tier)] };
  }
  return {
    traceID: trace.traceId,
    spans: trace.spans.map((s) => toJaegerSpan(trace.traceId, s, wallOffsetNs)),
    processes,
    warnings: null,
  };
}

/** The document Jaeger UI's "Upload JSON" accepts. */
export function toJaegerDocument(traces: readonly Trace[], wallOffsetNs: bigint): JaegerDocument {
  return { data: traces.map((t) => toJaegerTrace(t, wallOffsetNs)) };
}

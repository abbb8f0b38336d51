/**
 * The span model the assembler produces: read-only spans on one clock (CLOCK_MONOTONIC ns,
 * `bigint`), converted to wall time only by exporters, at the edge.
 */

/** Which process (or the kernel between them) a span's time was spent in. */
export type SpanTier = 'nginx' | 'app' | 'postgres' | 'kernel';

export const SPAN_TIERS: readonly SpanTier[] = ['nginx', 'app', 'postgres', 'kernel'];

export type TagValue = string | number | boolean;

export type Tags = Readonly<Record<string, TagValue>>;

/** A timestamped annotation on a span (a Jaeger log, an OpenTelemetry span event). */
export interface SpanLog {
  /** CLOCK_MONOTONIC ns. */
  readonly tsNs: bigint;
  readonly fields: Tags;
}

export interface Span {
  /** 16 lowercase hex digits, derived from the request id and the span's path in the tree. */
  readonly id: string;
  /** null only for the trace's root. */
  readonly parentId: string | null;
  readonly name: string;
  readonly tier: SpanTier;
  /** CLOCK_MONOTONIC ns; startNs <= endNs. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly tags: Tags;
  readonly logs: readonly SpanLog[];
  /** What was repaired or guessed while building this span, one line each. */
  readonly warnings: readonly string[];
}

/**
 * One request's span tree, flattened depth-first: `spans[0]` is the root. Every span lies inside
 * its parent, except one tagged as work after a client abort (`after_client_abort`, or the app
 * span of a root tagged `http.request.aborted`), which starts inside it and may end later.
 */
export interface Trace {
  /** 32 lowercase hex digits: the request id is the trace id. */
  readonly traceId: string;
  readonly spans: readonly Span[];
}

/** Every trace of a capture, plus what maps its clock to wall time. */
export interface AssembledCapture {
  readonly traces: readonly Trace[];
  /** Add to a CLOCK_MONOTONIC ns value to get wall-clock ns since the epoch. */
  readonly wallOffsetNs: bigint;
  /** Capture-wide problems (unreadable input, correlation gaps), one line each. */
  readonly warnings: readonly string[];
}

/** The root span of a trace. */
export function rootOf(trace: Trace): Span {
  const root = trace.spans[0];
  if (!root) throw new Error(`trace ${trace.traceId} has no spans`);
  return root;
}

export function durationNs(span: Span): bigint {
  return span.endNs - span.startNs;
}

/** Children of each span id, in the trace's (start-time) order. */
export function childrenById(trace: Trace): ReadonlyMap<string, readonly Span[]> {
  const out = new Map<string, Span[]>();
  for (const s of trace.spans) {
    if (s.parentId === null) continue;
    const list = out.get(s.parentId);
    if (list) list.push(s);
    else out.set(s.parentId, [s]);
  }
  return out;
}

/** Depth of each span id (root = 0). */
export function depthById(trace: Trace): ReadonlyMap<string, number> {
  const depth = new Map<string, number>();
  for (const s of trace.spans) depth.set(s.id, s.parentId === null ? 0 : (depth.get(s.parentId) ?? 0) + 1);
  return depth;
}

/** From the root's start to the latest end of any span: the root's length, or more when work outlived it. */
export function traceExtentNs(trace: Trace): bigint {
  const root = rootOf(trace);
  let end = root.endNs;
  for (const s of trace.spans) if (s.endNs > end) end = s.endNs;
  return end - root.startNs;
}

/** Nanoseconds to milliseconds as a float (for display only). */
export function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}

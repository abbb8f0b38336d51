/**
 * Traces as Chrome trace-event JSON (Perfetto UI, chrome://tracing): one "X" complete event per
 * span, one process per tier, one thread per request. Times are µs from the earliest span or log,
 * so the floats keep nanosecond precision. Pure: the caller writes the file.
 */
import { rootOf, SPAN_TIERS, type SpanTier, type TagValue, type Trace } from './span.ts';

export type ChromeEvent =
  | {
      readonly name: string;
      readonly cat: string;
      readonly ph: 'X';
      readonly ts: number;
      readonly dur: number;
      readonly pid: number;
      readonly tid: number;
      readonly args: Readonly<Record<string, TagValue>>;
    }
  | { readonly name: string; readonly cat: string; readonly ph: 'i'; readonly s: 't'; readonly ts: number; readonly pid: number; readonly tid: number; readonly args: Readonly<Record<string, TagValue>> }
  | { readonly name: 'process_name' | 'thread_name' | 'process_sort_index'; readonly ph: 'M'; readonly pid: number; readonly tid: number; readonly args: Readonly<Record<string, TagValue>> };

export interface ChromeTrace {
  readonly traceEvents: readonly ChromeEvent[];
  readonly displayTimeUnit: 'ms';
  readonly otherData: Readonly<Record<string, string>>;
}

const pidOf = (tier: SpanTier): number => SPAN_TIERS.indexOf(tier) + 1;

/** The earliest time in `traces`, span or log (a connection's setup can precede its root): the
 * zero of the time axis, so no event lies before it (0 when there are none). */
export function chromeOrigin(traces: Iterable<Trace>): bigint {
  let origin: bigint | undefined;
  const consider = (ns: bigint): void => {
    if (origin === undefined || ns < origin) origin = ns;
  };
  for (const t of traces) {
    for (const s of t.spans) {
      consider(s.startNs);
      for (const l of s.logs) consider(l.tsNs);
    }
  }
  return origin ?? 0n;
}

const processMeta = (): ChromeEvent[] =>
  SPAN_TIERS.flatMap((tier, i): ChromeEvent[] => [
    { name: 'process_name', ph: 'M', pid: i + 1, tid: 0, args: { name: tier } },
    { name: 'process_sort_index', ph: 'M', pid: i + 1, tid: 0, args: { sort_index: i } },
  ]);

/** One trace's thread names and events, on thread `tid`. */
function traceEvents(t: Trace, tid: number, origin: bigint): ChromeEvent[] {
  const us = (ns: bigint): number => Number(ns - origin) / 1000;
  const root = rootOf(t);
  const out: ChromeEvent[] = [];
  for (const tier of new Set(t.spans.map((s) => s.tier))) out.push({ name: 'thread_name', ph: 'M', pid: pidOf(tier), tid, args: { name: `${root.name} ${t.traceId}` } });
  for (const s of t.spans) {
    const args: Record<string, TagValue> = { 'trace.id': t.traceId, 'span.id': s.id, ...s.tags };
    if (s.parentId) args['parent.id'] = s.parentId;
    if (s.warnings.length > 0) args.warnings = s.warnings.join('; ');
    out.push({ name: s.name, cat: s.tier, ph: 'X', ts: us(s.startNs), dur: Number(s.endNs - s.startNs) / 1000, pid: pidOf(s.tier), tid, args });
    for (const l of s.logs) {
      const name = typeof l.fields.event === 'string' ? l.fields.event : 'log';
      out.push({ name, cat: s.tier, ph: 'i', s: 't', ts: us(l.tsNs), pid: pidOf(s.tier), tid, args: { ...l.fields } });
    }
  }
  return out;
}

const otherData = (origin: bigint, wallOffsetNs: bigint): ChromeTrace['otherData'] => ({ clock: 'CLOCK_MONOTONIC', originMonotonicNs: origin.toString(), wallOffsetNs: wallOffsetNs.toString() });

/** Converts traces; `wallOffsetNs` is recorded so the zero of the time axis can be found again. */
export function toChromeTrace(traces: readonly Trace[], wallOffsetNs: bigint): ChromeTrace {
  const origin = chromeOrigin(traces);
  return {
    traceEvents: [...processMeta(), ...traces.flatMap((t, i) => traceEvents(t, i + 1, origin))],
    displayTimeUnit: 'ms',
    otherData: otherData(origin, wallOffsetNs),
  };
}

/**
 * `JSON.stringify(toChromeTrace(traces))`, piece by piece as `traces` are read (a piece per
 * trace), given their `origin` (chromeOrigin, from an earlier pass): no more than one trace held.
 */
export function* chromeTraceJson(traces: Iterable<Trace>, origin: bigint, wallOffsetNs: bigint): Generator<string> {
  yield `{"traceEvents":[${processMeta().map((e) => JSON.stringify(e)).join(',')}`;
  let tid = 0;
  for (const t of traces) {
    const events = traceEvents(t, ++tid, origin);
    if (events.length > 0) yield `,${events.map((e) => JSON.stringify(e)).join(',')}`;
  }
  yield `],"displayTimeUnit":"ms","otherData":${JSON.stringify(otherData(origin, wallOffsetNs))}}`;
}

/**
 * Traces as Chrome trace-event JSON (Perfetto UI, chrome://tracing): one "X" complete event per
 * span, one process per tier, one thread per request. Times are µs from the earliest span, so
 * the floats keep nanosecond precision. Pure: the caller writes the file.
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

/** Converts traces; `wallOffsetNs` is recorded so the zero of the time axis can be found again. */
export function toChromeTrace(traces: readonly Trace[], wallOffsetNs: bigint): ChromeTrace {
  const origin = traces.reduce<bigint | undefined>((m, t) => {
    const s = rootOf(t).startNs;
    return m === undefined || s < m ? s : m;
  }, undefined) ?? 0n;
  const us = (ns: bigint): number => Number(ns - origin) / 1000;
  const meta: ChromeEvent[] = SPAN_TIERS.flatMap((tier, i): ChromeEvent[] => [
    { name: 'process_name', ph: 'M', pid: i + 1, tid: 0, args: { name: tier } },
    { name: 'process_sort_index', ph: 'M', pid: i + 1, tid: 0, args: { sort_index: i } },
  ]);
  const events: ChromeEvent[] = [];
  traces.forEach((t, i) => {
    const tid = i + 1;
    const root = rootOf(t);
    const tiers = new Set(t.spans.map((s) => s.tier));
    for (const tier of tiers) meta.push({ name: 'thread_name', ph: 'M', pid: pidOf(tier), tid, args: { name: `${root.name} ${t.traceId}` } });
    for (const s of t.spans) {
      const args: Record<string, TagValue> = { 'trace.id': t.traceId, 'span.id': s.id, ...s.tags };
      if (s.parentId) args['parent.id'] = s.parentId;
      if (s.warnings.length > 0) args.warnings = s.warnings.join('; ');
      events.push({ name: s.name, cat: s.tier, ph: 'X', ts: us(s.startNs), dur: Number(s.endNs - s.startNs) / 1000, pid: pidOf(s.tier), tid, args });
      for (const l of s.logs) {
        const name = typeof l.fields.event === 'string' ? l.fields.event : 'log';
        events.push({ name, cat: s.tier, ph: 'i', s: 't', ts: us(l.tsNs), pid: pidOf(s.tier), tid, args: { ...l.fields } });
      }
    }
  });
  return {
    traceEvents: [...meta, ...events],
    displayTimeUnit: 'ms',
    otherData: { clock: 'CLOCK_MONOTONIC', originMonotonicNs: origin.toString(), wallOffsetNs: wallOffsetNs.toString() },
  };
}

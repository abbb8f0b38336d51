/**
 * How a kernel-derived tag was joined to its request, written beside it on the span so a reader
 * can weigh it: `<signal>.correlation` names the method, `<signal>.confidence` (0–1) how sure:
 *
 *   exact        the kernel tagged the record with the request (its id, or the fd the app bound): 1
 *   tuple        by the connection's 4-tuple, which names one connection at a time: 0.95
 *   thread+time  by the thread that served the request and the time it did: 0.9 for a PostgreSQL
 *                backend running the request's statement (it serves nothing else meanwhile), and
 *                1/(1+k) for a thread that interleaved k other requests in that time (the app's
 *                event loop, an nginx worker)
 */
import type { SpanDraft } from './span-draft.ts';

export type CorrelationMethod = 'exact' | 'tuple' | 'thread+time';

export const TUPLE_CONFIDENCE = 0.95;
export const BACKEND_CONFIDENCE = 0.9;

/** Confidence of a thread+time join on a thread that served `others` other requests meanwhile. */
export function sharedThreadConfidence(others: number): number {
  return Math.round((1 / (1 + Math.max(0, others))) * 100) / 100;
}

/** The tag names of each signal marked so far: a signal's are built once, not on every span. */
const markKeys = new Map<string, { readonly correlation: string; readonly confidence: string }>();

/** Records on `span` how `signal` (a tag prefix, e.g. `kernel.runq_delay`) was correlated. */
export function markCorrelation(span: SpanDraft, signal: string, method: CorrelationMethod, confidence: number): void {
  let keys = markKeys.get(signal);
  if (keys === undefined) markKeys.set(signal, (keys = { correlation: `${signal}.correlation`, confidence: `${signal}.confidence` }));
  span.tags[keys.correlation] = method;
  span.tags[keys.confidence] = method === 'exact' ? 1 : confidence;
}

/**
 * For each interval, how many of the others overlap it (`[start, end]`, ends inclusive). Sorted
 * starts and ends make it O(n log n).
 */
export function overlapCounts(intervals: readonly { readonly startNs: bigint; readonly endNs: bigint }[]): number[] {
  const starts = intervals.map((i) => i.startNs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ends = intervals.map((i) => i.endNs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const countBelowOrEqual = (arr: readonly bigint[], v: bigint): number => {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((arr[mid] as bigint) <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const countBelow = (arr: readonly bigint[], v: bigint): number => {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((arr[mid] as bigint) < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // Others overlapping [s, e]: those starting at or before e, minus those ending before s, minus itself.
  return intervals.map((i) => countBelowOrEqual(starts, i.endNs) - countBelow(ends, i.startNs) - 1);
}

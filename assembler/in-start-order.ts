/**
 * Traces in order of start (root start, then trace id) while they are being built, holding only
 * those that may still be overtaken. Each item comes with a time no later than its trace's start
 * (`notAfterNs`); items are built in order of that bound, and a built trace is handed on once the
 * next item's bound lies past its start by more than `slackNs`, since nothing built later can
 * start before it then:
 *
 *   bounds     b1   b2      b3            b4
 *   starts       s1    s2        s3             → s1 goes when b3 > s1 + slack, …
 */
import { rootOf, type Trace } from './span.ts';

export interface OrderItem<T> {
  readonly item: T;
  /** A time (CLOCK_MONOTONIC ns) at or before the start of the item's trace. */
  readonly notAfterNs: bigint;
}

/** The order of `assembleCapture`'s traces: root start, then trace id. */
export function compareTraceStarts(a: Trace, b: Trace): number {
  const sa = rootOf(a).startNs;
  const sb = rootOf(b).startNs;
  return sa < sb ? -1 : sa > sb ? 1 : a.traceId < b.traceId ? -1 : 1;
}

/** A trace in the heap with its root's start, read once. */
interface Entry {
  readonly startNs: bigint;
  readonly trace: Trace;
}

function before(a: Entry, b: Entry): boolean {
  return a.startNs < b.startNs || (a.startNs === b.startNs && a.trace.traceId < b.trace.traceId);
}

/** A binary min-heap of traces by `compareTraceStarts`. */
class TraceHeap {
  readonly #items: Entry[] = [];
  get size(): number {
    return this.#items.length;
  }
  /** The first trace's start. */
  peekStartNs(): bigint | undefined {
    return this.#items[0]?.startNs;
  }
  push(t: Trace): void {
    const a = this.#items;
    const e: Entry = { startNs: rootOf(t).startNs, trace: t };
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (!before(e, p)) break;
      a[i] = p;
      i = parent;
    }
    a[i] = e;
  }
  pop(): Trace | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      const n = a.length;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(a[r]!, a[l]!) ? r : l;
        if (!before(a[c]!, last)) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top?.trace;
  }
}

/**
 * Builds every item with `build` and yields the traces in `compareTraceStarts` order. A trace
 * that would have to go before one already yielded (its start lay further before its bound than
 * the slack) is an error, not a silently misplaced trace.
 */
export function* inStartOrder<T>(items: readonly OrderItem<T>[], build: (item: T) => Trace, slackNs: bigint): Generator<Trace> {
  const order = [...items].sort((a, b) => (a.notAfterNs < b.notAfterNs ? -1 : a.notAfterNs > b.notAfterNs ? 1 : 0));
  const heap = new TraceHeap();
  let last: Trace | undefined;
  for (let i = 0; i < order.length; i++) {
    const { item, notAfterNs } = order[i]!;
    const t = build(item);
    if (last !== undefined && compareTraceStarts(t, last) < 0) {
      throw new Error(`trace ${t.traceId} starts before trace ${last.traceId}, already handed on: its start lies more than the slack before its bound ${notAfterNs}`);
    }
    heap.push(t);
    const next = order[i + 1]?.notAfterNs;
    while (heap.size > 0 && (next === undefined || heap.peekStartNs()! + slackNs < next)) {
      last = heap.pop()!;
      yield last;
    }
  }
}

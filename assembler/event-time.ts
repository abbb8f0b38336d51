/** Interval helpers for decoded events: `tsNs` is an event's end, its duration field its length. */
import { eventStartNs } from '../tracer/kind-rules.ts';
import { EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';

// Kinds that share one payload are one union member, so `EventOf` of a single kind is never.
export type SockIo = Extract<TraceEvent, { readonly kind: typeof EventKind.SockRecv | typeof EventKind.SockSend }>;
export type FileIo = Extract<TraceEvent, { readonly kind: typeof EventKind.FileRead | typeof EventKind.FileWrite }>;
export type SockConn = Extract<
  TraceEvent,
  { readonly kind: typeof EventKind.SockAccept | typeof EventKind.SockConnect | typeof EventKind.SockClose }
>;

export { eventStartNs };

export function isSockIo(e: TraceEvent): e is SockIo {
  return e.kind === EventKind.SockRecv || e.kind === EventKind.SockSend;
}

export function isFileIo(e: TraceEvent): e is FileIo {
  return e.kind === EventKind.FileRead || e.kind === EventKind.FileWrite;
}

export function isSockConn(e: TraceEvent): e is SockConn {
  return e.kind === EventKind.SockAccept || e.kind === EventKind.SockConnect || e.kind === EventKind.SockClose;
}

export { tupleKey } from '../tracer/tuple-key.ts';

/** The same connection seen from its other end. */
export function peerTupleKey(t: Tuple): string {
  return `${t.remoteAddress}:${t.remotePort}>${t.localAddress}:${t.localPort}`;
}

/** A total order on events: time, then fields that tell simultaneous events apart. */
export function compareEvents(a: TraceEvent, b: TraceEvent): number {
  if (a.tsNs !== b.tsNs) return a.tsNs < b.tsNs ? -1 : 1;
  if (a.kind !== b.kind) return a.kind - b.kind;
  if (a.pid !== b.pid) return a.pid - b.pid;
  if (a.tid !== b.tid) return a.tid - b.tid;
  if (a.fd !== b.fd) return a.fd - b.fd;
  if (a.requestId !== b.requestId) return a.requestId < b.requestId ? -1 : 1;
  const sa = eventStartNs(a);
  const sb = eventStartNs(b);
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

export const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** Index of the first element of a sorted array for which `pred` holds (pred monotone false→true). */
export function lowerBound<T>(arr: readonly T[], pred: (x: T) => boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(arr[mid] as T)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

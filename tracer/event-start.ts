import { EventKind, type TraceEvent } from './event-types.ts';

/** Start of an event in CLOCK_MONOTONIC ns (its end minus its duration; instants start at their end). */
export function eventStartNs(e: TraceEvent): bigint {
  switch (e.kind) {
    case EventKind.SockRecv:
    case EventKind.SockSend:
    case EventKind.FileRead:
    case EventKind.FileWrite:
    case EventKind.SockAccept:
    case EventKind.SockConnect:
    case EventKind.SockClose:
    case EventKind.PgPhase:
      return e.tsNs - (e.durationNs > 0n ? e.durationNs : 0n);
    case EventKind.RunqDelay:
      return e.tsNs - (e.delayNs > 0n ? e.delayNs : 0n);
    case EventKind.RequestEnd:
    case EventKind.DbQueryEnd:
      return e.tsNs - (e.durationUs > 0n ? e.durationUs * 1000n : 0n);
    default:
      return e.tsNs;
  }
}

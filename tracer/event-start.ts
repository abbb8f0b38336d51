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
    case EventKind.MajorFault:
    case EventKind.Offcpu:
    case EventKind.SlowSyscall:
    case EventKind.DirectReclaim:
    case EventKind.ConnAccept:
      return e.tsNs - (e.durationNs > 0n ? e.durationNs : 0n);
    case EventKind.BlockIo:
      return e.tsNs - (e.durationNs > 0n ? e.durationNs : 0n) - (e.queuedNs > 0n ? e.queuedNs : 0n);
    case EventKind.PoolWait:
      return e.tsNs - (e.waitNs > 0n ? e.waitNs : 0n);
    case EventKind.ConnSetup:
      return e.synNs > 0n && e.synNs <= e.tsNs ? e.synNs : e.tsNs;
    case EventKind.NetXmit:
      return e.queuedNs > 0n && e.queuedNs <= e.tsNs ? e.queuedNs : e.tsNs;
    case EventKind.RunqDelay:
      return e.tsNs - (e.delayNs > 0n ? e.delayNs : 0n);
    case EventKind.RequestEnd:
    case EventKind.DbQueryEnd:
      return e.tsNs - (e.durationUs > 0n ? e.durationUs * 1000n : 0n);
    default:
      return e.tsNs;
  }
}

/**
 * The lookups the assembler needs: the rows of each request (built into events only when its
 * trace is) and of nginx's untagged socket I/O per connection and per pid (built only where
 * correlation reads them: kept as events they would outlive it, a few hundred bytes each), and as
 * lists of events run-queue delays per thread (the sched family's, else the schedstat sums of
 * runq-from-schedstat.ts), retransmits per connection, file opens per (pid, fd). The grouping itself is done on columns
 * (correlate-rows.ts); inputs are not modified.
 */
import type { CaptureEvents } from '../shared/capture-types.ts';
import type { EventTable } from '../tracer/event-table.ts';
import { EventKind, type EventOf, type TraceEvent } from '../shared/event-types.ts';
import { tableOfEvents } from '../tracer/table-of-events.ts';
import { correlateRows, type RowGroup, type RowPairGroup } from './correlate-rows.ts';
import { runqFromSchedstat } from './runq-from-schedstat.ts';
import { eventStartNs, type SockConn } from './event-time.ts';
import { positionsOf } from './position-map.ts';
import { RequestRows } from './request-rows.ts';

export type RunqDelayEvent = EventOf<typeof EventKind.RunqDelay>;
export type RetransmitEvent = EventOf<typeof EventKind.TcpRetransmit>;
export type FileOpenEvent = EventOf<typeof EventKind.FileOpen>;
export type SockConnEvent = SockConn;
/** What a thread of the lab waited for, besides a CPU (the blockio, faults, offcpu, slowsys and reclaim families). */
export type KernelWaitEvent = EventOf<typeof EventKind.BlockIo | typeof EventKind.MajorFault | typeof EventKind.Offcpu | typeof EventKind.SlowSyscall | typeof EventKind.DirectReclaim>;
export type NetXmitEvent = EventOf<typeof EventKind.NetXmit>;

export interface CaptureIndex {
  /** The capture's events, whose rows the index names. */
  readonly table: EventTable;
  /** Rows tagged with each request id, in time order; ids in order of first appearance. */
  readonly byRequest: RequestRows;
  /** Rows of untagged socket I/O with a positive byte count, by `tupleKey` (the socket's own view), in time order. */
  readonly untaggedSockByKey: ReadonlyMap<string, readonly number[]>;
  /** The proxy's client connections: `proxyPeerKey(proxyPort, client address, client port)` → `tupleKey`. */
  readonly proxyConnKeyByPeer: ReadonlyMap<string, string>;
  /** Rows of untagged socket reads with a positive byte count on a local port, by pid (nginx's client side), in time order. */
  readonly untaggedRecvByPidOnPort: ReadonlyMap<number, readonly number[]>;
  /** Run-queue delays by `pid:tid`, sorted by end time. */
  readonly runqByThread: ReadonlyMap<string, readonly RunqDelayEvent[]>;
  /** Run-queue delays by pid, sorted by end time. */
  readonly runqByPid: ReadonlyMap<number, readonly RunqDelayEvent[]>;
  readonly maxRunqDelayNs: bigint;
  /** Retransmits by `tupleKey` of the retransmitting socket. */
  readonly retransmitsByKey: ReadonlyMap<string, readonly RetransmitEvent[]>;
  /** Every FileOpen by `pid:fd`, in time order (any request): fds are reused, so lookups go by time. */
  readonly fileOpensByFd: ReadonlyMap<string, readonly FileOpenEvent[]>;
  /** Accepted sockets by `pid:fd`, in time order: the inbound tuple when no I/O carried it. */
  readonly acceptsByFd: ReadonlyMap<string, readonly SockConnEvent[]>;
  /** Closed sockets by `pid:fd` (tagged or not), in time order: where a connection on an fd ended. */
  readonly closesByFd: ReadonlyMap<string, readonly SockConnEvent[]>;
  /** The pid owning a connection, by `tupleKey` of its socket (the sockets family names PostgreSQL's). */
  readonly socketOwnerByKey: ReadonlyMap<string, number>;
  /** Kernel waits by pid, sorted by end time; the longest one's length. */
  readonly waitsByPid: ReadonlyMap<number, readonly KernelWaitEvent[]>;
  readonly maxWaitNs: bigint;
  /** Packets sent by `tupleKey` of their socket, in time order. */
  readonly xmitsByKey: ReadonlyMap<string, readonly NetXmitEvent[]>;
}

export { proxyPeerKey } from './correlate-rows.ts';

/** The kinds whose records carry their thread's schedstat run delay (runq-from-schedstat.ts). */
const SCHEDSTAT_KINDS = new Set<number>([EventKind.RequestStart, EventKind.RequestEnd, EventKind.DbQueryStart, EventKind.DbQueryEnd, EventKind.PgPhase]);

/**
 * Indexes `events` (any order): a capture's table is correlated as it is, events that are objects
 * get their columns first. `proxyPort` picks nginx's client-side sockets.
 */
export function indexCapture(events: CaptureEvents | readonly TraceEvent[], proxyPort: number): CaptureIndex {
  const cols = tableOfEvents(events);
  const rows = correlateRows(cols, proxyPort);
  const list = <E extends TraceEvent>(rowList: readonly number[]): E[] => cols.eventsAt(rowList) as E[];
  const byKey = <E extends TraceEvent>(groups: readonly RowGroup[], name: (key: number) => string): Map<string, E[]> =>
    new Map(groups.map((g) => [name(g.key), list<E>(g.rows)]));
  const byNumber = <E extends TraceEvent>(groups: readonly RowGroup[]): Map<number, E[]> => new Map(groups.map((g) => [g.key, list<E>(g.rows)]));
  const byPair = <E extends TraceEvent>(groups: readonly RowPairGroup[]): Map<string, E[]> => new Map(groups.map((g) => [`${g.a}:${g.b}`, list<E>(g.rows)]));
  const connKey = (c: number): string => cols.connKeys[c]!;
  const maxRunq = rows.maxRunqDelayRow < 0 ? undefined : (cols.event(rows.maxRunqDelayRow) as RunqDelayEvent);
  // The sched family's timed waits where it ran, else the schedstat sums the records carry.
  const stat = maxRunq === undefined ? runqFromSchedstat(cols.eventsOfKinds(SCHEDSTAT_KINDS)) : null;
  const waitsByPid = byNumber<KernelWaitEvent>(rows.waitsByPid);
  return {
    table: cols,
    byRequest: new RequestRows(positionsOf(Array.from(rows.byRequest.keys, (r) => cols.requestIds[r]!)), rows.byRequest.rows),
    untaggedSockByKey: new Map(rows.untaggedSockByConn.map((g) => [connKey(g.key), g.rows])),
    untaggedRecvByPidOnPort: new Map(rows.untaggedRecvByPidOnPort.map((g) => [g.key, g.rows])),
    proxyConnKeyByPeer: new Map([...rows.proxyConnByPeer].map(([peer, c]) => [peer, connKey(c)])),
    runqByThread: stat ? stat.byThread : byPair<RunqDelayEvent>(rows.runqByThread),
    runqByPid: stat ? stat.byPid : byNumber<RunqDelayEvent>(rows.runqByPid),
    maxRunqDelayNs: stat ? stat.maxDelayNs : (maxRunq?.delayNs ?? 0n),
    retransmitsByKey: byKey<RetransmitEvent>(rows.retransmitsByConn, connKey),
    fileOpensByFd: byPair<FileOpenEvent>(rows.fileOpensByFd),
    acceptsByFd: byPair<SockConnEvent>(rows.acceptsByFd),
    closesByFd: byPair<SockConnEvent>(rows.closesByFd),
    socketOwnerByKey: new Map([...rows.ownerByConn].map(([c, owner]) => [connKey(c), owner])),
    waitsByPid,
    maxWaitNs: [...waitsByPid.values()].reduce((m, list) => list.reduce((mm, e) => (e.tsNs - eventStartNs(e) > mm ? e.tsNs - eventStartNs(e) : mm), m), 0n),
    xmitsByKey: byKey<NetXmitEvent>(rows.xmitsByConn, connKey),
  };
}

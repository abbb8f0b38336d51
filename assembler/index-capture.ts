/**
 * One pass over a capture's events into the lookups the assembler needs: tagged events per
 * request, untagged socket I/O per connection, run-queue delays per thread, retransmits per
 * connection, file opens per (pid, fd). Inputs are not modified; arrays are sorted copies.
 */
import { EventKind, type EventOf, type TraceEvent } from '../tracer/event-types.ts';
import { compareEvents, isSockIo, tupleKey, type SockConn, type SockIo } from './event-time.ts';

export type RunqDelayEvent = EventOf<typeof EventKind.RunqDelay>;
export type RetransmitEvent = EventOf<typeof EventKind.TcpRetransmit>;
export type FileOpenEvent = EventOf<typeof EventKind.FileOpen>;
export type SockConnEvent = SockConn;

export interface CaptureIndex {
  /** Events tagged with each request id, in time order; ids in order of first appearance. */
  readonly byRequest: ReadonlyMap<string, readonly TraceEvent[]>;
  /** Untagged socket I/O with a positive byte count, by `tupleKey` (the socket's own view). */
  readonly untaggedSockByKey: ReadonlyMap<string, readonly SockIo[]>;
  /** The proxy's client connections: `proxyPeerKey(proxyPort, client address, client port)` → `tupleKey`. */
  readonly proxyConnKeyByPeer: ReadonlyMap<string, string>;
  /** Untagged socket reads with a positive byte count on a local port, by pid (nginx's client side). */
  readonly untaggedRecvByPidOnPort: ReadonlyMap<number, readonly SockIo[]>;
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
}

/** Names a proxy-side client connection by what the access log knows of it. */
export function proxyPeerKey(proxyPort: number, remoteAddress: string, remotePort: number): string {
  return `${proxyPort}>${remoteAddress}:${remotePort}`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Indexes `events` (any order). `proxyPort` picks nginx's client-side sockets. */
export function indexCapture(events: readonly TraceEvent[], proxyPort: number): CaptureIndex {
  const sorted = [...events].sort(compareEvents);
  const byRequest = new Map<string, TraceEvent[]>();
  const untaggedSockByKey = new Map<string, SockIo[]>();
  const untaggedRecvByPidOnPort = new Map<number, SockIo[]>();
  const proxyConnKeyByPeer = new Map<string, string>();
  const runqByThread = new Map<string, RunqDelayEvent[]>();
  const runqByPid = new Map<number, RunqDelayEvent[]>();
  const retransmitsByKey = new Map<string, RetransmitEvent[]>();
  const fileOpensByFd = new Map<string, FileOpenEvent[]>();
  const acceptsByFd = new Map<string, SockConnEvent[]>();
  const closesByFd = new Map<string, SockConnEvent[]>();
  let maxRunqDelayNs = 0n;

  for (const e of sorted) {
    if (e.kind === EventKind.RunqDelay) {
      push(runqByThread, `${e.pid}:${e.tid}`, e);
      push(runqByPid, e.pid, e);
      if (e.delayNs > maxRunqDelayNs) maxRunqDelayNs = e.delayNs;
      continue;
    }
    if (e.kind === EventKind.TcpRetransmit) {
      push(retransmitsByKey, tupleKey(e.tuple), e);
      continue;
    }
    if (e.kind === EventKind.FileOpen) push(fileOpensByFd, `${e.pid}:${e.fd}`, e);
    if (e.kind === EventKind.SockAccept && e.fd >= 0) push(acceptsByFd, `${e.pid}:${e.fd}`, e as SockConn);
    if (e.kind === EventKind.SockClose && e.fd >= 0) push(closesByFd, `${e.pid}:${e.fd}`, e as SockConn);
    if (e.requestId !== '') {
      push(byRequest, e.requestId, e);
    } else if (isSockIo(e) && e.bytes > 0n) {
      const key = tupleKey(e.tuple);
      push(untaggedSockByKey, key, e);
      if (e.tuple.localPort === proxyPort) {
        proxyConnKeyByPeer.set(proxyPeerKey(proxyPort, e.tuple.remoteAddress, e.tuple.remotePort), key);
        if (e.kind === EventKind.SockRecv) push(untaggedRecvByPidOnPort, e.pid, e);
      }
    }
  }
  // Run-queue lookups scan by end time; sorted input keeps them sorted.
  return {
    byRequest,
    untaggedSockByKey,
    untaggedRecvByPidOnPort,
    proxyConnKeyByPeer,
    runqByThread,
    runqByPid,
    maxRunqDelayNs,
    retransmitsByKey,
    fileOpensByFd,
    acceptsByFd,
    closesByFd,
  };
}

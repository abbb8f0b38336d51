/**
 * One pass over a capture's events into the lookups the assembler needs: tagged events per
 * request, untagged socket I/O per connection, run-queue delays per thread, retransmits per
 * connection, file opens per (pid, fd). Inputs are not modified; arrays are sorted copies.
 */
import { EventKind, type EventOf, type TraceEvent, type Tuple } from '../tracer/event-types.ts';
import { compareEvents, tupleKey, type SockConn, type SockIo } from './event-time.ts';

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

// Kinds as plain constants: read through the module's exports, each use in the loop is a call.
const RUNQ_DELAY = EventKind.RunqDelay;
const TCP_RETRANSMIT = EventKind.TcpRetransmit;
const FILE_OPEN = EventKind.FileOpen;
const SOCK_ACCEPT = EventKind.SockAccept;
const SOCK_CLOSE = EventKind.SockClose;
const SOCK_RECV = EventKind.SockRecv;
const SOCK_SEND = EventKind.SockSend;

/** Lists by two numbers (pid and tid, pid and fd): small-integer keys, no string per event. */
type NumberPairLists<V> = Map<number, Map<number, V[]>>;

/**
 * Appends `v` to the list for (`a`, `b`); a new list is also added to `named` under `a:b`, so
 * `named` holds the same lists, with keys in order of first appearance.
 */
function pushByPair<V>(lists: NumberPairLists<V>, named: Map<string, V[]>, a: number, b: number, v: V): void {
  let inner = lists.get(a);
  if (inner === undefined) lists.set(a, (inner = new Map()));
  const list = inner.get(b);
  if (list !== undefined) list.push(v);
  else {
    const fresh = [v];
    inner.set(b, fresh);
    named.set(`${a}:${b}`, fresh);
  }
}

/** Whether `events` is already in `compareEvents` order, so a stable sort would leave it as is. */
function inEventOrder(events: readonly TraceEvent[]): boolean {
  if (events.length === 0) return true;
  // Times nearly always differ: one BigInt compare per event, the full comparison only on ties.
  let prevNs = events[0]!.tsNs;
  for (let i = 1; i < events.length; i++) {
    const ns = events[i]!.tsNs;
    if (ns > prevNs) prevNs = ns;
    else if (ns < prevNs || compareEvents(events[i - 1]!, events[i]!) > 0) return false;
  }
  return true;
}

/** A connection's keys, built once per Tuple object: decoded events share one frozen Tuple per connection. */
interface TupleKeys {
  readonly key: string;
  /** `proxyPeerKey` of the tuple's local port, for sockets on the proxy port. */
  peer: string | undefined;
}

/**
 * Indexes `events` (any order; a capture already in time order is read in place). `proxyPort`
 * picks nginx's client-side sockets.
 */
export function indexCapture(events: readonly TraceEvent[], proxyPort: number): CaptureIndex {
  const sorted = inEventOrder(events) ? events : [...events].sort(compareEvents);
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

  // Per-event string keys cost more than the rest of the pass (building and hashing a new string
  // each time), so lists are found through numeric or object-keyed maps, and each string key is
  // built once, when its list is created; both maps gain keys in the same order.
  const keysByTuple = new Map<Tuple, TupleKeys>();
  const keysOf = (t: Tuple): TupleKeys => {
    let k = keysByTuple.get(t);
    if (k === undefined) {
      k = { key: tupleKey(t), peer: undefined };
      keysByTuple.set(t, k);
    }
    return k;
  };
  const runqLists: NumberPairLists<RunqDelayEvent> = new Map();
  const fileOpenLists: NumberPairLists<FileOpenEvent> = new Map();
  const acceptLists: NumberPairLists<SockConnEvent> = new Map();
  const closeLists: NumberPairLists<SockConnEvent> = new Map();

  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    const kind = e.kind;
    if (kind === RUNQ_DELAY) {
      pushByPair(runqLists, runqByThread, e.pid, e.tid, e);
      push(runqByPid, e.pid, e);
      if (e.delayNs > maxRunqDelayNs) maxRunqDelayNs = e.delayNs;
      continue;
    }
    if (kind === TCP_RETRANSMIT) {
      push(retransmitsByKey, keysOf(e.tuple).key, e);
      continue;
    }
    if (kind === FILE_OPEN) pushByPair(fileOpenLists, fileOpensByFd, e.pid, e.fd, e);
    else if (kind === SOCK_ACCEPT || kind === SOCK_CLOSE) {
      const fd = e.fd;
      if (fd >= 0) pushByPair(kind === SOCK_ACCEPT ? acceptLists : closeLists, kind === SOCK_ACCEPT ? acceptsByFd : closesByFd, e.pid, fd, e);
    }
    const requestId = e.requestId;
    if (requestId !== '') {
      push(byRequest, requestId, e);
    } else if ((kind === SOCK_RECV || kind === SOCK_SEND) && e.bytes > 0n) {
      const t = e.tuple;
      const keys = keysOf(t);
      push(untaggedSockByKey, keys.key, e);
      if (t.localPort === proxyPort) {
        proxyConnKeyByPeer.set((keys.peer ??= proxyPeerKey(proxyPort, t.remoteAddress, t.remotePort)), keys.key);
        if (kind === SOCK_RECV) push(untaggedRecvByPidOnPort, e.pid, e);
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

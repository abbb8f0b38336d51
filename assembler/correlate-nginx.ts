/**
 * Joins nginx's untagged socket I/O to requests by TCP 4-tuple and time.
 *
 * nginx's upstream connection (local = nginx's ephemeral port, remote = the app's port) is the
 * app's inbound connection seen from the other end. With keep-alive one connection carries
 * many requests in turn, so each nginx syscall goes to a request by time order:
 *
 *   nginx  ──write req i──┐                         ┌──read resp i──  ──write req i+1──
 *   app                   └─recv … handler … send───┘                   └─recv …
 *
 * a write belongs to the first request the app starts reading after the write began; a read
 * belongs to the last request whose response the app had started sending when the read ended.
 * nginx's client side (local port = the proxy port) is found on the client connection the
 * access log names (remote_addr, remote_port, server_port), by order on that connection.
 *
 * While sampling, the kernel drops nginx's I/O of unsampled requests, deciding each connection
 * by the X-Request-ID of the request nginx forwards and of the response it returns; a request
 * whose headers it cannot read keeps all its records, as at sample 1. So a connection can still
 * carry records of unsampled requests.
 * Unsampled requests therefore still take part as anchors (`sampled: false`): they claim the
 * records that fall on them, which are then ignored, and on the client connection the access
 * log's neighbours (`ClientConnection.afterNs`/`beforeNs`) fence each request's records in.
 */
import { EventKind } from '../shared/event-types.ts';
import type { EventTable } from '../tracer/event-table.ts';
import { lowerBound, type SockIo } from './event-time.ts';
import { proxyPeerKey, type CaptureIndex } from './index-capture.ts';
import { endsAfter } from './row-time.ts';
import { LegsBuilder, UpstreamLegs, type UpstreamLeg } from './packed-legs.ts';
import { PackedGroups } from './correlate-rows.ts';

/** One request's use of the app's inbound connection. */
export interface AppConnectionUse {
  readonly requestId: string;
  /** `tupleKey` of the app's inbound socket (local = the app's port). */
  readonly inboundKey: string;
  /** The same connection from nginx's side. */
  readonly peerKey: string;
  /** When the app began reading the request (first inbound read, else RequestStart). */
  readonly appStartNs: bigint;
  /** When the app began sending the response (first inbound write, else RequestEnd). */
  readonly appSendStartNs: bigint;
  /** False for an unsampled request: an anchor whose records are claimed and dropped. */
  readonly sampled?: boolean;
}

/** nginx's syscalls for one request, each list in time order. */
export interface NginxLeg {
  readonly pid: number;
  readonly upstreamWrites: readonly SockIo[];
  readonly upstreamReads: readonly SockIo[];
  readonly clientReads: readonly SockIo[];
  readonly clientWrites: readonly SockIo[];
}

/** An NginxLeg as rows of the capture's table: what is kept for every request until its trace is built. */
export interface NginxLegRows {
  readonly pid: number;
  readonly upstreamWrites: readonly number[];
  readonly upstreamReads: readonly number[];
  readonly clientReads: readonly number[];
  readonly clientWrites: readonly number[];
}

/** `rows` with its events, built now from the table. */
export function nginxLegOf(rows: NginxLegRows, table: EventTable): NginxLeg {
  return {
    pid: rows.pid,
    upstreamWrites: table.eventsAt(rows.upstreamWrites) as SockIo[],
    upstreamReads: table.eventsAt(rows.upstreamReads) as SockIo[],
    clientReads: table.eventsAt(rows.clientReads) as SockIo[],
    clientWrites: table.eventsAt(rows.clientWrites) as SockIo[],
  };
}

export interface NginxCorrelation {
  readonly legs: ReadonlyMap<string, NginxLegRows>;
  /** nginx upstream syscalls on a known app connection that fit no request. */
  readonly unmatchedEvents: number;
  /** Requests whose client side was matched by time on the worker (no client connection known). */
  readonly clientSideByTime: number;
  /** nginx upstream syscalls that fell on unsampled requests (kept by the kernel), ignored. */
  readonly unsampledEvents: number;
}

/** A request's client connection as the access log names it (remote = the client). */
export interface ClientConnection {
  readonly remoteAddr: string;
  readonly remotePort: number;
  /** The proxy's listening port the client connected to. */
  readonly serverPort: number;
  /**
   * While sampling: the app's RequestStart of the previous request on this client connection
   * (its bytes were read before it) and of the next one (its response is written after it), per
   * the access log's connection order. The request's client-side records lie between the two.
   */
  readonly afterNs?: bigint;
  readonly beforeNs?: bigint;
}

type ClientSide = Pick<NginxLegRows, 'clientReads' | 'clientWrites'>;

/**
 * Assigns nginx's socket I/O to requests. `clients` (request id → client connection, from the
 * access log) puts each request's client side on its own connection; requests without one fall
 * back to matching by time on the worker. Reads rows of the capture's table, builds no events.
 * Pure: reads `index`, returns new data.
 */
export function correlateNginx(uses: readonly AppConnectionUse[], index: CaptureIndex, clients?: ReadonlyMap<string, ClientConnection>): NginxCorrelation {
  const table = index.table;
  const byConn = new Map<string, AppConnectionUse[]>();
  for (const u of uses) {
    const list = byConn.get(u.peerKey);
    if (list) list.push(u);
    else byConn.set(u.peerKey, [u]);
  }

  // Requests numbered in order of their first nginx row; rows filed under 2 × that number for writes, + 1 for reads.
  const legOf = new Map<string, number>();
  const legIds: string[] = [];
  const legPids: number[] = [];
  const claimed = new PackedGroups(2 * uses.length);
  const anchors = new Set(uses.filter((u) => u.sampled === false).map((u) => u.requestId));
  let unmatchedEvents = 0;
  let unsampledEvents = 0;
  for (const [peerKey, connUses] of byConn) {
    const nginxRows = index.untaggedSockByKey.get(peerKey);
    if (!nginxRows) continue;
    const byStart = [...connUses].sort((a, b) => (a.appStartNs < b.appStartNs ? -1 : a.appStartNs > b.appStartNs ? 1 : 0));
    const bySend = [...connUses].sort((a, b) => (a.appSendStartNs < b.appSendStartNs ? -1 : a.appSendStartNs > b.appSendStartNs ? 1 : 0));
    for (const row of nginxRows) {
      const isSend = table.kind[row] === EventKind.SockSend;
      let use: AppConnectionUse | undefined;
      if (isSend) {
        const start = table.startNsOf(row);
        use = byStart[lowerBound(byStart, (u) => u.appStartNs >= start)];
      } else {
        const end = table.tsNsOf(row);
        use = bySend[lowerBound(bySend, (u) => u.appSendStartNs > end) - 1];
      }
      if (!use) {
        unmatchedEvents++;
        continue;
      }
      if (anchors.has(use.requestId)) {
        unsampledEvents++;
        continue;
      }
      let leg = legOf.get(use.requestId);
      if (leg === undefined) {
        leg = legIds.length;
        legOf.set(use.requestId, leg);
        legIds.push(use.requestId);
        legPids.push(table.pid[row]!);
      }
      claimed.push(2 * leg + (isSend ? 0 : 1), row);
    }
  }
  const upstream = new UpstreamLegs(legIds, legPids, claimed.groups());

  const legs = new LegsBuilder(index.byRequest.positions);
  let clientSideByTime = 0;
  const byTime: number[] = [];
  const byConnection = new Map<string, number[]>();
  for (let k = 0; k < upstream.length; k++) {
    if (upstream.writes(k) === 0) continue;
    const key = clientConnKey(clients?.get(upstream.ids[k]!), index);
    if (key === undefined) {
      byTime.push(k);
      continue;
    }
    const list = byConnection.get(key);
    if (list) list.push(k);
    else byConnection.set(key, [k]);
  }
  for (const [key, list] of byConnection) {
    const connRows = index.untaggedSockByKey.get(key) ?? [];
    for (const k of list) {
      const requestId = upstream.ids[k]!;
      legs.setClientSide(requestId, clientSideOnConnection(table, connRows, upstream.leg(k), clients?.get(requestId)));
    }
  }
  if (byTime.length > 0) {
    clientSideByTime = byTime.length;
    clientSideByWorkerTime(byTime, upstream, index, (requestId, side) => legs.setClientSide(requestId, side));
  }
  return { legs: legs.finish(upstream), unmatchedEvents, clientSideByTime, unsampledEvents };
}

/** The proxy's side of a client connection: `tupleKey` with local = the proxy port. */
function clientConnKey(c: ClientConnection | undefined, index: CaptureIndex): string | undefined {
  if (!c) return undefined;
  return index.proxyConnKeyByPeer.get(proxyPeerKey(c.serverPort, normalizeAddress(c.remoteAddr), c.remotePort));
}

/** `::ffff:127.0.0.1` (a dual-stack socket's view of an IPv4 peer) → `127.0.0.1`, as ss prints it. */
export function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** Where nginx began reading the upstream response, else its last upstream write's end: its response writes follow. */
function responseFrom(table: EventTable, leg: UpstreamLeg): bigint {
  const read = leg.upstreamReads[0];
  return read !== undefined ? table.startNsOf(read) : table.tsNsOf(leg.upstreamWrites.at(-1)!);
}

/**
 * One request's client-side syscalls on its own connection. HTTP/1.1 without pipelining: the
 * client sends request k+1 only after the whole response k, so the request's bytes are the run
 * of reads just before nginx's first upstream write, and the response is the run of writes after
 * nginx began reading the upstream response, up to the next read (the next request):
 *
 *   client conn  ──read k── … ──write k──write k──  ──read k+1── … ──write k+1──
 *   upstream              └write k┘ └read k┘                    └write k+1┘ └read k+1┘
 */
function clientSideOnConnection(table: EventTable, connRows: readonly number[], leg: UpstreamLeg, conn: ClientConnection | undefined): ClientSide {
  const firstWriteStart = table.startNsOf(leg.upstreamWrites[0]!);
  const clientReads: number[] = [];
  for (let j = lowerBound(connRows, endsAfter(table, firstWriteStart)) - 1; j >= 0; j--) {
    const r = connRows[j]!;
    if (table.kind[r] !== EventKind.SockRecv) break;
    // A read the kernel let through for the previous request, whose later records it dropped.
    if (conn?.afterNs !== undefined && table.tsNsOf(r) <= conn.afterNs) break;
    clientReads.push(r);
  }
  clientReads.reverse();
  const clientWrites: number[] = [];
  if (clientReads.length === 0) return { clientReads, clientWrites };
  const after = responseFrom(table, leg);
  const lastReadEnd = table.tsNsOf(clientReads.at(-1)!);
  for (let j = lowerBound(connRows, endsAfter(table, lastReadEnd)); j < connRows.length; j++) {
    const r = connRows[j]!;
    if (table.kind[r] === EventKind.SockRecv) break;
    if (conn?.beforeNs !== undefined && table.startNsOf(r) >= conn.beforeNs) break;
    if (table.tsNsOf(r) < after) continue;
    clientWrites.push(r);
  }
  return { clientReads, clientWrites };
}

/**
 * The fallback when the access log does not name the client connection: on the same worker,
 * the latest unclaimed client read that ended before the first upstream write, claimed in order
 * of the first upstream write so that two requests never share a read. With several busy
 * connections per worker this can pick a neighbour's read. Each side found goes to `found`, in
 * that order.
 */
function clientSideByWorkerTime(
  legNumbers: readonly number[],
  upstream: UpstreamLegs,
  index: CaptureIndex,
  found: (requestId: string, side: ClientSide) => void,
): void {
  const table = index.table;
  const ordered = legNumbers
    .map((k) => ({ k, firstWriteStart: table.startNsOf(upstream.firstWrite(k)) }))
    .sort((a, b) => (a.firstWriteStart < b.firstWriteStart ? -1 : a.firstWriteStart > b.firstWriteStart ? 1 : 0));
  const claimed = new Set<number>();
  for (const { k, firstWriteStart } of ordered) {
    const requestId = upstream.ids[k]!;
    const leg = upstream.leg(k);
    const reads = index.untaggedRecvByPidOnPort.get(leg.pid);
    if (!reads) continue;
    let i = lowerBound(reads, endsAfter(table, firstWriteStart)) - 1;
    while (i >= 0 && claimed.has(reads[i]!)) i--;
    const clientRead = reads[i];
    if (clientRead === undefined) continue;
    claimed.add(clientRead);
    const connRows = index.untaggedSockByKey.get(table.connKeys[table.conn[clientRead]!]!) ?? [];
    const after = responseFrom(table, leg);
    const readEnd = table.tsNsOf(clientRead);
    const clientWrites: number[] = [];
    for (let j = lowerBound(connRows, endsAfter(table, readEnd)); j < connRows.length; j++) {
      const r = connRows[j]!;
      if (table.startNsOf(r) < after) continue;
      if (table.kind[r] === EventKind.SockRecv) break;
      clientWrites.push(r);
    }
    found(requestId, { clientReads: [clientRead], clientWrites });
  }
}

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
 * nginx's client side (local port = the proxy port) is found from the same worker: the client
 * read that ended last before the first upstream write, and the client connection's writes
 * after the upstream response arrived.
 */
import { EventKind } from '../tracer/event-types.ts';
import { eventStartNs, lowerBound, tupleKey, type SockIo } from './event-time.ts';
import type { CaptureIndex } from './index-capture.ts';

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
}

/** nginx's syscalls for one request, each list in time order. */
export interface NginxLeg {
  readonly pid: number;
  readonly upstreamWrites: readonly SockIo[];
  readonly upstreamReads: readonly SockIo[];
  readonly clientReads: readonly SockIo[];
  readonly clientWrites: readonly SockIo[];
}

export interface NginxCorrelation {
  readonly legs: ReadonlyMap<string, NginxLeg>;
  /** nginx upstream syscalls on a known app connection that fit no request. */
  readonly unmatchedEvents: number;
}

interface MutableLeg {
  pid: number;
  upstreamWrites: SockIo[];
  upstreamReads: SockIo[];
}

/** Assigns nginx's socket I/O to requests. Pure: reads `index`, returns new data. */
export function correlateNginx(uses: readonly AppConnectionUse[], index: CaptureIndex): NginxCorrelation {
  const byConn = new Map<string, AppConnectionUse[]>();
  for (const u of uses) {
    const list = byConn.get(u.peerKey);
    if (list) list.push(u);
    else byConn.set(u.peerKey, [u]);
  }

  const upstream = new Map<string, MutableLeg>();
  let unmatchedEvents = 0;
  for (const [peerKey, connUses] of byConn) {
    const nginxEvents = index.untaggedSockByKey.get(peerKey);
    if (!nginxEvents) continue;
    const byStart = [...connUses].sort((a, b) => (a.appStartNs < b.appStartNs ? -1 : a.appStartNs > b.appStartNs ? 1 : 0));
    const bySend = [...connUses].sort((a, b) => (a.appSendStartNs < b.appSendStartNs ? -1 : a.appSendStartNs > b.appSendStartNs ? 1 : 0));
    for (const e of nginxEvents) {
      let use: AppConnectionUse | undefined;
      if (e.kind === EventKind.SockSend) {
        const start = eventStartNs(e);
        use = byStart[lowerBound(byStart, (u) => u.appStartNs >= start)];
      } else {
        use = bySend[lowerBound(bySend, (u) => u.appSendStartNs > e.tsNs) - 1];
      }
      if (!use) {
        unmatchedEvents++;
        continue;
      }
      let leg = upstream.get(use.requestId);
      if (!leg) {
        leg = { pid: e.pid, upstreamWrites: [], upstreamReads: [] };
        upstream.set(use.requestId, leg);
      }
      (e.kind === EventKind.SockSend ? leg.upstreamWrites : leg.upstreamReads).push(e);
    }
  }

  // Client side: claim reads greedily in order of the first upstream write, so that two
  // requests served by one worker never share a client read.
  const ordered = [...upstream.entries()]
    .filter(([, leg]) => leg.upstreamWrites.length > 0)
    .sort(([, a], [, b]) => {
      const sa = eventStartNs(a.upstreamWrites[0] as SockIo);
      const sb = eventStartNs(b.upstreamWrites[0] as SockIo);
      return sa < sb ? -1 : sa > sb ? 1 : 0;
    });
  const claimed = new Set<SockIo>();
  const legs = new Map<string, NginxLeg>();
  for (const [requestId, leg] of upstream) {
    legs.set(requestId, { pid: leg.pid, upstreamWrites: leg.upstreamWrites, upstreamReads: leg.upstreamReads, clientReads: [], clientWrites: [] });
  }
  for (const [requestId, leg] of ordered) {
    const reads = index.untaggedRecvByPidOnPort.get(leg.pid);
    if (!reads) continue;
    const firstWriteStart = eventStartNs(leg.upstreamWrites[0] as SockIo);
    let i = lowerBound(reads, (r) => r.tsNs > firstWriteStart) - 1;
    while (i >= 0 && claimed.has(reads[i] as SockIo)) i--;
    const clientRead = reads[i];
    if (!clientRead) continue;
    claimed.add(clientRead);
    const connEvents = index.untaggedSockByKey.get(tupleKey(clientRead.tuple)) ?? [];
    const after = leg.upstreamReads[0] ? eventStartNs(leg.upstreamReads[0]) : (leg.upstreamWrites.at(-1) as SockIo).tsNs;
    // The response: the client connection's writes after the upstream response began, up to
    // the next request's read on that connection (keep-alive).
    const clientWrites: SockIo[] = [];
    for (let j = lowerBound(connEvents, (e) => e.tsNs > clientRead.tsNs); j < connEvents.length; j++) {
      const e = connEvents[j] as SockIo;
      if (eventStartNs(e) < after) continue;
      if (e.kind === EventKind.SockRecv) break;
      clientWrites.push(e);
    }
    legs.set(requestId, { ...(legs.get(requestId) as NginxLeg), clientReads: [clientRead], clientWrites });
  }
  return { legs, unmatchedEvents };
}

/**
 * The order of requests on each client connection, from the access log (`connection`, nginx's
 * connection serial, and `connection_requests`, the request's ordinal on it), turned into time
 * bounds for each request's client-side records: HTTP/1.1 without pipelining, so nginx reads a
 * request only after the previous one's response, and the next request only after this one's:
 *
 *   client conn  ──read P──…──write P──  ──read S──…──write S──  ──read N──…
 *   app                 └start P┘                └start S┘                 └start N┘
 *
 * S's reads end after P's app start; S's writes start before N's app start.
 */
import type { NginxAccessEntry } from '../shared/capture-types.ts';

export interface NeighbourBounds {
  /** App start of the nearest earlier request on the same client connection. */
  readonly afterNs?: bigint;
  /** App start of the nearest later request on the same client connection. */
  readonly beforeNs?: bigint;
}

function connectionOf(a: NginxAccessEntry): string | undefined {
  if (a.connection != null) return `#${a.connection}`;
  if (a.remoteAddr != null && a.remotePort != null) return `${a.remoteAddr}:${a.remotePort}>${a.serverPort ?? ''}`;
  return undefined;
}

/**
 * Bounds per request id, for requests whose connection neighbours have a known app start
 * (`startNs`). A connection whose ordinals repeat (a log from several nginx instances) gives none.
 */
export function clientNeighbourBounds(entries: readonly NginxAccessEntry[], startNs: ReadonlyMap<string, bigint>): Map<string, NeighbourBounds> {
  const byConn = new Map<string, NginxAccessEntry[]>();
  for (const a of entries) {
    const key = connectionOf(a);
    if (key === undefined || a.connectionRequests == null) continue;
    const list = byConn.get(key);
    if (list) list.push(a);
    else byConn.set(key, [a]);
  }
  const out = new Map<string, NeighbourBounds>();
  for (const list of byConn.values()) {
    const ordered = [...list].sort((a, b) => (a.connectionRequests as number) - (b.connectionRequests as number));
    if (ordered.some((a, i) => i > 0 && a.connectionRequests === ordered[i - 1]?.connectionRequests)) continue;
    const starts = ordered.map((a) => startNs.get(a.requestId));
    const after: (bigint | undefined)[] = [];
    for (let i = 0, last: bigint | undefined; i < starts.length; i++) {
      after.push(last);
      last = starts[i] ?? last;
    }
    for (let i = starts.length - 1, next: bigint | undefined; i >= 0; i--) {
      const afterNs = after[i];
      if (afterNs !== undefined || next !== undefined) out.set((ordered[i] as NginxAccessEntry).requestId, { afterNs, beforeNs: next });
      next = starts[i] ?? next;
    }
  }
  return out;
}

/**
 * The wait for a PostgreSQL pool connection (the app's pool_wait probe), as its own span beside
 * handler setup:
 *
 *   app    |read|--handler setup--|===pool wait===|--|DB query 1|…
 *                                  asked         got one (tsNs)
 *
 * Tagged with the pool's size and how full it was when the request asked, so a reader sees at
 * once whether the pool was exhausted (busy = size, others queued) or opened a new connection.
 */
import { EventKind, type EventOf, type TraceEvent } from '../shared/event-types.ts';
import type { ConnSetupEvent } from './connection-setup.ts';
import { eventStartNs, maxBig, minBig } from './event-time.ts';
import { draftSpan, type SpanDraft } from './span-draft.ts';

export type PoolWaitEvent = EventOf<typeof EventKind.PoolWait>;

/** The request's pool checkouts, in time order. */
export function poolWaits(events: readonly TraceEvent[]): PoolWaitEvent[] {
  return events.filter((e): e is PoolWaitEvent => e.kind === EventKind.PoolWait);
}

/**
 * One checkout as a `pool wait` span (tier app: the wait is inside the app's process). When the
 * pool opened the connection for it and the conn family saw that connect, the wait splits into
 * the TCP handshake and PostgreSQL's session startup (its backend forked, authenticated):
 *
 *   pool wait   |==================================|
 *   tcp connect    |----|                            SYN → SYN-ACK (the app's connect)
 *   session startup     |--------------------------| established → handed to the request
 */
export function poolWaitSpan(e: PoolWaitEvent, connect?: ConnSetupEvent): SpanDraft {
  const start = eventStartNs(e);
  const children: SpanDraft[] = [];
  if (e.newConnection && connect && connect.error === 0) {
    const synAt = maxBig(eventStartNs(connect), start);
    const established = minBig(connect.tsNs, e.tsNs);
    children.push(draftSpan('tcp connect', 'kernel', synAt, established, { tags: { 'net.tcp.handshake_rtt_us': connect.rttUs, 'net.tcp.syn_retransmits': connect.retransmits } }));
    children.push(draftSpan('session startup', 'postgres', established, e.tsNs));
  }
  return draftSpan('pool wait', 'app', start, e.tsNs, {
    children,
    tags: {
      'db.system': 'postgresql',
      'db.client.connection.pool.max': e.poolSize,
      'db.client.connection.pool.busy': e.busy,
      'db.client.connection.pool.pending_requests': e.waiting,
      'db.client.connection.new': e.newConnection,
      ...(e.fd >= 0 ? { 'db.client.fd': e.fd } : {}),
    },
  });
}

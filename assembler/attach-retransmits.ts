/** TCP retransmits on a request's connections, logged on its spans with what they cost. */
import { EventKind } from '../shared/event-types.ts';
import { markCorrelation, TUPLE_CONFIDENCE } from './correlation.ts';
import { maxBig, tupleKey, type SockIo } from './event-time.ts';
import type { CaptureIndex } from './index-capture.ts';
import type { SpanDraft } from './span-draft.ts';

/**
 * Logs each TCP retransmit on one of the request's connections, inside the request's time, on
 * the first target span that contains it (else the last target).
 */
export function attachRetransmits(
  index: CaptureIndex,
  startNs: bigint,
  endNs: bigint,
  groups: readonly { keys: readonly string[]; targets: readonly SpanDraft[] }[],
  ownSends: readonly SockIo[],
): void {
  const seen = new Set<unknown>();
  for (const g of groups) {
    for (const key of g.keys) {
      for (const r of index.retransmitsByKey.get(key) ?? []) {
        if (seen.has(r) || r.tsNs < startNs || r.tsNs > endNs) continue;
        seen.add(r);
        const target = g.targets.find((s) => s.startNs <= r.tsNs && r.tsNs <= s.endNs) ?? g.targets.at(-1);
        if (!target) continue;
        target.tags['kernel.tcp_retransmits'] = Number(target.tags['kernel.tcp_retransmits'] ?? 0) + 1;
        const wait = retransmitWait(r.tsNs, key, maxBig(startNs, target.startNs), index, ownSends);
        if (wait > 0n) target.tags['kernel.tcp_retransmit_wait_ns'] = Number(target.tags['kernel.tcp_retransmit_wait_ns'] ?? 0) + Number(wait);
        markCorrelation(target, 'kernel.tcp_retransmits', 'tuple', TUPLE_CONFIDENCE);
        target.logs.push({
          tsNs: r.tsNs,
          fields: { event: 'tcp retransmit', 'network.local.port': r.tuple.localPort, 'network.peer.address': r.tuple.remoteAddress, 'network.peer.port': r.tuple.remotePort, 'tcp.state': r.state },
        });
      }
    }
  }
}

/**
 * What a retransmit cost: from the end of the last send on its connection before it (the
 * segment's first transmission, or near it) to the retransmit, not before `notBeforeNs`. 0 when no
 * send is known: the time cannot be told.
 */
export function retransmitWait(atNs: bigint, key: string, notBeforeNs: bigint, index: CaptureIndex, ownSends: readonly SockIo[]): bigint {
  let last = -1n;
  const consider = (e: SockIo): void => {
    if (e.kind === EventKind.SockSend && e.tsNs <= atNs && e.tsNs > last && tupleKey(e.tuple) === key) last = e.tsNs;
  };
  ownSends.forEach(consider);
  (index.table.eventsAt(index.untaggedSockByKey.get(key) ?? []) as SockIo[]).forEach(consider);
  if (last < 0n) return 0n;
  return atNs - maxBig(last, notBeforeNs);
}

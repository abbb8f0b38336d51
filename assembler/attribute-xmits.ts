/**
 * The send path's last step (the netdev family): the packets a socket sent in a window, from the
 * device layer to the driver. Tagged on the span whose write they carried:
 *
 *   response send |--|                        the app's write
 *   packets out     .  .   .                  net_dev_xmit of each, on the connection
 *   net.xmit.out_ns |--------|                write start → last packet out
 *   net.xmit.queue_ns: the packets' time in the device layer (a qdisc's), summed
 */
import type { NetXmitEvent } from './index-capture.ts';
import { eventStartNs, lowerBound } from './event-time.ts';
import { markCorrelation, TUPLE_CONFIDENCE } from './correlation.ts';
import type { SpanDraft } from './span-draft.ts';

export interface XmitSummary {
  readonly packets: number;
  readonly bytes: number;
  readonly queueNs: bigint;
  /** The last packet's xmit. */
  readonly lastNs: bigint;
}

/** Packets of `xmits` (one socket's, in time order) that left in [fromNs, toNs]; undefined when none. */
export function xmitsIn(xmits: readonly NetXmitEvent[] | undefined, fromNs: bigint, toNs: bigint): XmitSummary | undefined {
  if (!xmits || toNs < fromNs) return undefined;
  let packets = 0;
  let bytes = 0;
  let queueNs = 0n;
  let lastNs = 0n;
  for (let i = lowerBound(xmits, (x) => x.tsNs >= fromNs); i < xmits.length; i++) {
    const x = xmits[i] as NetXmitEvent;
    if (x.tsNs > toNs) break;
    packets++;
    bytes += x.len;
    queueNs += x.tsNs - eventStartNs(x);
    lastNs = x.tsNs;
  }
  return packets > 0 ? { packets, bytes, queueNs, lastNs } : undefined;
}

/** Tags `span` (`prefix`.packets, .bytes, .queue_ns, .out_ns from `writeStartNs`) with `x`. */
export function tagXmits(span: SpanDraft, prefix: string, x: XmitSummary | undefined, writeStartNs: bigint): void {
  if (!x) return;
  span.tags[`${prefix}.packets`] = x.packets;
  span.tags[`${prefix}.bytes`] = x.bytes;
  span.tags[`${prefix}.queue_ns`] = Number(x.queueNs);
  span.tags[`${prefix}.out_ns`] = Number(x.lastNs > writeStartNs ? x.lastNs - writeStartNs : 0n);
  markCorrelation(span, prefix, 'tuple', TUPLE_CONFIDENCE);
}

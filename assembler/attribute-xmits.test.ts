import { describe, expect, it } from 'vitest';
import { EventKind, type Tuple } from '../shared/event-types.ts';
import { tagXmits, xmitsIn } from './attribute-xmits.ts';
import type { NetXmitEvent } from './index-capture.ts';
import { draftSpan } from './span-draft.ts';

const t: Tuple = { localAddress: '10.0.0.1', localPort: 40000, remoteAddress: '10.0.0.2', remotePort: 5432, family: 'ipv4' };
const xmit = (queuedNs: bigint, tsNs: bigint, len: number): NetXmitEvent => ({ kind: EventKind.NetXmit, tsNs, requestId: '', pid: 0, tid: 0, fd: -1, queuedNs, len, ifindex: 3, rc: 0, tuple: t });

describe('packets of a write', () => {
  //   write      |--|                                 1000 .. 1100
  //   packets      q---x  q--------x         q-x        queued → sent
  //   window     [1000 ................ 5000]
  const xmits = [xmit(1050n, 1200n, 1514), xmit(1100n, 3000n, 400), xmit(9000n, 9100n, 100)];

  it('sums the packets that left in the window and times the last one from the write', () => {
    expect(xmitsIn(xmits, 1000n, 5000n)).toEqual({ packets: 2, bytes: 1914, queueNs: 2050n, lastNs: 3000n });
    const span = draftSpan('query send', 'kernel', 1000n, 1100n);
    tagXmits(span, 'net.xmit', xmitsIn(xmits, 1000n, 5000n), 1000n);
    expect(span.tags).toEqual({
      'net.xmit.packets': 2,
      'net.xmit.bytes': 1914,
      'net.xmit.queue_ns': 2050,
      'net.xmit.out_ns': 2000,
      'net.xmit.correlation': 'tuple',
      'net.xmit.confidence': 0.95,
    });
  });

  it('no packets, no tags', () => {
    expect(xmitsIn(xmits, 4000n, 5000n)).toBeUndefined();
    expect(xmitsIn(undefined, 0n, 5000n)).toBeUndefined();
  });
});

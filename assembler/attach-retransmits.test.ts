import { describe, expect, it } from 'vitest';
import type { TraceEvent, Tuple } from '../shared/event-types.ts';
import { retransmitWait } from './attach-retransmits.ts';
import { tupleKey, type SockIo } from './event-time.ts';
import { sockIoEvent } from './fixtures/sock-io-event.ts';
import { indexCapture } from './index-capture.ts';

const t: Tuple = { localAddress: '127.0.0.1', localPort: 45000, remoteAddress: '127.0.0.1', remotePort: 18082, family: 'ipv4' };
const send = (tsNs: bigint, requestId = ''): SockIo => sockIoEvent({ tsNs, requestId, tuple: t });

describe('retransmitWait', () => {
  it("runs from the last send on the connection before the retransmit, not before the span's start", () => {
    //   sends   s(100)      s(300)            retransmit(900)
    //   wait                     |--------------|            600
    const index = indexCapture([send(100n), send(300n), send(1_000n)] as TraceEvent[], 18080);
    expect(retransmitWait(900n, tupleKey(t), 0n, index, [])).toBe(600n);
    expect(retransmitWait(900n, tupleKey(t), 500n, index, [])).toBe(400n);
    expect(retransmitWait(900n, tupleKey(t), 0n, index, [send(450n, 'r')])).toBe(450n);
  });

  it('is 0 when no send is known: the time cannot be told', () => {
    expect(retransmitWait(900n, tupleKey(t), 0n, indexCapture([], 18080), [])).toBe(0n);
  });
});

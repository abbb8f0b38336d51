import { describe, expect, it } from 'vitest';
import { EventKind, type Tuple } from '../shared/event-types.ts';
import type { SockConn } from './event-time.ts';
import { indexCapture } from './index-capture.ts';
import { inboundConnectionLookup } from './infer-inbound-connection.ts';

const t = (remotePort: number): Tuple => ({ localAddress: '127.0.0.1', localPort: 18081, remoteAddress: '127.0.0.1', remotePort, family: 'ipv4' });
const conn = (kind: typeof EventKind.SockAccept | typeof EventKind.SockClose, tsNs: bigint, tuple: Tuple): SockConn => ({ kind, tsNs, requestId: '', pid: 42, tid: 42, fd: 20, durationNs: 0n, ret: 0n, tuple });

//   fd 20:  accept A(100) ── use A(200) ── close A(300) ── [no accept seen] ── use B(600) ── close B(700)
describe('inboundConnectionLookup', () => {
  const index = indexCapture([conn(EventKind.SockAccept, 100n, t(40000)), conn(EventKind.SockClose, 300n, t(40000)), conn(EventKind.SockClose, 700n, t(40001))], 18080);
  const lookup = inboundConnectionLookup(index, [
    { pid: 42, fd: 20, atNs: 200n, tuple: t(40000) },
    { pid: 42, fd: 20, atNs: 600n, tuple: t(40001) },
  ]);

  it('takes the accept or sampled use before, else the use or close after', () => {
    expect(lookup(42, 20, 150n)?.remotePort).toBe(40000);
    expect(lookup(42, 20, 250n)?.remotePort).toBe(40000);
    expect(lookup(42, 20, 400n)?.remotePort).toBe(40001); // after A's close: B's, seen later
    expect(lookup(42, 20, 650n)?.remotePort).toBe(40001);
  });

  it('knows nothing after the last close, on another fd, or in another process', () => {
    expect(lookup(42, 20, 800n)).toBeUndefined();
    expect(lookup(42, 21, 150n)).toBeUndefined();
    expect(lookup(43, 20, 150n)).toBeUndefined();
  });
});

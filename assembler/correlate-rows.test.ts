import { describe, expect, it } from 'vitest';
import { tableOfEvents } from '../tracer/table-of-events.ts';
import { EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { compareRows, correlateRows, eventOrder, proxyPeerKey } from './correlate-rows.ts';
import { compareEvents } from './event-time.ts';

const PROXY_PORT = 18080;
const t = (localPort: number, remotePort: number): Tuple => ({ localAddress: '127.0.0.1', localPort, remoteAddress: '127.0.0.1', remotePort, family: 'ipv4' });
const sock = (kind: typeof EventKind.SockRecv | typeof EventKind.SockSend, tsNs: bigint, tuple: Tuple, o: Partial<{ requestId: string; durationNs: bigint; bytes: bigint; pid: number }> = {}): TraceEvent => ({
  tsNs,
  requestId: o.requestId ?? '',
  pid: o.pid ?? 7,
  tid: o.pid ?? 7,
  fd: 5,
  kind,
  durationNs: o.durationNs ?? 1n,
  bytes: o.bytes ?? 10n,
  arrivalNs: 0n,
  syscallNr: 0,
  syscalls: 1,
  tuple,
});

describe('compareRows', () => {
  it('orders rows as compareEvents orders their events, ties included', () => {
    const a = t(3000, 40001);
    const events = [
      sock(EventKind.SockRecv, 100n, a, { durationNs: 5n }),
      sock(EventKind.SockRecv, 100n, a, { durationNs: 9n }),
      sock(EventKind.SockSend, 100n, a),
      sock(EventKind.SockRecv, 100n, a, { requestId: 'b'.repeat(32) }),
      sock(EventKind.SockRecv, 100n, a, { requestId: 'a'.repeat(32) }),
      sock(EventKind.SockRecv, 100n, a, { pid: 6 }),
      sock(EventKind.SockRecv, 50n, a),
      { tsNs: 100n, requestId: '', pid: 7, tid: 7, fd: -1, kind: EventKind.RunqDelay, delayNs: 3n },
    ] satisfies TraceEvent[];
    const cols = tableOfEvents(events);
    for (let x = 0; x < events.length; x++) {
      for (let y = 0; y < events.length; y++) expect(Math.sign(compareRows(cols, x, y)), `${x} vs ${y}`).toBe(Math.sign(compareEvents(events[x]!, events[y]!)));
    }
    const order = eventOrder(cols);
    expect(order && Array.from(order, (r) => events[r])).toEqual([...events].sort(compareEvents));
    expect(eventOrder(tableOfEvents([...events].sort(compareEvents)))).toBeNull();
  });
});

describe('correlateRows', () => {
  it('files rows under request, connection, thread and (pid, fd), groups in order of first appearance', () => {
    const front = t(PROXY_PORT, 50000);
    const up = t(3000, 40000);
    const events: TraceEvent[] = [
      sock(EventKind.SockRecv, 10n, front),
      sock(EventKind.SockSend, 20n, up, { requestId: 'f'.repeat(32) }),
      { tsNs: 25n, requestId: '', pid: 7, tid: 8, fd: -1, kind: EventKind.RunqDelay, delayNs: 4n },
      sock(EventKind.SockSend, 30n, up),
      sock(EventKind.SockRecv, 40n, front, { bytes: 0n }),
      { tsNs: 45n, requestId: '', pid: 7, tid: 8, fd: -1, kind: EventKind.RunqDelay, delayNs: 9n },
      sock(EventKind.SockSend, 50n, up, { requestId: 'e'.repeat(32) }),
      sock(EventKind.SockRecv, 60n, front),
    ];
    const cols = tableOfEvents(events);
    const rows = correlateRows(cols, PROXY_PORT);
    expect(Array.from(rows.byRequest.keys, (key, i) => [cols.requestIds[key], rows.byRequest.rows.at(i)])).toEqual([
      ['f'.repeat(32), [1]],
      ['e'.repeat(32), [6]],
    ]);
    expect(rows.untaggedSockByConn.map((g) => [cols.connKeys[g.key], g.rows])).toEqual([
      ['127.0.0.1:18080>127.0.0.1:50000', [0, 7]],
      ['127.0.0.1:3000>127.0.0.1:40000', [3]],
    ]);
    expect([...rows.proxyConnByPeer]).toEqual([[proxyPeerKey(PROXY_PORT, '127.0.0.1', 50000), 0]]);
    expect(rows.untaggedRecvByPidOnPort).toEqual([{ key: 7, rows: [0, 7] }]);
    expect(rows.runqByThread).toEqual([{ a: 7, b: 8, rows: [2, 5] }]);
    expect(rows.maxRunqDelayRow).toBe(5);
  });

});

import { describe, expect, it } from 'vitest';
import { labLikeEvents } from '../tracer/lab-like-events.ts';
import { decodeEvents } from '../tracer/decode-events.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { decodeTable } from '../tracer/event-table-builder.ts';
import { EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { compareEvents, tupleKey } from './event-time.ts';
import { indexCapture, proxyPeerKey, type CaptureIndex } from './index-capture.ts';

const PROXY_PORT = 18080;
const tuple = (localPort: number, remotePort: number): Tuple => ({ localAddress: '127.0.0.1', localPort, remoteAddress: '127.0.0.1', remotePort, family: 'ipv4' });
const header = (tsNs: bigint, pid: number, tid: number, fd: number, requestId = '') => ({ tsNs, requestId, pid, tid, fd });
const recv = (tsNs: bigint, t: Tuple, bytes = 10n, requestId = ''): TraceEvent => ({
  ...header(tsNs, 7, 7, 5, requestId),
  kind: EventKind.SockRecv,
  durationNs: 1n,
  bytes,
  arrivalNs: 0n,
  syscallNr: 0,
  syscalls: 1,
  tuple: t,
});
const runq = (tsNs: bigint, pid: number, tid: number, delayNs: bigint): TraceEvent => ({ ...header(tsNs, pid, tid, -1), kind: EventKind.RunqDelay, delayNs });
const open = (tsNs: bigint, pid: number, fd: number): TraceEvent => ({ ...header(tsNs, pid, pid, fd, 'r1'), kind: EventKind.FileOpen, path: '/etc/hosts' });
const conn = (kind: typeof EventKind.SockAccept | typeof EventKind.SockClose, tsNs: bigint, fd: number, t: Tuple): TraceEvent => ({
  ...header(tsNs, 9, 9, fd),
  kind,
  durationNs: 0n,
  ret: 0n,
  tuple: t,
});

/**
 * Every map as its entries in iteration order, so key order is compared too; lists of rows as
 * their events, since row numbers follow the input's order.
 */
const ROW_LISTS = new Set(['byRequest', 'untaggedSockByKey', 'untaggedRecvByPidOnPort']);
const entries = (index: CaptureIndex) =>
  Object.fromEntries(
    Object.entries(index)
      .filter(([name]) => name !== 'table')
      .map(([name, value]) => [
        name,
        ROW_LISTS.has(name)
          ? [...(value as ReadonlyMap<unknown, readonly number[]>)].map(([key, rows]) => [key, index.table.eventsAt(rows)])
          : value instanceof Map
            ? [...value.entries()]
            : value,
      ]),
  );

/** A fixed shuffle: the sorted path must not depend on the input's order. */
function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  let seed = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('indexCapture', () => {
  it('keys lists by pid:tid, pid:fd and tupleKey, in order of first appearance', () => {
    const a = tuple(PROXY_PORT, 40000);
    const b = tuple(3000, 40001);
    const index = indexCapture(
      [
        runq(10n, 2, 3, 5n),
        recv(20n, a),
        open(30n, 4, 12),
        runq(40n, 1, 1, 9n),
        conn(EventKind.SockAccept, 50n, 8, b),
        recv(60n, b),
        recv(70n, { ...a }), // equal contents in another object: the same connection
        runq(80n, 2, 3, 2n),
        conn(EventKind.SockClose, 90n, -1, b), // no fd: not indexed by fd
        conn(EventKind.SockClose, 95n, 8, b),
        recv(99n, a, 0n), // no bytes: not indexed
      ],
      PROXY_PORT,
    );
    expect([...index.runqByThread.keys()]).toEqual(['2:3', '1:1']);
    expect(index.runqByThread.get('2:3')?.map((e) => e.tsNs)).toEqual([10n, 80n]);
    expect([...index.runqByPid.keys()]).toEqual([2, 1]);
    expect(index.maxRunqDelayNs).toBe(9n);
    expect([...index.fileOpensByFd.keys()]).toEqual(['4:12']);
    expect(index.acceptsByFd.get('9:8')?.map((e) => e.tsNs)).toEqual([50n]);
    expect([...index.closesByFd.entries()].map(([k, l]) => [k, l.map((e) => e.tsNs)])).toEqual([['9:8', [95n]]]);
    expect([...index.untaggedSockByKey.keys()]).toEqual([tupleKey(a), tupleKey(b)]);
    expect(index.table.eventsAt(index.untaggedSockByKey.get(tupleKey(a)) ?? []).map((e) => e.tsNs)).toEqual([20n, 70n]);
    expect([...index.proxyConnKeyByPeer.entries()]).toEqual([[proxyPeerKey(PROXY_PORT, '127.0.0.1', 40000), tupleKey(a)]]);
    expect(index.table.eventsAt(index.untaggedRecvByPidOnPort.get(7) ?? []).map((e) => e.tsNs)).toEqual([20n, 70n]);
  });

  it('orders simultaneous events by compareEvents whatever the input order', () => {
    const t = tuple(3000, 40001);
    const events = [recv(100n, t, 30n), recv(100n, t, 20n), runq(100n, 1, 1, 1n), recv(50n, t, 10n)];
    const index = indexCapture(events, PROXY_PORT);
    const list = index.table.eventsAt(index.untaggedSockByKey.get(tupleKey(t)) ?? []);
    expect(list).toEqual([...events].sort(compareEvents).filter((e) => e.kind === EventKind.SockRecv));
    expect(events.map((e) => e.tsNs)).toEqual([100n, 100n, 100n, 50n]); // input untouched
  });

  it('indexes a decoded capture the same from time order as from any order', () => {
    const generated = labLikeEvents(20_000);
    const { events } = decodeEvents(Buffer.concat(generated.map((e) => encodeEvent(e))));
    const inOrder = [...events].sort(compareEvents);
    const fromOrdered = indexCapture(inOrder, PROXY_PORT);
    expect(entries(indexCapture(shuffled(events), PROXY_PORT))).toEqual(entries(fromOrdered));
    expect(fromOrdered.byRequest.size).toBeGreaterThan(100);
    expect(fromOrdered.untaggedSockByKey.size).toBeGreaterThan(5);
    expect(fromOrdered.runqByThread.size).toBeGreaterThan(1);
  });

  it('indexes a decoded capture on its table exactly as on the same events as plain objects, in any order', () => {
    const { table } = decodeTable(Buffer.concat(labLikeEvents(20_000, 5).map((e) => encodeEvent(e))));
    const events = [...table];
    const onTable = indexCapture(table, PROXY_PORT);
    expect(onTable.table).toBe(table);
    expect(entries(indexCapture([...events], PROXY_PORT))).toEqual(entries(onTable));
    expect(entries(indexCapture(shuffled(events), PROXY_PORT))).toEqual(entries(onTable));
    expect(onTable.byRequest.size).toBeGreaterThan(100);
    expect(onTable.untaggedSockByKey.size).toBeGreaterThan(5);
  });
});

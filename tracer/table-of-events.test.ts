import { describe, expect, it } from 'vitest';
import { labLikeEvents } from './lab-like-events.ts';
import { encodeEvent } from './encode-event.ts';
import { decodeTable } from './event-table-builder.ts';
import { EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { tableOfEvents } from './table-of-events.ts';

describe('tableOfEvents', () => {
  it('hands back the very objects it was made from, row for row', () => {
    const events = labLikeEvents(300, 2);
    const table = tableOfEvents(events);
    expect(table.length).toBe(events.length);
    events.forEach((e, row) => expect(table.event(row)).toBe(e));
  });

  it('is a table itself when given one: a decoded capture is not rebuilt', () => {
    const { table } = decodeTable(Buffer.concat(labLikeEvents(100, 4).map((e) => encodeEvent(e))));
    expect(tableOfEvents(table)).toBe(table);
  });

  it('gives equal tuples in separate objects one connection, and kinds without a tuple none', () => {
    const t = (): Tuple => ({ localAddress: '127.0.0.1', localPort: 18081, remoteAddress: '127.0.0.1', remotePort: 40000, family: 'ipv4' });
    const recv = (tsNs: bigint, tuple: Tuple): TraceEvent => ({ tsNs, requestId: '', pid: 1, tid: 1, fd: 3, kind: EventKind.SockRecv, durationNs: 5n, bytes: 7n, arrivalNs: 0n, syscallNr: 0, syscalls: 1, tuple });
    const table = tableOfEvents([recv(10n, t()), recv(20n, t()), { tsNs: 30n, requestId: '', pid: 1, tid: 1, fd: -1, kind: EventKind.RunqDelay, delayNs: 4n }]);
    expect([...table.conn]).toEqual([0, 0, -1]);
    expect([...table.bytes]).toEqual([7, 7, 0]);
    expect([...table.lead]).toEqual([5, 5, 4]);
  });
});

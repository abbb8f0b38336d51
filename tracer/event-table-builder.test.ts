import { describe, expect, it } from 'vitest';
import { labLikeEvents } from './lab-like-events.ts';
import { seededRandom } from '../lab/seeded-random.ts';
import { encodeEvent } from './encode-event.ts';
import type { EventColumns } from './event-table.ts';
import { decodeTable, EventTableBuilder } from './event-table-builder.ts';
import { EventKind, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { eventStartNs } from './kind-rules.ts';
import { tableOfEvents } from './table-of-events.ts';
import { tupleKey } from './tuple-key.ts';

const encode = (events: readonly TraceEvent[]): Buffer => Buffer.concat(events.map((e) => encodeEvent(e)));
const generated = labLikeEvents(6000, 7);
const input = encode(generated);

/** Every column as a plain array, for comparing two tables. */
function columns(c: EventColumns) {
  const { length, baseNs, requestIds, tuples, connKeys, kind, ts, lead, pid, tid, fd, request, conn, bytes } = c;
  const plain = { kind, ts, lead, pid, tid, fd, request, conn, bytes };
  return { length, baseNs, requestIds, tuples, connKeys, ...Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, [...v]])) };
}

describe('decodeTable', () => {
  it('holds in its columns what each decoded event says', () => {
    const { table, warnings } = decodeTable(input);
    expect(warnings).toEqual([]);
    expect(table.length).toBe(generated.length);
    generated.forEach((e, row) => {
      expect(table.kind[row]).toBe(e.kind);
      expect(table.baseNs + BigInt(table.ts[row]!)).toBe(e.tsNs);
      expect(table.baseNs + BigInt(table.ts[row]! - table.lead[row]!)).toBe(eventStartNs(e));
      expect([table.pid[row], table.tid[row], table.fd[row]]).toEqual([e.pid, e.tid, e.fd]);
      const r = table.request[row]!;
      expect(r < 0 ? '' : table.requestIds[r]).toBe(e.requestId);
      const c = table.conn[row]!;
      if ('tuple' in e) {
        expect(table.tuples[c]).toEqual(e.tuple);
        expect(table.connKeys[c]).toBe(tupleKey(e.tuple));
      } else expect(c).toBe(-1);
      expect(table.bytes[row]).toBe('bytes' in e ? Number(e.bytes) : 0);
      expect(table.event(row)).toEqual(e);
    });
    expect(new Set(table.requestIds).size).toBe(table.requestIds.length);
    expect(new Set(table.connKeys).size).toBe(table.connKeys.length);
  });

  it('gives the columns that tableOfEvents builds from the same events as objects', () => {
    expect(columns(tableOfEvents(generated))).toEqual(columns(decodeTable(input).table));
  });

  it('builds the same table from seeded random chunk splits as from the whole input', () => {
    const whole = decodeTable(input).table;
    const rand = seededRandom(3);
    const builder = new EventTableBuilder();
    let carry = Buffer.alloc(0);
    for (let at = 0; at < input.length; ) {
      const next = Math.min(input.length, at + 1 + Math.floor(rand() * 4000));
      const r = builder.append(Buffer.concat([carry, input.subarray(at, next)]), at - carry.length);
      expect(r.warnings).toEqual([]);
      carry = Buffer.from(r.remainder);
      at = next;
    }
    expect(carry.length).toBe(0);
    const chunked = builder.finish();
    expect(columns(chunked)).toEqual(columns(whole));
    expect([...chunked]).toEqual(generated);
  });

  it('interns one connection for a tuple sent as IPv4 and as IPv4-mapped IPv6 bytes', () => {
    const t: Tuple = { localAddress: '127.0.0.1', localPort: 40112, remoteAddress: '127.0.0.1', remotePort: 23102, family: 'ipv4' };
    const send = (tsNs: bigint): TraceEvent => ({ tsNs, requestId: '', pid: 1, tid: 1, fd: 5, kind: EventKind.SockSend, durationNs: 1n, bytes: 3n, arrivalNs: 0n, syscallNr: 1, syscalls: 1, tuple: t });
    const mapped = encodeEvent(send(2n));
    mapped.writeUInt16LE(10, 72 + 36); // AF_INET6 socket carrying mapped addresses
    const { table } = decodeTable(Buffer.concat([encodeEvent(send(1n)), mapped]));
    expect([...table.conn]).toEqual([0, 0]);
    expect(table.tuples).toEqual([t]);
  });

  it('gives back socket and file I/O durations and byte counts of any size, failed calls too', () => {
    const t: Tuple = { localAddress: '127.0.0.1', localPort: 1, remoteAddress: '127.0.0.1', remotePort: 2, family: 'ipv4' };
    const sizes: [bigint, bigint][] = [
      [0n, 0n],
      [7n, -104n],
      [2n ** 53n - 1n, -(2n ** 53n)],
      [2n ** 53n, 2n ** 53n],
      [2n ** 64n - 1n, -1n],
      [2n ** 63n, -(2n ** 63n)],
    ];
    const events: TraceEvent[] = sizes.flatMap(([durationNs, bytes], i): TraceEvent[] => [
      { tsNs: BigInt(2 * i + 1), requestId: '', pid: 1, tid: 1, fd: 5, kind: EventKind.SockRecv, durationNs, bytes, arrivalNs: 3n, syscallNr: 45, syscalls: 2, tuple: t },
      { tsNs: BigInt(2 * i + 2), requestId: '', pid: 1, tid: 1, fd: 6, kind: EventKind.FileRead, durationNs, bytes, inode: 9n, syscallNr: 0 },
    ]);
    expect([...decodeTable(encode(events)).table]).toEqual(events);
  });

  it('keeps more distinct request ids and 4-tuples than its caches hold, each one right', () => {
    const rand = seededRandom(42);
    const hex = (): string => Array.from({ length: 4 }, () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')).join('');
    const ids = Array.from({ length: 3000 }, hex);
    const events: TraceEvent[] = Array.from({ length: 9000 }, (_, i) => ({
      tsNs: BigInt(i),
      requestId: ids[(i * 7) % ids.length]!,
      pid: 3,
      tid: 3,
      fd: 4,
      kind: EventKind.SockRecv,
      durationNs: 1n,
      bytes: 1n,
      arrivalNs: 0n,
      syscallNr: 0,
      syscalls: 1,
      tuple: { localAddress: '127.0.0.1', localPort: 1 + (i % 2500), remoteAddress: '127.0.0.1', remotePort: 9, family: 'ipv4' },
    }));
    const { table } = decodeTable(encode(events));
    expect(table.requestIds.length).toBe(3000);
    expect(table.tuples.length).toBe(2500);
    expect([...table]).toEqual(events);
  });

  it('reports what it skipped as decodeEvents does, and keeps the rows around it', () => {
    const unknown = encodeEvent(generated[0]!);
    unknown.writeUInt16LE(99, 32);
    const { table, warnings } = decodeTable(Buffer.concat([encodeEvent(generated[1]!), unknown, encodeEvent(generated[2]!)]));
    expect(warnings).toEqual([`1 record(s) of unknown kind 99 skipped (first at byte ${encodeEvent(generated[1]!).length})`]);
    expect([...table]).toEqual([generated[1], generated[2]]);
  });
});

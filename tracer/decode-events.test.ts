import { describe, expect, it } from 'vitest';
import { decodeEvents, truncatedTailWarning } from './decode-events.ts';
import { encodeEvent } from './encode-event.ts';
import { ConnSide, EventKind, NO_SYSCALL, OffcpuState, PgPhase, type EventHeader, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { seededRandom as seeded } from '../lab/seeded-random.ts';

const ID = '0123456789abcdef0123456789abcdef';

function head(tsNs: bigint, fd = 7, requestId = ID): EventHeader {
  return { tsNs, requestId, pid: 4242, tid: 4243, fd };
}

const appToPg: Tuple = { localAddress: '127.0.0.1', localPort: 40112, remoteAddress: '127.0.0.1', remotePort: 23102, family: 'ipv4' };
const v6: Tuple = { localAddress: '::1', localPort: 23101, remoteAddress: 'fe80::1:2:0:3', remotePort: 51000, family: 'ipv6' };

/** One event of every kind, in time order. */
const everyKind: TraceEvent[] = [
  { ...head(1_000n), kind: EventKind.RequestStart, method: 'GET', path: '/api/users/42' },
  { ...head(2_000n), kind: EventKind.SockRecv, durationNs: 1500n, bytes: 211n, arrivalNs: 900n, syscallNr: 0, syscalls: 1, tuple: v6 },
  { ...head(3_000n, 12), kind: EventKind.DbQueryStart, query: `/*traceparent='00-${ID}-01'*/ SELECT * FROM users WHERE id = $1` },
  { ...head(3_500n, 12), kind: EventKind.SockSend, durationNs: 800n, bytes: -11n, arrivalNs: 0n, syscallNr: 1, syscalls: 1, tuple: appToPg },
  { ...head(4_000n, 12), kind: EventKind.DbQueryEnd, durationUs: 1n, rows: 1n },
  { ...head(4_100n, -1), kind: EventKind.CacheMiss, key: 'user:42' },
  { ...head(4_200n, -1), kind: EventKind.CacheHit, key: 'user:42' },
  { ...head(5_000n, 20), kind: EventKind.FileOpen, path: '/tmp/lab/config.json' },
  { ...head(5_500n, 20), kind: EventKind.FileRead, durationNs: 2000n, bytes: 4096n, inode: 123456789n, syscallNr: 17 },
  { ...head(5_600n, 20), kind: EventKind.FileWrite, durationNs: 2100n, bytes: 12n, inode: 123456789n, syscallNr: 18 },
  { ...head(5_700n, 20), kind: EventKind.FileClose },
  { ...head(6_000n), kind: EventKind.RequestEnd, status: 200, durationUs: 5n },
  { ...head(6_100n, 9, ''), kind: EventKind.SockAccept, durationNs: 10n, ret: 9n, tuple: appToPg },
  { ...head(6_200n, 9, ''), kind: EventKind.SockConnect, durationNs: 10n, ret: -115n, tuple: appToPg },
  { ...head(6_300n, 9, ''), kind: EventKind.SockClose, durationNs: 10n, ret: 0n, tuple: appToPg },
  { ...head(6_400n, -1, ''), kind: EventKind.TcpRetransmit, state: 1, tuple: appToPg },
  { ...head(6_500n, -1, ''), kind: EventKind.RunqDelay, delayNs: 55_000n },
  { ...head(6_600n, -1, ''), kind: EventKind.ProcFork, childPid: 5000, comm: 'postgres' },
  { ...head(6_700n, -1, ''), kind: EventKind.ProcExit, childPid: 0, comm: 'postgres' },
  { ...head(6_800n, -1, ''), kind: EventKind.PgPhase, phase: PgPhase.Execute, durationNs: 12_000n, detail0: 0n, detail1: 0n },
  { ...head(6_900n, 12), kind: EventKind.PoolWait, waitNs: 41_000_000n, poolSize: 10, busy: 10, waiting: 3, newConnection: false },
  { ...head(7_000n, -1, ''), kind: EventKind.ConnSetup, synNs: 6_950n, side: ConnSide.Server, rttUs: 31, retransmits: 1, error: 0, tuple: v6 },
  { ...head(7_050n, -1, ''), kind: EventKind.ConnSetup, synNs: 0n, side: ConnSide.Client, rttUs: 0, retransmits: 0, error: -111, tuple: appToPg },
  { ...head(7_100n, 9, ''), kind: EventKind.ConnAccept, durationNs: 0n, ret: 9n, tuple: v6 },
  { ...head(7_200n, -1, ''), kind: EventKind.MajorFault, durationNs: 2_500_000n, errorCode: 4 },
  { ...head(7_300n, -1, ''), kind: EventKind.BlockIo, durationNs: 900_000n, queuedNs: 10_000n, sector: 123_456_789_012n, bytes: 8192, dev: (8 << 20) | 16, op: 1, error: 0 },
  { ...head(7_400n, -1, ''), kind: EventKind.Offcpu, durationNs: 3_000_000n, syscallNr: 202, state: OffcpuState.Sleep, futexAddr: 0x7f00_1234_5678n },
  { ...head(7_450n, -1, ''), kind: EventKind.Offcpu, durationNs: 700_000n, syscallNr: NO_SYSCALL, state: OffcpuState.Iowait, futexAddr: 0n },
  { ...head(7_500n, 20), kind: EventKind.SlowSyscall, durationNs: 12_000_000n, ret: 0n, syscallNr: 75 },
  { ...head(7_600n, -1, ''), kind: EventKind.DirectReclaim, durationNs: 4_000_000n, reclaimed: 32n },
  { ...head(7_700n, -1, ''), kind: EventKind.NetXmit, queuedNs: 7_650n, len: 1514, ifindex: 4, rc: 0, tuple: appToPg },
];


const stream = Buffer.concat(everyKind.map((e) => encodeEvent(e)));

function unknownRecord(kind: number, size: number): Buffer {
  const buf = encodeEvent(everyKind[0]!).subarray(0, size);
  const out = Buffer.alloc(size);
  buf.copy(out);
  out.writeUInt16LE(kind, 32);
  out.writeUInt16LE(size, 34);
  return out;
}

describe('decodeEvents', () => {
  it('decodes one record of every kind', () => {
    expect(decodeEvents(stream)).toEqual({ events: everyKind, warnings: [], remainder: Buffer.alloc(0), corrupt: false });
  });

  it('gives the same events whatever byte the stream is split at', () => {
    for (let cut = 0; cut <= stream.length; cut += 7) {
      const first = decodeEvents(stream.subarray(0, cut));
      const second = decodeEvents([first.remainder, stream.subarray(cut)]);
      expect([...first.events, ...second.events]).toEqual(everyKind);
      expect(second.remainder.length).toBe(0);
    }
  });

  it('gives the same events and warnings for seeded random chunk splits as for the whole input', () => {
    const rand = seeded(0x5eed);
    const records: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const pick = Math.floor(rand() * (everyKind.length + 1));
      // One pick in every everyKind.length + 1 is a record of a kind this build does not know.
      records.push(pick === everyKind.length ? unknownRecord(99, 48 + 8 * Math.floor(rand() * 4)) : encodeEvent({ ...everyKind[pick]!, tsNs: BigInt(i) } as TraceEvent));
    }
    const input = Buffer.concat(records);
    const whole = decodeEvents(input);
    expect(whole.events.length).toBeGreaterThan(800);
    const unknownCount = (warnings: string[]): number => warnings.reduce((n, w) => n + Number(/^(\d+) record\(s\) of unknown kind 99/.exec(w)?.[1] ?? 0), 0);

    for (let round = 0; round < 8; round++) {
      const events: TraceEvent[] = [];
      const warnings: string[] = [];
      let remainder: Buffer = Buffer.alloc(0);
      let at = 0;
      while (at < input.length) {
        const next = Math.min(input.length, at + 1 + Math.floor(rand() * (round % 2 ? 64 : 4000)));
        const r = decodeEvents([remainder, input.subarray(at, next)], { streamOffset: at - remainder.length, into: events });
        expect(r.events).toBe(events);
        warnings.push(...r.warnings);
        remainder = r.remainder;
        at = next;
      }
      expect(remainder.length).toBe(0);
      expect(events).toEqual(whole.events);
      expect(unknownCount(warnings)).toBe(unknownCount(whole.warnings));
    }
  });

  it('decodes more distinct request ids and 4-tuples than its caches hold, each one right', () => {
    const rand = seeded(42);
    const hex = (): string => Array.from({ length: 4 }, () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')).join('');
    const events: TraceEvent[] = Array.from({ length: 5000 }, (_, i) => ({
      ...head(BigInt(i), 3, hex()),
      kind: EventKind.SockSend,
      durationNs: 1n,
      bytes: BigInt(i),
      arrivalNs: 0n,
      syscallNr: 1,
      syscalls: 1,
      tuple: { ...appToPg, localPort: 1 + Math.floor(rand() * 65535), remotePort: 1 + (i % 3000) },
    }));
    // Twice: the second pass reads through warm caches.
    const input = Buffer.concat(events.map((e) => encodeEvent(e)));
    expect(decodeEvents(input).events).toEqual(events);
    expect(decodeEvents(input).events).toEqual(events);
  });

  it('hands back a truncated tail as the remainder, and warns about it at the end', () => {
    const cut = stream.length - 30;
    const { events, remainder, warnings } = decodeEvents(stream.subarray(0, cut));
    expect(events).toEqual(everyKind.slice(0, -1));
    expect(warnings).toEqual([]);
    const last = encodeEvent(everyKind.at(-1)!).length;
    expect(remainder.length).toBe(last - 30);
    expect(truncatedTailWarning(remainder, cut - remainder.length)).toBe(
      `truncated record at byte ${cut - remainder.length}: ${last - 30} bytes of a ${last}-byte record at the end of the stream; skipped`,
    );
    expect(truncatedTailWarning(Buffer.alloc(0), 0)).toBeNull();
  });

  it('skips unknown kinds by their size field, with one warning per kind', () => {
    const input = Buffer.concat([unknownRecord(99, 48), encodeEvent(everyKind[0]!), unknownRecord(99, 64), unknownRecord(77, 40)]);
    const { events, warnings } = decodeEvents(input, { streamOffset: 1000 });
    expect(events).toEqual([everyKind[0]]);
    expect(warnings).toEqual([
      '2 record(s) of unknown kind 99 skipped (first at byte 1000)',
      `1 record(s) of unknown kind 77 skipped (first at byte ${1000 + 48 + 168 + 64})`,
    ]);
  });

  it('skips a known kind whose record is shorter than its struct', () => {
    const short = encodeEvent(everyKind[0]!).subarray(0, 100);
    short.writeUInt16LE(100, 34);
    const { events, warnings } = decodeEvents(Buffer.concat([short, encodeEvent(everyKind[1]!)]));
    expect(events).toEqual([everyKind[1]]);
    expect(warnings).toEqual(['record of kind 1 at byte 0 is 100 bytes, shorter than its 168; skipped']);
  });

  it('decodes a longer record (fields appended by a newer loader) by its known prefix', () => {
    const end: TraceEvent = { ...everyKind[11]!, runDelayNs: 7n } as TraceEvent;
    const longer = Buffer.concat([encodeEvent(end), Buffer.alloc(16, 0xee)]);
    longer.writeUInt16LE(longer.length, 34);
    const { events, warnings } = decodeEvents(Buffer.concat([longer, encodeEvent(everyKind[0]!)]));
    expect(events).toEqual([end, everyKind[0]]);
    expect(warnings).toEqual([]);
  });

  it('reads the thread run delays of schema 3, and schema 2\'s shorter records without them', () => {
    const grown: TraceEvent[] = [
      { ...everyKind[0]!, runDelayNs: 1_000n } as TraceEvent,
      { ...everyKind[2]!, runDelayNs: 2_000n } as TraceEvent,
      { ...everyKind[4]!, runDelayNs: 3_000n } as TraceEvent,
      { ...everyKind[11]!, runDelayNs: 4_000n } as TraceEvent,
      { ...everyKind[19]!, runDelayStartNs: 4_500n, runDelayNs: 5_000n } as TraceEvent,
    ];
    const newer = grown.map((e) => encodeEvent(e));
    expect(newer.map((b) => b.length)).toEqual([176, 304, 64, 64, 88]);
    expect(decodeEvents(Buffer.concat(newer)).events).toEqual(grown);
    const older = [0, 2, 4, 11, 19].map((i) => encodeEvent(everyKind[i]!));
    expect(older.map((b) => b.length)).toEqual([168, 296, 56, 56, 72]);
    const decoded = decodeEvents(Buffer.concat(older));
    expect(decoded.warnings).toEqual([]);
    expect(decoded.events.map((e) => ('runDelayNs' in e ? e.runDelayNs : null))).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('skips the record with an impossible size field and reads on at the next valid one', () => {
    const bad = encodeEvent(everyKind[4]!, 12);
    const { events, warnings, remainder, corrupt } = decodeEvents(Buffer.concat([encodeEvent(everyKind[0]!), bad, stream]));
    expect(events).toEqual([everyKind[0], ...everyKind]);
    expect(corrupt).toBe(true);
    expect(remainder.length).toBe(0);
    expect(warnings).toEqual(['damaged region at bytes 168..224 (56 bytes; its size field read 12) skipped: read on at the next valid record']);
  });

  it('reads IPv4-mapped IPv6 tuples as IPv4, so both ends of a connection compare equal', () => {
    const rec = encodeEvent({ ...everyKind[1]!, tuple: appToPg } as TraceEvent);
    rec.writeUInt16LE(10, 72 + 36); // AF_INET6 socket carrying mapped addresses
    const [e] = decodeEvents(rec).events;
    expect(e).toMatchObject({ tuple: appToPg });
  });

  it('stops at a C string NUL and keeps a field that fills its whole width', () => {
    const path = 'p'.repeat(119);
    const [e] = decodeEvents(encodeEvent({ ...head(1n), kind: EventKind.RequestStart, method: 'OPTIONS', path })).events;
    expect(e).toMatchObject({ method: 'OPTIONS', path });
  });
});

import { describe, expect, it } from 'vitest';
import { labLikeEvents } from './lab-like-events.ts';
import { seededRandom } from '../lab/seeded-random.ts';
import { encodeEvent } from './encode-event.ts';
import { decodeTable, EventTableBuilder } from './event-table-builder.ts';
import type { TraceEvent } from '../shared/event-types.ts';
import { findRecordStart } from './find-record-start.ts';

const events = labLikeEvents(3000, 11);
const records = events.map((e) => encodeEvent(e));
const input = Buffer.concat(records);
/** Stream offset of each record. */
const starts: number[] = [];
records.forEach((_, i) => starts.push(i === 0 ? 0 : starts[i - 1]! + records[i - 1]!.length));
/** The index of the record that holds stream byte `byte`. */
const recordAt = (byte: number): number => starts.filter((s) => s <= byte).length - 1;

/** Decodes `bytes` in seeded random chunks as read-capture does (remainder carried to the next chunk). */
function decodeChunked(bytes: Buffer, seed: number): { events: TraceEvent[]; warnings: string[]; damage: EventTableBuilder['damage']; carry: number } {
  const rand = seededRandom(seed);
  const builder = new EventTableBuilder();
  const warnings: string[] = [];
  let carry = Buffer.alloc(0);
  for (let at = 0; at < bytes.length; ) {
    const next = Math.min(bytes.length, at + 1 + Math.floor(rand() * 3000));
    const r = builder.append(Buffer.concat([carry, bytes.subarray(at, next)]), at - carry.length);
    warnings.push(...r.warnings);
    carry = Buffer.from(r.remainder);
    at = next;
  }
  return { events: [...builder.finish()], warnings, damage: builder.damage, carry: carry.length };
}

describe('reading on after damage', () => {
  it('loses only the record whose size field reads 0 (at byte 864)', () => {
    const damaged = Buffer.from(input);
    const hit = recordAt(864);
    damaged.writeUInt16LE(0, starts[hit]! + 34);
    const { table, warnings, corrupt } = decodeTable(damaged);
    expect(corrupt).toBe(true);
    expect([...table]).toEqual(events.filter((_, i) => i !== hit));
    expect(warnings).toEqual([
      `damaged region at bytes ${starts[hit]}..${starts[hit + 1]} (${records[hit]!.length} bytes; its size field read 0) skipped: read on at the next valid record`,
    ]);
  });

  it('reads every record after a region of seeded random bytes, whatever the chunk splits', () => {
    const rand = seededRandom(99);
    const damaged = Buffer.from(input);
    const from = starts[500]! + 13;
    const to = starts[540]! + 50;
    for (let i = from; i < to; i++) damaged[i] = Math.floor(rand() * 256);
    const kept = events.filter((_, i) => i < 500 || i > 540);
    const whole = decodeTable(damaged);
    // The records inside the region are gone; no record outside it is lost or invented.
    expect([...whole.table]).toEqual(kept);
    for (const seed of [1, 2, 3]) {
      const chunked = decodeChunked(damaged, seed);
      expect(chunked.events).toEqual(kept);
      expect(chunked.damage).toMatchObject({ regions: 1, bytes: starts[541]! - starts[500]!, openSince: null });
      expect(chunked.carry).toBe(0);
    }
  });

  it('reads on after bytes inserted into the stream (framing off by 3)', () => {
    const damaged = Buffer.concat([input.subarray(0, starts[100]!), Buffer.from([0xff, 0xff, 0xff]), input.subarray(starts[100]!)]);
    const { table } = decodeTable(damaged);
    expect([...table]).toEqual(events);
  });

  it('finds the first record when the file starts with zeros', () => {
    const damaged = Buffer.concat([Buffer.alloc(1000), input]);
    const { table, warnings } = decodeTable(damaged);
    expect([...table]).toEqual(events);
    expect(warnings).toEqual(['damaged region at bytes 0..1000 (1000 bytes; its size field read 0) skipped: read on at the next valid record']);
  });

  it('reports a region that runs to the end of the input as still open', () => {
    const damaged = Buffer.concat([input.subarray(0, starts[10]!), Buffer.alloc(500)]);
    const builder = new EventTableBuilder();
    const r = builder.append(damaged);
    expect(builder.length).toBe(10);
    expect(builder.damage).toEqual({ regions: 0, bytes: 0, openSince: starts[10], skippedRecords: 0 });
    expect(r.remainder.length).toBeLessThan(40);
  });
});

describe('findRecordStart', () => {
  const dv = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

  it('does not take a record whose time is far from the last good one', () => {
    const far = encodeEvent({ ...events[1]!, tsNs: events[0]!.tsNs + 3_600_000_000_000n } as TraceEvent);
    const b = Buffer.concat([far, records[2]!]);
    const base = events[0]!.tsNs;
    const hi = Number(base >> 32n);
    const lo = Number(base & 0xffffffffn);
    expect(findRecordStart(dv(b), 0, 0, hi, lo)).toEqual({ found: true, at: far.length });
  });

  it('asks for more bytes when a candidate is cut off', () => {
    const b = Buffer.concat([Buffer.alloc(8), records[0]!.subarray(0, 60)]);
    expect(findRecordStart(dv(b), 0, Number.NaN, 0, 0)).toEqual({ found: false, at: 8 });
  });
});

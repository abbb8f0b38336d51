import { describe, expect, it } from 'vitest';
import { labLikeEvents } from './lab-like-events.ts';
import { encodeEvent } from './encode-event.ts';
import { decodeTable } from './event-table-builder.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { EVENT_LAYOUT, KIND_STRUCT } from '../shared/event-layout.ts';
import { eventStartNs, KIND_RULES } from './kind-rules.ts';

const header = { tsNs: 10_000n, requestId: '', pid: 1, tid: 1, fd: 4 };

describe('eventStartNs', () => {
  it('subtracts a duration, a scaled one, or a sum of two; a negative one counts 0', () => {
    expect(eventStartNs({ ...header, kind: EventKind.RunqDelay, delayNs: 300n })).toBe(9_700n);
    expect(eventStartNs({ ...header, kind: EventKind.RequestEnd, status: 200, durationUs: 4n })).toBe(6_000n);
    expect(eventStartNs({ ...header, kind: EventKind.BlockIo, durationNs: 100n, queuedNs: 50n } as TraceEvent)).toBe(9_850n);
    expect(eventStartNs({ ...header, kind: EventKind.PoolWait, waitNs: -5n } as TraceEvent)).toBe(10_000n);
  });

  it('takes an absolute start when it lies in (0, end], else the event is an instant', () => {
    const setup = (synNs: bigint) => ({ ...header, kind: EventKind.ConnSetup, synNs }) as TraceEvent;
    expect(eventStartNs(setup(9_000n))).toBe(9_000n);
    expect(eventStartNs(setup(0n))).toBe(10_000n);
    expect(eventStartNs(setup(10_001n))).toBe(10_000n);
  });

  it('makes kinds without a rule instants', () => {
    expect(eventStartNs({ ...header, kind: EventKind.CacheHit, key: 'k' })).toBe(10_000n);
  });

  it('agrees with the decoder on every row of lab-like records', () => {
    const events = labLikeEvents(3000, 11);
    const { table } = decodeTable(Buffer.concat(events.map((e) => encodeEvent(e))));
    events.forEach((e, row) => expect(table.baseNs + BigInt(table.ts[row]! - table.lead[row]!)).toBe(eventStartNs(e)));
  });
});

describe('KIND_RULES', () => {
  it("names fields at offsets inside each kind's struct", () => {
    for (const [kind, rule] of Object.entries(KIND_RULES)) {
      const struct = EVENT_LAYOUT[KIND_STRUCT[Number(kind) as EventKind]];
      const offsets = Object.values(struct.fields).map(([at]) => at);
      const start = rule.start;
      const fields = start === undefined ? [] : 'since' in start ? [start.since] : start.lasted;
      for (const f of [...fields, ...(rule.bytes ? [rule.bytes] : [])]) expect(offsets, `kind ${kind} ${f.name}`).toContain(f.at);
      if (rule.tuple !== undefined) expect((struct.fields as Record<string, readonly [number, number]>).tuple?.[0], `kind ${kind} tuple`).toBe(rule.tuple);
    }
  });
});

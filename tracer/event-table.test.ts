import { describe, expect, it } from 'vitest';
import { labLikeEvents } from './lab-like-events.ts';
import { encodeEvent } from './encode-event.ts';
import { decodeTable } from './event-table-builder.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { eventStartNs } from './kind-rules.ts';
import { tableOfEvents } from './table-of-events.ts';

const generated = labLikeEvents(600, 3);
const decode = () => decodeTable(Buffer.concat(generated.map((e) => encodeEvent(e)))).table;
const table = decode();
const isEnd = (e: TraceEvent): e is Extract<TraceEvent, { kind: typeof EventKind.RequestEnd }> => e.kind === EventKind.RequestEnd;

describe('EventTable', () => {
  it("reads each row's end, start, 4-tuple and arrival as its event has them, decoded or not", () => {
    for (const t of [table, tableOfEvents(generated)]) {
      for (let row = 0; row < generated.length; row++) {
        const e = generated[row]!;
        expect(t.tsNsOf(row)).toBe(e.tsNs);
        expect(t.startNsOf(row)).toBe(eventStartNs(e));
        expect(t.tupleOf(row)).toEqual((e as { tuple?: unknown }).tuple);
        expect(t.arrivalNsOf(row)).toBe((e as { arrivalNs?: bigint }).arrivalNs ?? 0n);
      }
    }
  });

  it('gives each row as a new event object, equal to the one encoded, until read as a list', () => {
    const fresh = decode();
    expect(fresh.length).toBe(generated.length);
    expect(fresh.event(5)).toEqual(generated[5]);
    expect(fresh.event(5)).not.toBe(fresh.event(5));
    const listed = [...fresh];
    expect([...fresh][5]).toBe(listed[5]);
    expect(fresh.event(5)).toBe(listed[5]);
    expect(fresh.filter((e) => e.tsNs === listed[7]!.tsNs)).toContain(listed[7]);
    expect(() => table.event(table.length)).toThrow(RangeError);
    expect(() => table.event(-1)).toThrow(RangeError);
  });

  it('iterates, filters, finds and maps its rows as events in row order', () => {
    expect([...table]).toEqual(generated);
    expect(table.filter(isEnd)).toEqual(generated.filter(isEnd));
    expect(table.find((e) => e.kind === EventKind.SockSend)).toEqual(generated.find((e) => e.kind === EventKind.SockSend));
    expect(table.find(() => false)).toBeUndefined();
    expect(table.map((e) => e.tsNs)).toEqual(generated.map((e) => e.tsNs));
  });

  it('picks rows by kind, and builds only those rows', () => {
    const kinds = new Set<number>([EventKind.RequestStart, EventKind.RunqDelay]);
    const rows = table.rowsOfKinds(kinds);
    expect(rows).toEqual(generated.flatMap((e, i) => (kinds.has(e.kind) ? [i] : [])));
    expect(table.eventsOfKinds(kinds)).toEqual(rows.map((r) => generated[r]));
    expect(table.eventsAt([3, 1])).toEqual([generated[3], generated[1]]);
  });

  it('reads a row’s request id and end time off its columns', () => {
    generated.slice(0, 50).forEach((e, row) => {
      expect(table.requestIdOf(row)).toBe(e.requestId);
      expect(table.tsNsOf(row)).toBe(e.tsNs);
    });
  });
});

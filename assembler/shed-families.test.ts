import { describe, expect, it } from 'vitest';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { shedFamilies, shedNotes } from './shed-families.ts';

const shed = (family: string, tsNs: bigint): TraceEvent => ({ kind: EventKind.TracerShed, tsNs, requestId: '', pid: 9, tid: 9, fd: -1, family, familyPct: 1.5, totalPct: 4, budgetPct: 3 });

describe('shedFamilies', () => {
  it('reads the shed records in time order and ignores the rest', () => {
    const events: TraceEvent[] = [shed('sched', 2_000n), { kind: EventKind.FileClose, tsNs: 1n, requestId: '', pid: 1, tid: 1, fd: 3 }, shed('postgres', 1_000n)];
    expect(shedFamilies(events)).toEqual([
      { family: 'postgres', atNs: 1_000n, budgetPct: 3 },
      { family: 'sched', atNs: 2_000n, budgetPct: 3 },
    ]);
  });
});

describe('shedNotes', () => {
  const sheds = [
    { family: 'postgres', atNs: 1_000_000n, budgetPct: 3 },
    { family: 'sched', atNs: 5_000_000n, budgetPct: 3 },
  ];
  it('says nothing for a trace over before the first shed', () => {
    expect(shedNotes(sheds, 0n, 900_000n)).toEqual({ families: [], warnings: [] });
  });
  it('names each family gone before the trace ended, and whether it went before or during it', () => {
    expect(shedNotes(sheds, 2_000_000n, 6_000_000n)).toEqual({
      families: ['postgres', 'sched'],
      warnings: [
        'the postgres family was shed by the 3% CPU budget before this request: no PostgreSQL phases (parse, plan, execute, lock waits, disk reads)',
        'the sched family was shed by the 3% CPU budget 3.0 ms into it: no runqueue waits from then on',
      ],
    });
  });
});

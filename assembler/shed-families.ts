/**
 * Families the loader's overhead guard detached during a capture (`lab trace --cpu-budget`):
 * from a shed on, a family recorded nothing, so every trace reaching past it says what it lacks
 * rather than looking complete. Pure.
 */
import { EventKind, type EventOf, type TraceEvent } from '../shared/event-types.ts';

export interface ShedFamily {
  readonly family: string;
  readonly atNs: bigint;
  readonly budgetPct: number;
}

/** What a trace lacks once a family is gone. */
const MISSING: Readonly<Record<string, string>> = {
  sockets: 'no socket I/O: request read, response send and the DB round trips seen by the kernel, network spans; nginx estimated from its log',
  sched: 'no runqueue waits',
  postgres: 'no PostgreSQL phases (parse, plan, execute, lock waits, disk reads)',
  tcp: 'no TCP retransmits',
  files: "no file reads and writes inside the file spans",
};

/** The sheds recorded in a capture's events, in time order. */
export function shedFamilies(events: readonly TraceEvent[]): ShedFamily[] {
  return events
    .filter((e): e is EventOf<typeof EventKind.TracerShed> => e.kind === EventKind.TracerShed)
    .map((e) => ({ family: e.family, atNs: e.tsNs, budgetPct: e.budgetPct }))
    .sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
}

/** For a trace ending at `endNs`: the families gone before it ended, and one warning each. */
export function shedNotes(sheds: readonly ShedFamily[], startNs: bigint, endNs: bigint): { families: string[]; warnings: string[] } {
  const gone = sheds.filter((s) => s.atNs < endNs);
  return {
    families: gone.map((s) => s.family),
    warnings: gone.map((s) => {
      const when = s.atNs <= startNs ? 'before this request' : `${((Number(s.atNs - startNs)) / 1e6).toFixed(1)} ms into it`;
      return `the ${s.family} family was shed by the ${s.budgetPct}% CPU budget ${when}: ${MISSING[s.family] ?? 'nothing of it'}${s.atNs <= startNs ? '' : ' from then on'}`;
    }),
  };
}

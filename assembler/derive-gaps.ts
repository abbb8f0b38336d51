/**
 * The app's time between the things the probes saw is named by where it falls:
 *
 *   app  |read|--handler setup--|DB q1|--business logic--|file|--response serialization--|send|
 *
 * before the first operation: handler setup; between operations: business logic; after the
 * last one and before the response write: response serialization. With no operation at all the
 * whole stretch is the handler. A wait (for a pool connection) takes its time out of the gap it
 * falls in without changing how the time around it is named.
 */

import { sortStably } from './sort-stably.ts';

export type OccupiedRole = 'read' | 'op' | 'wait' | 'send';

export interface Occupied {
  readonly role: OccupiedRole;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

export interface Gap {
  readonly name: 'handler setup' | 'business logic' | 'response serialization' | 'handler' | 'response finish';
  readonly startNs: bigint;
  readonly endNs: bigint;
}

const byStart = (a: Occupied, b: Occupied): number => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0);

/** Gaps of at least `minGapNs` in [startNs, endNs] not covered by `occupied` (which may overlap). */
export function deriveGaps(startNs: bigint, endNs: bigint, occupied: readonly Occupied[], minGapNs = 1_000n): Gap[] {
  const blocks = sortStably(occupied.slice(), byStart);
  const hasOp = blocks.some((b) => b.role === 'op');
  const gaps: Gap[] = [];
  let cursor = startNs;
  let seenOp = false;
  let seenSend = false;
  const emit = (gapEnd: bigint, nextRole: OccupiedRole | 'end'): void => {
    if (gapEnd - cursor < minGapNs) return;
    let name: Gap['name'];
    if (seenSend) name = 'response finish';
    else if (!hasOp) name = 'handler';
    else if (!seenOp) name = 'handler setup';
    else if (nextRole === 'op') name = 'business logic';
    else name = 'response serialization';
    gaps.push({ name, startNs: cursor, endNs: gapEnd });
  };
  for (const b of blocks) {
    if (b.startNs > cursor) emit(b.startNs < endNs ? b.startNs : endNs, b.role === 'wait' ? nextNonWait(blocks, b) : b.role);
    if (b.role === 'op') seenOp = true;
    if (b.role === 'send') seenSend = true;
    if (b.endNs > cursor) cursor = b.endNs;
    if (cursor >= endNs) return gaps;
  }
  if (endNs > cursor) emit(endNs, 'end');
  return gaps;
}

/** The role of the first block after `wait` that is not a wait itself ('end' when none). */
function nextNonWait(blocks: readonly Occupied[], wait: Occupied): OccupiedRole | 'end' {
  const i = blocks.indexOf(wait);
  return blocks.slice(i + 1).find((b) => b.role !== 'wait')?.role ?? 'end';
}

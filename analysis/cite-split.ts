/**
 * What a finding that cites a span's duration adds about the kernel's view of it: the split
 * (kernel-split.ts) for --json, and the dominant cause for the sentence, e.g.
 * "…: 6.1ms of it the backend waited for a CPU".
 */
import type { Span, Trace } from '../assembler/span.ts';
import { fmtMs, type Finding } from './finding.ts';
import { describePart, dominantCause, kernelSplit } from './kernel-split.ts';
import type { Thresholds } from './thresholds.ts';

export interface CitedSplit {
  readonly fields: Pick<Finding, 'kernelSplit' | 'cause'>;
  /** The dominant cause as a clause ('' when none dominates). */
  readonly clause: string;
  readonly cause: ReturnType<typeof dominantCause>;
}

export function citeSplit(trace: Trace, span: Span, thresholds: Thresholds): CitedSplit {
  const split = kernelSplit(trace, span);
  const top = dominantCause(split, thresholds.cause.minShare, thresholds.cause.minMs);
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    fields: {
      ...(split.parts.length > 0 ? { kernelSplit: { parts: split.parts.map((p) => ({ cause: p.cause, ms: round(p.ms) })), otherMs: round(split.otherMs) } } : {}),
      ...(top ? { cause: { kind: top.cause, ms: round(top.ms) } } : {}),
    },
    clause: top ? describePart(top, fmtMs) : '',
    cause: top,
  };
}

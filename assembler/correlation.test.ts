import { describe, expect, it } from 'vitest';
import { markCorrelation, overlapCounts, sharedThreadConfidence } from './correlation.ts';
import { draftSpan } from './span-draft.ts';

describe('overlapCounts', () => {
  it('counts, for each interval, the others that share any instant with it', () => {
    //   a |----|
    //   b    |------|
    //   c             |--|
    //   d       |-------------|
    const iv = (s: number, e: number) => ({ startNs: BigInt(s), endNs: BigInt(e) });
    expect(overlapCounts([iv(0, 5), iv(3, 10), iv(12, 15), iv(7, 20)])).toEqual([1, 2, 1, 2]);
  });

  it('an interval alone overlaps nothing', () => {
    expect(overlapCounts([{ startNs: 1n, endNs: 2n }])).toEqual([0]);
  });
});

describe('correlation tags', () => {
  it('a shared thread is trusted less the more requests it served meanwhile', () => {
    expect([0, 1, 3, 9].map(sharedThreadConfidence)).toEqual([1, 0.5, 0.25, 0.1]);
  });

  it('writes the method and confidence beside the signal; exact is always 1', () => {
    const s = draftSpan('x', 'app', 0n, 1n);
    markCorrelation(s, 'kernel.runq_delay', 'thread+time', 0.25);
    markCorrelation(s, 'kernel.socket_buffer_wait', 'exact', 0.3);
    expect(s.tags).toEqual({
      'kernel.runq_delay.correlation': 'thread+time',
      'kernel.runq_delay.confidence': 0.25,
      'kernel.socket_buffer_wait.correlation': 'exact',
      'kernel.socket_buffer_wait.confidence': 1,
    });
  });
});

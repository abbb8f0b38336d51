import { describe, expect, it } from 'vitest';
import {
  clockFromMeta,
  clockToMeta,
  epochMsToMonotonic,
  monotonicToEpochMs,
  monotonicToRealtimeNs,
  sampleClock,
  sampleClockOnce,
  type ClockReader,
} from './clock.ts';

/**
 * A scripted clock: monotonic advances `stepNs` per read; the wall clock is monotonic + offset,
 * reported in whole ms like Date.now().
 */
function scriptedClock(offsetNs: bigint, stepNs: bigint, startNs = 5_000_000_123n): ClockReader & { reads: number } {
  let mono = startNs;
  const c = {
    reads: 0,
    monotonicNs(): bigint {
      mono += stepNs;
      c.reads++;
      return mono;
    },
    realtimeMs(): number {
      mono += stepNs;
      return Number((mono + offsetNs) / 1_000_000n);
    },
  };
  return c;
}

describe('sampleClockOnce', () => {
  it('pairs the clocks at the wall tick, to within the read spacing', () => {
    const offset = 1_700_000_000_000_000_000n + 345_678n;
    const c = scriptedClock(offset, 40n);
    const p = sampleClockOnce(c);
    const err = p.realtimeNs - (p.monotonicNs + offset);
    expect(err < 0n ? -err : err).toBeLessThanOrEqual(p.uncertaintyNs);
    expect(p.uncertaintyNs).toBeLessThanOrEqual(200n);
    expect(p.realtimeNs % 1_000_000n).toBe(0n);
  });

  it('falls back to a bracketed read when the wall clock never ticks', () => {
    const frozen: ClockReader = {
      monotonicNs: (() => {
        let t = 0n;
        return () => (t += 100_000n);
      })(),
      realtimeMs: () => 1_700_000_000_000,
    };
    const p = sampleClockOnce(frozen, 1_000_000n);
    expect(p.realtimeNs).toBe(1_700_000_000_000_500_000n);
    expect(p.uncertaintyNs).toBeGreaterThanOrEqual(500_000n);
  });
});

describe('sampleClock on this machine', () => {
  it('maps monotonic now to Date.now() within a millisecond, with a sub-millisecond bound', () => {
    const pair = sampleClock();
    expect(pair.uncertaintyNs).toBeLessThan(500_000n);
    const before = Date.now();
    const mapped = monotonicToEpochMs(pair, process.hrtime.bigint());
    const after = Date.now();
    expect(mapped).toBeGreaterThanOrEqual(before - 1);
    expect(mapped).toBeLessThanOrEqual(after + 1);
  });
});

describe('mapping', () => {
  const pair = { monotonicNs: 1_000_000_000n, realtimeNs: 1_700_000_000_000_000_000n };
  it('maps monotonic ns to wall ns and ms, and back', () => {
    expect(monotonicToRealtimeNs(pair, 1_000_001_500n)).toBe(1_700_000_000_000_001_500n);
    expect(monotonicToEpochMs(pair, 1_002_500_000n)).toBe(1_700_000_000_002.5);
    expect(epochMsToMonotonic(pair, 1_700_000_000_002.5)).toBe(1_002_500_000n);
  });
  it('round-trips through meta.json strings', () => {
    const c = { ...pair, uncertaintyNs: 70n };
    expect(clockFromMeta(clockToMeta(c))).toEqual(c);
    expect(clockFromMeta({ monotonicNs: '1', realtimeNs: '2' }).uncertaintyNs).toBe(0n);
    expect(() => clockFromMeta({ monotonicNs: '1.5', realtimeNs: '2' })).toThrow(/clock\.monotonicNs/);
  });
});

/**
 * The pairing of the two clocks a capture needs: event times are CLOCK_MONOTONIC nanoseconds
 * (bpf_ktime_get_ns; process.hrtime.bigint() reads the same clock on Linux), client and nginx
 * times are wall clock. One tight sample of both maps one onto the other.
 */

/** Both clocks read at (nearly) one instant, nanoseconds. */
export interface ClockPair {
  readonly monotonicNs: bigint;
  readonly realtimeNs: bigint;
  /** Half-width of the window in which the pairing was taken: the mapping's error bound. */
  readonly uncertaintyNs: bigint;
}

/** Where the clocks are read from; injected so the sampling logic is testable. */
export interface ClockReader {
  /** CLOCK_MONOTONIC, ns. */
  monotonicNs(): bigint;
  /** CLOCK_REALTIME in whole milliseconds (Date.now()). */
  realtimeMs(): number;
}

export const systemClock: ClockReader = {
  monotonicNs: () => process.hrtime.bigint(),
  realtimeMs: () => Date.now(),
};

const MS = 1_000_000n;

/**
 * One pairing. Date.now() only has millisecond resolution, so a plain read pairs the clocks to
 * within 1 ms. Instead, spin until Date.now() ticks over: the tick is the instant the wall clock
 * was exactly `w` ms, and it lies between the monotonic reads around the last old and first new
 * value:
 *
 *   mono:   m[k-2]      m[k-1]      m[k]
 *   wall:         w-1         w-1?|w      w      (edge somewhere in (m[k-2], m[k]))
 *
 * Gives up after `maxSpinNs` (a frozen or coarse clock) and falls back to one bracketed read.
 */
export function sampleClockOnce(reader: ClockReader = systemClock, maxSpinNs = 3n * MS): ClockPair {
  const start = reader.monotonicNs();
  const w0 = reader.realtimeMs();
  let prev = reader.monotonicNs();
  let prevPrev = start;
  for (;;) {
    const w = reader.realtimeMs();
    const now = reader.monotonicNs();
    if (w !== w0) {
      return {
        monotonicNs: (prevPrev + now) / 2n,
        realtimeNs: BigInt(w) * MS,
        uncertaintyNs: (now - prevPrev + 1n) / 2n,
      };
    }
    if (now - start > maxSpinNs) {
      // No tick seen: the wall clock is somewhere within [w0, w0 + 1 ms) over the whole window.
      return {
        monotonicNs: (start + now) / 2n,
        realtimeNs: BigInt(w0) * MS + MS / 2n,
        uncertaintyNs: (now - start) / 2n + MS / 2n,
      };
    }
    prevPrev = prev;
    prev = now;
  }
}

/** Takes `samples` pairings and keeps the tightest. */
export function sampleClock(reader: ClockReader = systemClock, samples = 5): ClockPair {
  let best = sampleClockOnce(reader);
  for (let i = 1; i < samples; i++) {
    const s = sampleClockOnce(reader);
    if (s.uncertaintyNs < best.uncertaintyNs) best = s;
  }
  return best;
}

/** Maps a CLOCK_MONOTONIC time (ns) to wall-clock ns since the epoch. */
export function monotonicToRealtimeNs(clock: Pick<ClockPair, 'monotonicNs' | 'realtimeNs'>, tsNs: bigint): bigint {
  return tsNs - clock.monotonicNs + clock.realtimeNs;
}

/** Maps a CLOCK_MONOTONIC time (ns) to fractional ms since the epoch (ClientObservation's unit). */
export function monotonicToEpochMs(clock: Pick<ClockPair, 'monotonicNs' | 'realtimeNs'>, tsNs: bigint): number {
  const ns = monotonicToRealtimeNs(clock, tsNs);
  return Number(ns / 1000n) / 1000;
}

/** Maps wall-clock ms since the epoch (fractional) to CLOCK_MONOTONIC ns. */
export function epochMsToMonotonic(clock: Pick<ClockPair, 'monotonicNs' | 'realtimeNs'>, epochMs: number): bigint {
  return BigInt(Math.round(epochMs * 1000)) * 1000n - clock.realtimeNs + clock.monotonicNs;
}

/** The clock pair as meta.json stores it (decimal strings: ns values exceed 2^53). */
export function clockToMeta(c: ClockPair): { monotonicNs: string; realtimeNs: string; uncertaintyNs: string } {
  return { monotonicNs: c.monotonicNs.toString(), realtimeNs: c.realtimeNs.toString(), uncertaintyNs: c.uncertaintyNs.toString() };
}

/** Reads meta.json's clock back; throws a one-line error on non-decimal strings. */
export function clockFromMeta(m: { monotonicNs: string; realtimeNs: string; uncertaintyNs?: string }): ClockPair {
  const big = (name: string, v: unknown): bigint => {
    if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new Error(`meta.json clock.${name} is not a decimal string`);
    return BigInt(v);
  };
  return {
    monotonicNs: big('monotonicNs', m.monotonicNs),
    realtimeNs: big('realtimeNs', m.realtimeNs),
    uncertaintyNs: m.uncertaintyNs === undefined ? 0n : big('uncertaintyNs', m.uncertaintyNs),
  };
}

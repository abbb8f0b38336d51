/**
 * Every knob the detectors use, with its default, in one place. A detector fires only when the
 * observation is over the baseline by a relative margin AND by an absolute minimum, so the
 * noise of a fast, steady endpoint (p99 0.4ms, observed 0.7ms) never fires.
 */

export interface Thresholds {
  readonly slowSpan: {
    /** Fire when duration > p99 × (1 + margin) … */
    readonly p99Margin: number;
    /** … and duration − p99 ≥ this, ms. */
    readonly minExcessMs: number;
    /** Span types seen fewer times than this on the route have no trustworthy p99: skipped. */
    readonly minSamples: number;
  };
  readonly slowRequest: {
    readonly p99Margin: number;
    readonly minExcessMs: number;
    readonly minSamples: number;
    /** Name the components whose excess over p50 adds up to this share of the gap … */
    readonly explainShare: number;
    /** … but at most this many. */
    readonly maxCauses: number;
  };
  readonly nPlusOne: {
    /** Fire when the query count ≥ median × ratio … */
    readonly ratio: number;
    /** … and ≥ median + this … */
    readonly minExtraQueries: number;
    /** … and one statement ran at least this many times more than its p90. */
    readonly minRepeats: number;
  };
  readonly socketWait: {
    /** A span's wait must be ≥ this, ms … */
    readonly minMs: number;
    /** … and over the route's per-request p99 × (1 + margin). */
    readonly p99Margin: number;
  };
  readonly retransmit: {
    /** Below this excess over p50 (ms) a retransmit is reported as info: no visible delay. */
    readonly minExcessMs: number;
  };
  readonly runqDelay: { readonly minMs: number; readonly p99Margin: number };
  readonly lockWait: { readonly minMs: number; readonly p99Margin: number };
  readonly diskRead: { readonly minMs: number; readonly p99Margin: number };
  readonly severity: {
    /** A finding is critical when its excess is at least this multiple of the route's p99. */
    readonly criticalP99Multiple: number;
  };
  /** Kernel waits on a route without a baseline fire when at least minMs, or requestShare of the request and shareMinMs. */
  readonly absolute: { readonly minMs: number; readonly requestShare: number; readonly shareMinMs: number };
  readonly poolWait: { readonly minMs: number; readonly p99Margin: number };
  /** The request waited this long in the accept queue (its bytes readable, its connection not yet accepted). */
  readonly requestQueuing: { readonly minMs: number };
  /** A new connection's handshake (client SYN → established) took at least this long. */
  readonly slowConnection: { readonly minMs: number };
  /** A finding's sentence names the kernel cause of the time it cites when that part is at least this share and this long. */
  readonly cause: { readonly minShare: number; readonly minMs: number };
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  slowSpan: { p99Margin: 0.5, minExcessMs: 5, minSamples: 20 },
  slowRequest: { p99Margin: 0.2, minExcessMs: 5, minSamples: 20, explainShare: 0.8, maxCauses: 3 },
  nPlusOne: { ratio: 2, minExtraQueries: 5, minRepeats: 5 },
  socketWait: { minMs: 5, p99Margin: 0.5 },
  retransmit: { minExcessMs: 1 },
  runqDelay: { minMs: 5, p99Margin: 0.5 },
  lockWait: { minMs: 2, p99Margin: 0.5 },
  diskRead: { minMs: 5, p99Margin: 0.5 },
  severity: { criticalP99Multiple: 1 },
  absolute: { minMs: 50, requestShare: 0.25, shareMinMs: 5 },
  poolWait: { minMs: 5, p99Margin: 0.5 },
  requestQueuing: { minMs: 5 },
  slowConnection: { minMs: 10 },
  cause: { minShare: 0.2, minMs: 1 },
};

type Range = readonly [min: number, max: number, integer?: boolean];

const RANGES: { readonly [G in keyof Thresholds]: { readonly [K in keyof Thresholds[G]]: Range } } = {
  slowSpan: { p99Margin: [0, 100], minExcessMs: [0, 3_600_000], minSamples: [1, 1_000_000, true] },
  slowRequest: { p99Margin: [0, 100], minExcessMs: [0, 3_600_000], minSamples: [1, 1_000_000, true], explainShare: [0.01, 1], maxCauses: [1, 20, true] },
  nPlusOne: { ratio: [1, 1000], minExtraQueries: [1, 100_000, true], minRepeats: [2, 100_000, true] },
  socketWait: { minMs: [0, 3_600_000], p99Margin: [0, 100] },
  retransmit: { minExcessMs: [0, 3_600_000] },
  runqDelay: { minMs: [0, 3_600_000], p99Margin: [0, 100] },
  lockWait: { minMs: [0, 3_600_000], p99Margin: [0, 100] },
  diskRead: { minMs: [0, 3_600_000], p99Margin: [0, 100] },
  severity: { criticalP99Multiple: [0.01, 1000] },
  absolute: { minMs: [0, 3_600_000], requestShare: [0.01, 1], shareMinMs: [0, 3_600_000] },
  poolWait: { minMs: [0, 3_600_000], p99Margin: [0, 100] },
  requestQueuing: { minMs: [0, 3_600_000] },
  slowConnection: { minMs: [0, 3_600_000] },
  cause: { minShare: [0, 1], minMs: [0, 3_600_000] },
};

export type ThresholdOverrides = { readonly [G in keyof Thresholds]?: Partial<Thresholds[G]> };

/**
 * The defaults with `overrides` applied; throws a one-line error naming the first unknown or
 * out-of-range threshold.
 */
export function resolveThresholds(overrides: ThresholdOverrides = {}): Thresholds {
  const out: Record<string, Record<string, number>> = {};
  for (const group of Object.keys(overrides)) {
    if (!(group in RANGES)) throw new Error(`unknown threshold group '${group}' (known: ${Object.keys(RANGES).join(', ')})`);
  }
  for (const [group, ranges] of Object.entries(RANGES) as [keyof Thresholds, Record<string, Range>][]) {
    const given = (overrides[group] ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(given)) {
      if (!(key in ranges)) throw new Error(`unknown threshold ${group}.${key} (known: ${Object.keys(ranges).join(', ')})`);
    }
    const merged: Record<string, number> = { ...(DEFAULT_THRESHOLDS[group] as unknown as Record<string, number>) };
    for (const [key, [min, max, integer]] of Object.entries(ranges)) {
      if (!(key in given)) continue;
      const v = given[key];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`threshold ${group}.${key} must be a number, got ${JSON.stringify(v)}`);
      if (integer && !Number.isInteger(v)) throw new Error(`threshold ${group}.${key} must be a whole number, got ${v}`);
      if (v < min || v > max) throw new Error(`threshold ${group}.${key} must be between ${min} and ${max}, got ${v}`);
      merged[key] = v;
    }
    out[group] = merged;
  }
  return out as unknown as Thresholds;
}

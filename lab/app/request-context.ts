import type { AppProbes } from './probes.ts';

/** Monotonic time source in microseconds (injected so tests can fix it). */
export interface Clock {
  nowUs(): number;
}

export const systemClock: Clock = { nowUs: () => performance.now() * 1000 };

/** What one request carries through its handlers. */
export interface RequestContext {
  /** 32 lowercase hex; also the trace id. */
  readonly requestId: string;
  readonly traceparent: string;
  /** The request's SQL comment (see shared/sql-comment.ts). */
  readonly sqlComment: string;
  readonly probes: AppProbes;
  readonly clock: Clock;
  /** Counters for the request's log line; the only mutable part. */
  readonly work: RequestWork;
}

export interface RequestWork {
  dbRoundTrips: number;
  dbUs: number;
  /** Time spent waiting for pool connections, µs. */
  poolWaitUs: number;
  fileOpens: number;
  cache: 'hit' | 'miss' | null;
}

export function newRequestWork(): RequestWork {
  return { dbRoundTrips: 0, dbUs: 0, poolWaitUs: 0, fileOpens: 0, cache: null };
}

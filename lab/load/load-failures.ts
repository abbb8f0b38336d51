import type { LoadSummary } from './run-load.ts';

/** Requests of a load that failed: no response (connection error or timeout) or a 5xx. */
export interface LoadFailures {
  readonly failed: number;
  /** Requests sent, as far as the load knows: responses plus requests that got none. */
  readonly sent: number;
  /** `502×1200, 503×30` style counts of the failed statuses (ascending). */
  readonly statuses: Readonly<Record<string, number>>;
  readonly connectionErrors: number;
  readonly timeouts: number;
}

/**
 * What failed in a load. A response with a 5xx status and a request without any response are
 * failures; a 4xx is the server answering a request it judged wrong, and the lab's mixes send
 * none, so it is counted in the summary but does not fail the load. autocannon counts timeouts
 * among its connection errors. Pure.
 */
export function loadFailures(s: Pick<LoadSummary, 'responses' | 'errors' | 'timeouts' | 'statusCounts'>): LoadFailures {
  const statuses = Object.fromEntries(
    Object.entries(s.statusCounts)
      .filter(([code]) => Number(code) >= 500)
      .sort(([a], [b]) => Number(a) - Number(b)),
  );
  const failedResponses = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    failed: failedResponses + s.errors,
    sent: s.responses + s.errors,
    statuses,
    connectionErrors: s.errors - s.timeouts,
    timeouts: s.timeouts,
  };
}

const count = (n: number): string => n.toLocaleString('en-US');

/** One sentence naming the failures, e.g. `1,230 of 40,383 requests failed (502×1,200, 503×30)`; null when none failed. Pure. */
export function formatLoadFailures(f: LoadFailures): string | null {
  if (f.failed === 0) return null;
  const parts = [
    ...Object.entries(f.statuses).map(([code, n]) => `${code}×${count(n)}`),
    ...(f.connectionErrors > 0 ? [`${count(f.connectionErrors)} connection error(s)`] : []),
    ...(f.timeouts > 0 ? [`${count(f.timeouts)} timeout(s)`] : []),
  ];
  return `${count(f.failed)} of ${count(f.sent)} requests failed (${parts.join(', ')})`;
}

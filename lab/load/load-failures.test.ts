import { describe, expect, it } from 'vitest';
import { formatLoadFailures, loadFailures } from './load-failures.ts';

describe('loadFailures', () => {
  it('counts 5xx responses and requests without a response, not 2xx or 4xx', () => {
    const f = loadFailures({ responses: 40_383, errors: 7, timeouts: 2, statusCounts: { '200': 498, '201': 53, '404': 3, '503': 30, '502': 39_799 } });
    expect(f).toEqual({ failed: 39_836, sent: 40_390, statuses: { '502': 39_799, '503': 30 }, connectionErrors: 5, timeouts: 2 });
    expect(formatLoadFailures(f)).toBe('39,836 of 40,390 requests failed (502×39,799, 503×30, 5 connection error(s), 2 timeout(s))');
  });

  it('finds nothing to report in a clean load, a 4xx included', () => {
    const f = loadFailures({ responses: 100, errors: 0, timeouts: 0, statusCounts: { '200': 99, '400': 1 } });
    expect(f.failed).toBe(0);
    expect(formatLoadFailures(f)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { parsePgDurations } from './pg-log-durations.ts';

const A = '45a72bc0c456291d63923d1e651bc607';
const B = 'e2101891a5e050adf1ebbc90560df27d';
const LOG = [
  `2026-12-06 06:16:06.966 UTC [7263] lab@reqtrace qid=-1493195736178406588 LOG:  duration: 188.072 ms  execute <unnamed>: /*request_id='${A}',traceparent='00-${A}-b8f6caaf4bb6096f-01'*/ UPDATE products SET units_sold = units_sold + $2 WHERE id = $1 RETURNING units_sold`,
  `2026-12-06 06:16:13.683 UTC [7263] lab@reqtrace qid=3077604092024260568 LOG:  duration: 217.079 ms  statement: /*request_id='${B}',traceparent='00-${B}-0a384846203368de-01'*/ COMMIT`,
  `2026-12-06 06:16:13.690 UTC [7263] lab@reqtrace qid=0 LOG:  checkpoint starting: time`,
  `2026-12-06 06:16:14.001 UTC [7300] postgres@reqtrace qid=0 LOG:  duration: 120.000 ms  statement: SELECT pg_sleep(0.12)`,
  `2026-12-06 06:16:15.000 UTC [7263] lab@reqtrace qid=1 LOG:  duration: 101.5 ms  execute <unnamed>: /*request_id='${A}',traceparent='x'*/ select 1`,
].join('\n');

describe('parsePgDurations', () => {
  it("keeps each request's logged statements: keyword and duration, nothing of the text", () => {
    const d = parsePgDurations(LOG);
    expect([...d.keys()]).toEqual([A, B]);
    expect(d.get(A)).toEqual([
      { operation: 'UPDATE', durationMs: 188.072 },
      { operation: 'SELECT', durationMs: 101.5 },
    ]);
    expect(d.get(B)).toEqual([{ operation: 'COMMIT', durationMs: 217.079 }]);
  });

  it('ignores statements without a request id and other lines', () => {
    expect(parsePgDurations('LOG:  duration: 5.0 ms  statement: COMMIT\nnot a log line\n').size).toBe(0);
  });
});

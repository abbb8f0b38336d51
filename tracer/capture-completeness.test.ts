import { describe, expect, it } from 'vitest';
import { captureCompleteness, completenessWarnings, formatIncomplete, unfinishedCompleteness, type CompletenessFacts } from './capture-completeness.ts';

const clean: CompletenessFacts = {
  interruptedBy: null,
  loader: { summarySeen: true, exitCode: 0, signal: null, stop: 'signal', killedOnRequest: false },
  tiersGone: [],
  failedRequests: { count: 0, text: '' },
  loadError: null,
  drops: { ringbuf: 0, malformed: 0 },
  skipped: [],
};

describe('captureCompleteness', () => {
  it('finds nothing missing in a clean trace', () => {
    expect(captureCompleteness(clean)).toEqual({ complete: true, missing: [] });
    expect(formatIncomplete(captureCompleteness(clean))).toBeNull();
  });

  it('names a loader killed without its summary', () => {
    const c = captureCompleteness({ ...clean, loader: { summarySeen: false, exitCode: null, signal: 'SIGKILL', stop: null, killedOnRequest: false }, drops: null });
    expect(formatIncomplete(c)).toBe('the capture is incomplete: the loader was killed by SIGKILL without its summary: events stop early and losses are unknown');
    expect(c.missing.map((g) => g.kind)).toEqual(['loader-died']);
  });

  it('names the app that died and the requests that failed', () => {
    const c = captureCompleteness({ ...clean, tiersGone: [{ tier: 'app', pid: 412 }], failedRequests: { count: 2582, text: '2,582 of 3,000 requests failed (502×2,582)' } });
    expect(formatIncomplete(c)).toBe('the capture is incomplete: the app (pid 412) died during the trace; 2,582 of 3,000 requests failed (502×2,582)');
    expect(c.missing).toEqual([
      { kind: 'tier-died', message: 'the app (pid 412) died during the trace' },
      { kind: 'failed-requests', message: '2,582 of 3,000 requests failed (502×2,582)', count: 2582 },
    ]);
  });

  it('counts drops by counter, an early stop, an interrupt and skipped snapshots', () => {
    const c = captureCompleteness({
      ...clean,
      interruptedBy: 'SIGINT',
      loader: { summarySeen: true, exitCode: 0, signal: null, stop: 'app-exit', killedOnRequest: false },
      drops: { ringbuf: 12, bind_full: 3, malformed: 0 },
      skipped: ['pg-stat-statements.json', 'ss.txt'],
    });
    expect(c.missing.map((g) => g.message)).toEqual([
      'lab trace was interrupted (SIGINT): events end early',
      'the loader stopped early (app-exit): events end before the load did',
      '15 record(s) were lost (ringbuf=12 bind_full=3)',
      'pg-stat-statements.json and ss.txt not written (second interrupt)',
    ]);
  });

  it('does not blame a loader killed on a second interrupt after its summary', () => {
    const c = captureCompleteness({ ...clean, interruptedBy: 'SIGINT', loader: { summarySeen: true, exitCode: null, signal: 'SIGKILL', stop: 'signal', killedOnRequest: true } });
    expect(c.missing.map((g) => g.kind)).toEqual(['interrupted']);
  });
});

describe('completenessWarnings', () => {
  it('gives one warning per gap but drops (reported from the counters), and nothing for a complete or odd value', () => {
    const c = captureCompleteness({ ...clean, tiersGone: [{ tier: 'postgres', pid: 9 }], drops: { ringbuf: 1 } });
    expect(completenessWarnings(c)).toEqual(['capture incomplete: PostgreSQL (pid 9) died during the trace']);
    expect(completenessWarnings(unfinishedCompleteness('the capture did not finish'))).toEqual(['capture incomplete: the capture did not finish']);
    expect(completenessWarnings({ complete: true, missing: [] })).toEqual([]);
    expect(completenessWarnings('garbage')).toEqual([]);
    expect(completenessWarnings({ complete: false, missing: [5, { message: 7 }] })).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { detectPoolWait } from './detect-pool-wait.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';
import { buildBaseline } from './build-baseline.ts';
import { DEFAULT_THRESHOLDS } from './thresholds.ts';

describe('detectPoolWait', { timeout: 30_000 }, () => {
  it('pool-exhaustion: the request that found every connection busy, with the pool full named', () => {
    const found = runDetector(detectPoolWait, namedScenario('pool-exhaustion'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.pool]);
    expect(found[0]?.message).toBe(
      'This request waited 60.0ms for a PostgreSQL pool connection (all 10 connections were busy and 5 request(s) queued ahead: the pool is too small for this concurrency)',
    );
  });

  it('fires without a baseline for the route when the wait is large in absolute terms', () => {
    const s = namedScenario('pool-exhaustion');
    const empty = buildBaseline([], 'empty');
    const found = s.traces.flatMap((t) => detectPoolWait(t, empty, DEFAULT_THRESHOLDS));
    expect(found.map((f) => [f.requestId, f.withoutBaseline])).toEqual([[ANOMALY.pool, true]]);
    expect(found[0]?.message).toMatch(/\(no baseline for the route: judged by its absolute cost\)$/);
  });

  it('stays silent on a normal population', () => {
    expect(runDetector(detectPoolWait, normalWithBaseline().scenario)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { detectLockWait } from './detect-lock-wait.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';

describe('detectLockWait', { timeout: 30_000 }, () => {
  it('lock-wait-order-update: names the statement and the lock mode', () => {
    const found = runDetector(detectLockWait, namedScenario('lock-wait-order-update'));
    expect(found.map((f) => [f.requestId, f.route])).toEqual([[ANOMALY.lock, 'POST /api/orders']]);
    expect(found[0]?.message).toMatch(/^DB query \(UPDATE … inventory\) waited 45\.0ms for a lock inside PostgreSQL \(ExclusiveLock\) \(p99 is 0\.\d+ms\)$/);
  });

  it('lock-wait-unknown-route: a 597 ms row-lock wait on a route the baseline never saw is still found, by its absolute cost', () => {
    const found = runDetector(detectLockWait, namedScenario('lock-wait-unknown-route'));
    expect(found.map((f) => [f.requestId, f.route, f.withoutBaseline])).toEqual([[ANOMALY.unknownRouteLock, 'POST /api/restock', true]]);
    expect(found[0]?.message).toBe(
      'DB query (UPDATE … inventory) waited 597.0ms for a lock inside PostgreSQL (ExclusiveLock) (no baseline for the route: judged by its absolute cost)',
    );
  });

  it('stays silent on a normal population (whose orders sometimes wait < 0.2ms)', () => {
    const { scenario, baseline } = normalWithBaseline();
    expect(Object.keys(baseline.routes['POST /api/orders']?.spanTypes ?? {}).some((k) => k.endsWith('lock wait'))).toBe(true);
    expect(runDetector(detectLockWait, scenario)).toEqual([]);
  });
});

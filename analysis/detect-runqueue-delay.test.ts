import { describe, expect, it } from 'vitest';
import { detectRunqueueDelay } from './detect-runqueue-delay.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';

describe('detectRunqueueDelay', { timeout: 30_000 }, () => {
  it('runqueue-starved-app: reports the app thread waiting 12ms for a CPU', () => {
    const found = runDetector(detectRunqueueDelay, namedScenario('runqueue-starved-app'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.runq]);
    expect(found[0]?.message).toMatch(/^The app thread waited 12\.0ms for a CPU while the request was in flight \(2 run-queue delays; p99 is 0\.\d+ms\)$/);
    expect(found[0]?.observedMs).toBe(12);
  });

  it('stays silent on a normal population (which has sub-millisecond run-queue noise)', () => {
    const { scenario, baseline } = normalWithBaseline();
    expect(baseline.routes['GET /api/users']?.runqDelayMs.max).toBeGreaterThan(0);
    expect(runDetector(detectRunqueueDelay, scenario)).toEqual([]);
  });
});

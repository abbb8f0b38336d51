import { describe, expect, it } from 'vitest';
import { detectRunqueueDelay } from './detect-runqueue-delay.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture, fixtureId } from '../assembler/fixtures/scenario-builder.ts';
import { ANOMALY, runqDelay, SQL } from './fixtures/populations.ts';

describe('detectRunqueueDelay', { timeout: 30_000 }, () => {
  it('runqueue-starved-app: reports the app thread waiting 12ms for a CPU', () => {
    const found = runDetector(detectRunqueueDelay, namedScenario('runqueue-starved-app'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.runq]);
    expect(found[0]?.message).toMatch(/^The app thread waited 12\.0ms for a CPU while the request was in flight \(2 run-queue delays; p99 is \d\.\dms for a request \d\.\d× as long in flight\)$/);
    expect(found[0]?.observedMs).toBe(12);
  });

  it('stays silent on a normal population (which has sub-millisecond run-queue noise)', () => {
    const { scenario, baseline } = normalWithBaseline();
    expect(baseline.routes['GET /api/users']?.runqDelayMs.max).toBeGreaterThan(0);
    expect(runDetector(detectRunqueueDelay, scenario)).toEqual([]);
  });

  it("judges a long request's waits against as many usual requests' worth: 10ms over 250ms in flight is the usual rate", () => {
    const id = fixtureId(0x5c4e02);
    const plan = {
      id,
      path: '/api/users',
      atUs: 0,
      steps: [
        { kind: 'query' as const, plan: { sql: SQL.usersList, executeUs: 250_000, rows: 20 } },
        { kind: 'cpu' as const, us: 1200 },
        { kind: 'query' as const, plan: { sql: SQL.usersSeen, executeUs: 2600, rows: 1 } },
      ],
    };
    const capture = buildCapture('long-request', [plan], [runqDelay(100_000, 5000), runqDelay(200_000, 5000)]);
    const traces = assembleCapture(capture).traces;
    const app = traces[0]?.spans.find((s) => s.name === 'app processing');
    expect(app?.tags['kernel.runq_delay_ns']).toBe(10_000_000);
    expect(runDetector(detectRunqueueDelay, { capture, traces, anomalous: [] })).toEqual([]);
  });
});

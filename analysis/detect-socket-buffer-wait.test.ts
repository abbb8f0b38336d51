import { describe, expect, it } from 'vitest';
import { detectSocketBufferWait } from './detect-socket-buffer-wait.ts';
import { namedScenario, normalWithBaseline } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';
import { indexCpuWork } from './cpu-work-index.ts';
import { DEFAULT_THRESHOLDS } from './thresholds.ts';

describe('detectSocketBufferWait', { timeout: 30_000 }, () => {
  const s = namedScenario('blocked-event-loop');
  const { baseline } = normalWithBaseline();
  const blocked = s.traces.find((t) => t.traceId === ANOMALY.blocked);
  if (!blocked) throw new Error('scenario lost its blocked request');

  it('blocked-event-loop: names the concurrent request whose CPU work blocked the loop', () => {
    const found = s.traces.flatMap((t) => detectSocketBufferWait(t, baseline, DEFAULT_THRESHOLDS, { cpuWork: indexCpuWork(s.traces) }));
    expect(found).toHaveLength(1);
    expect(found[0]?.requestId).toBe(ANOMALY.blocked);
    expect(found[0]?.message).toBe(
      `40.0ms was spent in the kernel socket buffer at network: nginx → app (the application was busy: event loop blocked; CPU work of concurrent requests then: GET /api/report ${ANOMALY.blocker.slice(0, 8)} (business logic, 40.0ms))`,
    );
    expect(found[0]?.observedMs).toBeCloseTo(40, 1);
  });

  it('without the other traces it still fires, naming no one', () => {
    const found = detectSocketBufferWait(blocked, baseline, DEFAULT_THRESHOLDS);
    expect(found[0]?.message).toBe('40.0ms was spent in the kernel socket buffer at network: nginx → app (the application was busy: event loop blocked)');
  });

  it('stays silent on a normal population', () => {
    const n = normalWithBaseline().scenario;
    const ctx = { cpuWork: indexCpuWork(n.traces) };
    expect(n.traces.flatMap((t) => detectSocketBufferWait(t, baseline, DEFAULT_THRESHOLDS, ctx))).toEqual([]);
  });
});

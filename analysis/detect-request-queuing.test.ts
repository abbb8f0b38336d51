import { describe, expect, it } from 'vitest';
import { detectRequestQueuing } from './detect-request-queuing.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';

describe('detectRequestQueuing', { timeout: 30_000 }, () => {
  it('request-queued-in-accept-queue: the bytes waited for nginx to accept their connection', () => {
    const found = runDetector(detectRequestQueuing, namedScenario('request-queued-in-accept-queue'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.queued]);
    expect(found[0]?.observedMs).toBeCloseTo(80, 5);
    expect(found[0]?.message).toMatch(/^This request waited 80\.0ms in nginx's accept queue before nginx took its connection \(accepted 80\.1ms after the handshake; \d+% of the request\)$/);
  });

  it('stays silent on a normal population (keep-alive, no new connection)', () => {
    expect(runDetector(detectRequestQueuing, normalWithBaseline().scenario)).toEqual([]);
  });
});

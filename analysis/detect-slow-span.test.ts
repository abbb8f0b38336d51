import { describe, expect, it } from 'vitest';
import { detectSlowSpan } from './detect-slow-span.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';
import { resolveThresholds } from './thresholds.ts';

describe('detectSlowSpan', { timeout: 30_000 }, () => {
  it('retransmit-on-db-connection: the UPDATE took far over its p99', () => {
    const found = runDetector(detectSlowSpan, namedScenario('retransmit-on-db-connection'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.retransmit]);
    expect(found[0]?.message).toMatch(/^This request's DB query \(UPDATE … users\) took 202\.\dms \(p99 is 3\.\dms\)$/);
  });

  it('needs an absolute excess too: a huge minExcessMs silences it', () => {
    const found = runDetector(detectSlowSpan, namedScenario('retransmit-on-db-connection'), resolveThresholds({ slowSpan: { minExcessMs: 500 } }));
    expect(found).toEqual([]);
  });

  it('stays silent on a normal population', () => {
    expect(runDetector(detectSlowSpan, normalWithBaseline().scenario)).toEqual([]);
  });
});

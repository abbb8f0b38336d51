import { describe, expect, it } from 'vitest';
import { detectTcpRetransmit } from './detect-tcp-retransmit.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';
import { DEFAULT_THRESHOLDS } from './thresholds.ts';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { SCENARIOS } from '../assembler/fixtures/scenarios.ts';

describe('detectTcpRetransmit', { timeout: 30_000 }, () => {
  it('retransmit-on-db-connection: estimates the added time from the excess over p50', () => {
    const found = runDetector(detectTcpRetransmit, namedScenario('retransmit-on-db-connection'));
    expect(found.map((f) => [f.requestId, f.severity])).toEqual([[ANOMALY.retransmit, 'critical']]);
    expect(found[0]?.message).toMatch(/^TCP retransmission \(1 retransmit\) added ~200\.\dms to the database response \(DB query \(UPDATE … users\) took 202\.\dms, p50 is 2\.\dms\)$/);
  });

  it('a retransmit without visible delay is reported as info (kernel-findings fixture)', () => {
    const trace = assembleCapture((SCENARIOS['kernel-findings'] as () => Parameters<typeof assembleCapture>[0])()).traces[0];
    if (!trace) throw new Error('fixture has no trace');
    const found = detectTcpRetransmit(trace, normalWithBaseline().baseline, DEFAULT_THRESHOLDS);
    expect(found.map((f) => [f.kind, f.severity])).toEqual([['tcp-retransmit', 'info']]);
    expect(found[0]?.message).toMatch(/^1 TCP retransmit on the database response's connection with no visible delay/);
  });

  it('stays silent on a normal population', () => {
    expect(runDetector(detectTcpRetransmit, normalWithBaseline().scenario)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { detectSlowDiskRead } from './detect-slow-disk-read.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';

describe('detectSlowDiskRead', { timeout: 30_000 }, () => {
  it('cold-cache-users-select: sums the buffer-miss reads of the query', () => {
    const found = runDetector(detectSlowDiskRead, namedScenario('cold-cache-users-select'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.disk]);
    expect(found[0]?.message).toMatch(/^DB query \(SELECT … users\) spent 24\.0ms reading 10 pages from disk under buffer misses \(p99 is 0\.0\dms\)$/);
  });

  it('stays silent on a normal population (0 to 2 fast buffer reads per SELECT)', () => {
    expect(runDetector(detectSlowDiskRead, normalWithBaseline().scenario)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { detectNPlusOne } from './detect-n-plus-one.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';

describe('detectNPlusOne', { timeout: 30_000 }, () => {
  it('n-plus-one-feed: names the repeated statement and the normal count', () => {
    const found = runDetector(detectNPlusOne, namedScenario('n-plus-one-feed'));
    expect(found.map((f) => [f.requestId, f.kind, f.route])).toEqual([[ANOMALY.feed, 'n-plus-one', 'GET /api/feed']]);
    expect(found[0]?.message).toBe(
      'This request made 16 DB queries (normal is 4) — N+1 query problem: DB query (SELECT … items) ran 15 times (normal is 3): SELECT id, title, body FROM items WHERE id = $1',
    );
    // 15 runs where 3 are normal: 12/15 of the statement's time is excess.
    const f = found[0];
    expect(f && f.excessMs / f.observedMs).toBeCloseTo(12 / 15, 6);
  });

  it('stays silent on a normal population', () => {
    expect(runDetector(detectNPlusOne, normalWithBaseline().scenario)).toEqual([]);
  });
});

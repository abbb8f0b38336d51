import { describe, expect, it } from 'vitest';
import { detectSlowRequest } from './detect-slow-request.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';

describe('detectSlowRequest', { timeout: 30_000 }, () => {
  it('blocked-event-loop: the time went to the network span holding the socket buffer wait', () => {
    const found = runDetector(detectSlowRequest, namedScenario('blocked-event-loop'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.blocked]);
    expect(found[0]?.message).toMatch(
      /^This request took 47\.\dms \(p99 is 7\.\dms\): 40\.\dms over p50, mostly network: nginx → app \+40\.0ms \(100% of it\); in network: nginx → app, 40\.0ms of it data sat unread in a socket buffer$/,
    );
    expect(found[0]?.cause).toEqual({ kind: 'socket-buffer', ms: 39.995 });
  });

  it('n-plus-one-feed: the time went to the repeated item query', () => {
    const found = runDetector(detectSlowRequest, namedScenario('n-plus-one-feed'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.feed]);
    expect(found[0]?.message).toContain('mostly DB query (SELECT … items) +');
  });

  it('stays silent on a normal population', () => {
    expect(runDetector(detectSlowRequest, normalWithBaseline().scenario)).toEqual([]);
  });
});

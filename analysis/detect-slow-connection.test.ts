import { describe, expect, it } from 'vitest';
import { detectSlowConnection } from './detect-slow-connection.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY } from './fixtures/populations.ts';

describe('detectSlowConnection', { timeout: 30_000 }, () => {
  it('slow-handshake: a lost SYN-ACK made the handshake take a second', () => {
    const found = runDetector(detectSlowConnection, namedScenario('slow-handshake'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.handshake]);
    expect(found[0]?.message).toBe(
      "This request's connection took 1000.0ms to set up (client SYN → established, RTT 0.04ms; the SYN-ACK was retransmitted 1 time(s)) before its first byte was sent",
    );
    expect(found[0]?.severity).toBe('critical');
  });

  it('stays silent on a normal population', () => {
    expect(runDetector(detectSlowConnection, normalWithBaseline().scenario)).toEqual([]);
  });
});

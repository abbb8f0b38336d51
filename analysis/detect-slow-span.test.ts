import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture, fixtureId, type RequestPlan } from '../assembler/fixtures/scenario-builder.ts';
import { detectSlowSpan } from './detect-slow-span.ts';
import { namedScenario, normalWithBaseline, runDetector } from './fixtures/detector-harness.ts';
import { ANOMALY, SQL, type Scenario } from './fixtures/populations.ts';
import { resolveThresholds } from './thresholds.ts';

describe('detectSlowSpan', { timeout: 30_000 }, () => {
  it('retransmit-on-db-connection: the UPDATE took far over its p99', () => {
    const found = runDetector(detectSlowSpan, namedScenario('retransmit-on-db-connection'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.retransmit]);
    expect(found[0]?.message).toMatch(/^This request's DB query \(UPDATE … users\) took 202\.\dms \(p99 is 3\.\dms\)$/);
  });

  it('cpu-contended-query: a query slow because its backend waited for a CPU says so', () => {
    const found = runDetector(detectSlowSpan, namedScenario('cpu-contended-query')).filter((f) => f.message.includes('DB query (SELECT … users)'));
    expect(found.map((f) => f.requestId)).toEqual([ANOMALY.contended]);
    expect(found[0]?.message).toMatch(/^This request's DB query \(SELECT … users\) took \d+\.\dms \(p99 is \d\.\dms\): 6\.1ms of it the backend waited for a CPU, CPU contention rather than the statement$/);
    expect(found[0]?.cause).toEqual({ kind: 'runqueue', ms: 6.1 });
    expect(found[0]?.kernelSplit?.parts[0]).toEqual({ cause: 'runqueue', ms: 6.1 });
  });

  it('needs an absolute excess too: a huge minExcessMs silences it', () => {
    const found = runDetector(detectSlowSpan, namedScenario('retransmit-on-db-connection'), resolveThresholds({ slowSpan: { minExcessMs: 500 } }));
    expect(found).toEqual([]);
  });

  it('stays silent on a normal population', () => {
    expect(runDetector(detectSlowSpan, normalWithBaseline().scenario)).toEqual([]);
  });

  /** One GET /api/users whose first statement is `sql` (executing for `executeUs`), alone in its capture. */
  const oneUsersRequest = (id: string, sql: string, executeUs: number): Scenario => {
    const plan: RequestPlan = {
      id,
      path: '/api/users',
      atUs: 0,
      steps: [
        { kind: 'query', plan: { sql, executeUs, rows: 20 } },
        { kind: 'cpu', us: 1200 },
        { kind: 'query', plan: { sql: SQL.usersSeen, executeUs: 2600, rows: 1 } },
      ],
    };
    const capture = buildCapture('new-statement', [plan], []);
    return { capture, traces: assembleCapture(capture).traces, anomalous: [id] };
  };

  it("judges a statement the baseline never saw by the route's other queries of its operation and table", () => {
    const id = fixtureId(0x5e1ec7);
    const found = runDetector(detectSlowSpan, oneUsersRequest(id, 'SELECT id, name, email FROM users WHERE (SELECT pg_sleep($2)) IS NOT NULL ORDER BY id LIMIT $1', 250_000));
    expect(found.map((f) => f.requestId)).toEqual([id]);
    expect(found[0]?.message).toMatch(
      /^This request's DB query \(SELECT … users\) took 25\d\.\dms \(p99 is \d\.\dms for this route's other SELECT … users queries; this statement is new to the baseline\)$/,
    );
  });

  it('has nothing to judge a slow statement on a table the route never queried by', () => {
    expect(runDetector(detectSlowSpan, oneUsersRequest(fixtureId(0x5e1ec8), 'SELECT count(*) FROM audit_log WHERE at > $1', 250_000))).toEqual([]);
  });
});

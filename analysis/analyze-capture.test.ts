import { describe, expect, it } from 'vitest';
import { analyzeCapture } from './analyze-capture.ts';
import { buildBaseline } from './build-baseline.ts';
import { namedScenario, normalWithBaseline } from './fixtures/detector-harness.ts';
import { ANALYSIS_SCENARIOS, ANOMALY } from './fixtures/populations.ts';
import { renderAnalysis } from './render-analysis.ts';
import { DEFAULT_THRESHOLDS } from './thresholds.ts';

describe('analyzeCapture', { timeout: 60_000 }, () => {
  it('finds nothing in a normal population analyzed against itself', () => {
    const { scenario } = normalWithBaseline();
    const r = analyzeCapture(scenario.traces, buildBaseline(scenario.traces, 'normal'), DEFAULT_THRESHOLDS, { baselineIsSelf: true });
    expect(r.findings).toEqual([]);
    expect(r.routes.map((x) => [x.route, x.requests])).toEqual([
      ['GET /api/feed', 100],
      ['GET /api/users', 200],
      ['POST /api/orders', 100],
    ]);
    expect(renderAnalysis(r)).toContain('Baseline: the capture itself (normal)');
  });

  it('every scenario: findings only on the request it is named for, sorted by excess', () => {
    const { baseline } = normalWithBaseline();
    for (const [name, make] of Object.entries(ANALYSIS_SCENARIOS)) {
      const s = make();
      const r = analyzeCapture(s.traces, baseline, DEFAULT_THRESHOLDS, { baselineIsSelf: false });
      const flagged = new Set(r.findings.map((f) => f.requestId));
      // The blocking request's route (GET /api/report) is not in the normal baseline.
      expect([name, [...flagged]]).toEqual([name, s.anomalous]);
      const excess = r.findings.map((f) => f.excessMs);
      expect(excess).toEqual([...excess].sort((x, y) => y - x));
      if (name === 'blocked-event-loop') expect(r.routesWithoutBaseline).toEqual(['GET /api/report']);
    }
  });

  it('counts per kind and per route', () => {
    const s = namedScenario('lock-wait-order-update');
    const r = analyzeCapture(s.traces, normalWithBaseline().baseline, DEFAULT_THRESHOLDS, { baselineIsSelf: false });
    expect(r.countsByKind['lock-wait']).toBe(1);
    expect(r.countsByKind['slow-request']).toBe(1);
    expect(r.routes.find((x) => x.route === 'POST /api/orders')).toMatchObject({ requests: 101, requestsWithFindings: 1, slowRequests: 1 });
    const text = renderAnalysis(r);
    expect(text).toContain(`[critical] ${ANOMALY.lock} POST /api/orders lock-wait +`);
    expect(text).toContain('Findings by kind: slow-request 1, slow-span 1, lock-wait 1');
  });
});

describe('analyzeCapture with the capture as its own baseline', { timeout: 60_000 }, () => {
  const expected: Readonly<Record<string, string>> = {
    'n-plus-one-feed': 'n-plus-one',
    'blocked-event-loop': 'socket-buffer-wait',
    'retransmit-on-db-connection': 'tcp-retransmit',
    'lock-wait-order-update': 'lock-wait',
    'runqueue-starved-app': 'runqueue-delay',
    'cold-cache-users-select': 'slow-disk-read',
    'lock-wait-unknown-route': 'lock-wait',
    'pool-exhaustion': 'pool-wait',
    'cpu-contended-query': 'slow-span',
    'request-queued-in-accept-queue': 'request-queuing-delay',
    'slow-handshake': 'slow-connection-establishment',
  };
  it("still flags each scenario's request with the kind the scenario is named for", () => {
    for (const [name, make] of Object.entries(ANALYSIS_SCENARIOS)) {
      const s = make();
      const r = analyzeCapture(s.traces, buildBaseline(s.traces, name), DEFAULT_THRESHOLDS, { baselineIsSelf: true });
      const kinds = r.findings.filter((f) => s.anomalous.includes(f.requestId)).map((f) => f.kind);
      expect([name, kinds.includes(expected[name] as never)]).toEqual([name, true]);
      expect([name, r.findings.every((f) => s.anomalous.includes(f.requestId) || f.route === 'GET /api/report')]).toEqual([name, true]);
    }
  });
});

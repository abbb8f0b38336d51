import { describe, expect, it } from 'vitest';
import { assembleCapture } from './build-span-tree.ts';
import { buildCapture, fixtureId } from './fixtures/scenario-builder.ts';
import { formatValidation, validateTraces } from './validate-trace.ts';

describe('validateTraces', () => {
  const capture = buildCapture('x', [
    { id: fixtureId(1), path: '/api/users', atUs: 0, steps: [{ kind: 'query', plan: { sql: 'SELECT 1', executeUs: 800 } }] },
    { id: fixtureId(2), path: '/api/users', atUs: 9000, appFd: 31, upstreamPort: 40001, clientPort: 50001, steps: [{ kind: 'query', plan: { sql: 'SELECT 1', executeUs: 1200 } }] },
  ]);
  const { traces } = assembleCapture(capture);

  it('counts requests within tolerance per check', () => {
    const slowClient = capture.client.map((c, i) => (i === 1 ? { ...c, latencyMs: c.latencyMs + 25 } : c));
    const results = validateTraces({
      traces,
      client: slowClient,
      nginx: capture.nginx,
      pgStatStatements: { takenAt: '', resetAtStart: true, statements: [{ queryId: '1', query: 'SELECT 1', calls: 2, rows: 2, meanExecTime: 1.0, totalExecTime: 2.0 }] },
    });
    const byName = new Map(results.map((r) => [r.name, r]));
    expect(byName.get('root span vs client-observed latency')).toMatchObject({ compared: 2, within: 1, share: 0.5 });
    expect(byName.get('root span vs client-observed latency')?.worst[0]?.key).toBe(fixtureId(2));
    expect(byName.get('root span vs nginx request_time')).toMatchObject({ compared: 2, within: 2 });
    expect(byName.get('upstream spans vs nginx upstream_response_time')).toMatchObject({ compared: 2, within: 2 });
    expect(byName.get('DB processing mean vs pg_stat_statements mean_exec_time')).toMatchObject({ compared: 1, within: 1 });
    expect(formatValidation(results)).toMatch(/root span vs client-observed latency\s+1\/2\s+50\.0%/);
  });
});

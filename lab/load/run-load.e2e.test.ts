import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientObservation } from '../../shared/capture-types.ts';
import { type RunningLab, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { waitUntil } from '../lifecycle/processes.ts';
import { labPaths } from '../lifecycle/state-paths.ts';
import { parseAccessLog } from '../nginx/parse-access-log.ts';
import { runLoad, type LoadSummary } from './run-load.ts';

const BASE = testPortBase(21120);
const REQUESTS = 400;

describe('runLoad through nginx', () => {
  let lab: RunningLab;
  let summary: LoadSummary;
  let observations: ClientObservation[];

  beforeAll(async () => {
    lab = await startLab({ portBase: BASE, proxy: 'nginx' });
    const out = join(lab.config.stateDir, 'load-e2e.jsonl');
    summary = await runLoad({ url: lab.url(''), requests: REQUESTS, connections: 4, mix: 'all', latencyOut: out, seed: 3 });
    observations = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ClientObservation);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('sends the requested number and writes one observation per response', () => {
    expect(summary.errors).toBe(0);
    expect(summary.non2xx).toBe(0);
    expect(summary.responses).toBeGreaterThanOrEqual(REQUESTS);
    expect(observations).toHaveLength(summary.responses);
    expect(Object.keys(summary.byTarget).sort()).toEqual(['feed', 'healthz', 'orders', 'report', 'user', 'users']);
  });

  it('gives every request its own id, which nginx keeps and logs for that same request', async () => {
    const ids = new Set(observations.map((o) => o.requestId));
    expect(ids.size).toBe(observations.length);
    let entries = parseAccessLog('').entries;
    await waitUntil(() => {
      entries = parseAccessLog(readFileSync(labPaths(lab.config).accessLog, 'utf8')).entries;
      return observations.every((o) => entries.some((e) => e.requestId === o.requestId));
    }, 5000);
    const byId = new Map(entries.map((e) => [e.requestId, e]));
    for (const o of observations) {
      const e = byId.get(o.requestId);
      expect(e, o.requestId).toBeDefined();
      expect({ method: e?.method, uri: e?.uri, status: e?.status, clientRequestId: e?.clientRequestId }).toEqual({
        method: o.method,
        uri: o.path,
        status: o.status,
        clientRequestId: o.requestId,
      });
      // The client saw at least what nginx measured (nginx prints whole milliseconds).
      expect(o.latencyMs).toBeGreaterThanOrEqual((e?.requestTime ?? 0) * 1000 - 1);
    }
  });

  it('measures latency per response below the millisecond, with wall-clock start times', () => {
    expect(observations.some((o) => !Number.isInteger(o.latencyMs))).toBe(true);
    const now = Date.now();
    for (const o of observations) {
      expect(o.latencyMs).toBeGreaterThan(0);
      expect(o.startMs).toBeGreaterThan(now - 600_000);
      expect(o.startMs).toBeLessThanOrEqual(now);
    }
    const sorted = observations.map((o) => o.latencyMs).sort((a, b) => a - b);
    expect(summary.latencyMs.p50).toBe(sorted[Math.ceil(0.5 * sorted.length) - 1]);
  });
});

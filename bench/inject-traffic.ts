/** Sends planned requests through the proxy with the ids the harness chose, timing each one as its client. */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ClientObservation } from '../shared/capture-types.ts';
import { reduceQuery } from '../tracer/capture-privacy.ts';
import type { PlannedRequest } from './inject-plan.ts';
import type { SentRequest } from './inject-verdict.ts';

const TIMEOUT_MS = 20_000;

/** Sends `r` (X-Request-ID: r.id); resolves with its status (0: no response) and latency, never rejects. */
export function sendPlanned(baseUrl: URL, r: PlannedRequest, agent: http.Agent): Promise<SentRequest> {
  const startMs = performance.timeOrigin + performance.now();
  const t0 = process.hrtime.bigint();
  const done = (status: number): SentRequest => ({ ...r, status, latencyMs: Number(process.hrtime.bigint() - t0) / 1e6, startMs });
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: baseUrl.hostname,
        port: baseUrl.port,
        path: r.path,
        method: r.method,
        agent,
        headers: { 'X-Request-ID': r.id, ...(r.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(done(res.statusCode ?? 0)));
        res.on('error', () => resolve(done(0)));
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(done(0)));
    req.end(r.body);
  });
}

/** A request outside the plan (warm-up): a fresh id, not judged. */
export function sendUnplanned(baseUrl: URL, path: string, agent: http.Agent): Promise<SentRequest> {
  return sendPlanned(baseUrl, { id: randomBytes(16).toString('hex'), role: 'warm-up', group: 'warm-up', method: 'GET', path, phase: 'before', round: -1, offsetMs: 0 }, agent);
}

/** The capture's client.jsonl line of a sent request, its query reduced as `lab trace` reduces it. */
export function clientObservation(s: SentRequest): ClientObservation {
  return { requestId: s.id, method: s.method, path: reduceQuery(s.path).uri, status: s.status, startMs: s.startMs, latencyMs: s.latencyMs };
}

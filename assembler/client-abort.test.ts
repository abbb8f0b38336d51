import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Capture } from '../shared/capture-types.ts';
import { assembleCapture } from './build-span-tree.ts';
import { clientAbortAt } from './client-abort.ts';
import { captureFromJson } from './fixtures/capture-json.ts';
import { atNs, buildCapture } from './fixtures/scenario-builder.ts';
import { IDS } from './fixtures/scenarios.ts';
import { rootOf, type Span, type Trace } from './span.ts';

const capture: Capture = captureFromJson(readFileSync(join(import.meta.dirname, 'fixtures', 'client-abort.capture.json'), 'utf8'));
const traceOf = (c: Capture, id: string): Trace => assembleCapture(c).traces.find((x) => x.traceId === id) as Trace;
const span = (t: Trace, name: string): Span => t.spans.find((s) => s.name === name) as Span;
const ms = (s: Span): number => Number(s.endNs - s.startNs) / 1e6;

/*
 * abortDelay, µs after nginx read the request:
 *   0 ─ nginx ─ 400 app reads, handler sleeps (delay_ms) ─────────── 50,750 query ── 51,820
 *                               20,000 client gone, 20,200 app sees the close (499)
 */
describe('client-abort: a request whose client closed the connection first', () => {
  it('ends the root where the app saw the close, tags it, and lets the app span run on past it', () => {
    const t = traceOf(capture, IDS.abortDelay);
    const root = rootOf(t);
    expect(root.startNs).toBe(atNs(0));
    expect(root.endNs).toBe(atNs(20_200));
    expect(root.tags).toMatchObject({ 'http.request.aborted': true, 'http.response.status_code': 499 });
    const app = span(t, 'app processing');
    expect(app.endNs > root.endNs).toBe(true);
    expect(app.tags['app.after_client_abort_ns']).toBe(Number(app.endNs - root.endNs));
    expect(root.warnings).toEqual([
      `aborted by the client after 20.2ms (nginx 499): the app went on for ${(Number(app.endNs - root.endNs) / 1e6).toFixed(1)}ms after it (DB query 1 (SELECT), handler setup)`,
    ]);
  });

  it('keeps the true duration of a query that ran after the abort and of one the abort interrupted, clamping nothing', () => {
    const late = span(traceOf(capture, IDS.abortDelay), 'DB query 1 (SELECT)');
    expect(late.tags.after_client_abort).toBe(true);
    expect(ms(late)).toBeCloseTo(1.05, 3);
    const t = traceOf(capture, IDS.abortQuery);
    const running = span(t, 'DB query 1 (SELECT)');
    expect(ms(running)).toBeGreaterThan(300);
    expect(ms(span(t, 'execute'))).toBeCloseTo(300, 3);
    expect(ms(rootOf(t))).toBeCloseTo(50.2, 3);
    for (const tr of [t, traceOf(capture, IDS.abortDelay)]) {
      expect(tr.spans.flatMap((s) => s.warnings).filter((w) => /clamped|widened|response-side/.test(w))).toEqual([]);
    }
  });

  it('takes nginx start + request_time when the app did not see the close (it had answered already)', () => {
    const c = buildCapture('late-abort', [{ id: IDS.abortQuery, path: '/api/users', atUs: 0, steps: [] }]);
    const nginx = c.nginx.map((a) => ({ ...a, status: 499, requestTime: 0.0005 }));
    const t = traceOf({ ...c, nginx }, IDS.abortQuery);
    expect(rootOf(t).tags['http.request.aborted']).toBe(true);
    expect(rootOf(t).endNs).toBe(atNs(500));
  });

  it('leaves a request nobody aborted alone', () => {
    const c = buildCapture('plain', [{ id: IDS.users, path: '/api/users', atUs: 0, steps: [] }]);
    expect(rootOf(traceOf(c, IDS.users)).tags).not.toHaveProperty('http.request.aborted');
  });
});

describe('clientAbortAt', () => {
  it("prefers the app's 499 RequestEnd, else nginx's start and request_time, else nothing", () => {
    expect(clientAbortAt({ reqEnd: { status: 499, tsNs: 900n }, access: { status: 499, requestTime: 0.002 }, nginxStartNs: 0n })).toBe(900n);
    expect(clientAbortAt({ reqEnd: { status: 200, tsNs: 900n }, access: { status: 499, requestTime: 0.002 }, nginxStartNs: 100n })).toBe(2_000_100n);
    expect(clientAbortAt({ reqEnd: undefined, access: { status: 499, requestTime: null }, nginxStartNs: 100n })).toBeUndefined();
    expect(clientAbortAt({ reqEnd: { status: 200, tsNs: 900n }, access: { status: 200, requestTime: 0.002 }, nginxStartNs: 0n })).toBeUndefined();
  });
});

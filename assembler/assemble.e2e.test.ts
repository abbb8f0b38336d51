/**
 * Assembly end to end: a real lab (nginx, the app, PostgreSQL), the real loader with BPF via
 * `lab trace`, a load plus one request with a 100 ms pg_sleep, then `lab export --format jaeger`
 * and the assembler on the capture. Run as root. Under CI=true a missing loader build fails.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../test/lab-fixture.ts';
import { readCapture } from '../tracer/read-capture.ts';
import { assembleCapture } from './build-span-tree.ts';
import { childrenById, rootOf, type Span, type Trace } from './span.ts';
import type { JaegerDocument } from './to-jaeger-trace.ts';
import { describeBuilt, requireBuilt } from '../test/require-built.ts';

const PORT_BASE = testPortBase(27140);
const REQUESTS = 150;
const SLOW_ID = 'dbd1a7dbd1a7dbd1a7dbd1a7dbd1a700';
const out = mkdtempSync(join(tmpdir(), 'lab-assemble-e2e-'));


const durMs = (s: Span): number => Number(s.endNs - s.startNs) / 1e6;

describeBuilt('assembly of a real BPF capture', () => {
  let running: RunningLab;
  const dir = join(out, 'capture');
  let slowStatus = 0;

  beforeAll(async () => {
    requireBuilt();
    running = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-assemble-e2e-${PORT_BASE}`), usdt: 'native' });
    // The slow request goes out once the load has started, i.e. with every probe attached.
    let sent: Promise<void> | null = null;
    const r = await runLabCli(running, ['trace', '--out', dir, '--requests', String(REQUESTS), '--connections', '4', '--families', '+postgres'], { timeoutMs: 50_000, onStderr: (text) => {
      if (sent || !text.includes('load:')) return;
      sent = fetch(running.url('/api/users?db_delay_ms=100'), { headers: { 'x-request-id': SLOW_ID }, signal: AbortSignal.timeout(10_000) }).then(async (res) => {
        slowStatus = res.status;
        await res.arrayBuffer();
      });
    } });
    await sent;
    if (r.code !== 0) throw new Error(`lab trace failed: ${r.stderr.trim().split('\n').at(-1)}`);
  }, 90_000);
  afterAll(async () => {
    await running?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('assembles a trace for every request of the load, none longer than its client saw', async () => {
    const capture = await readCapture(dir);
    const { traces } = assembleCapture(capture);
    const byId = new Map(traces.map((t) => [t.traceId, t]));
    expect(capture.client).toHaveLength(REQUESTS);
    expect(capture.client.map((c) => c.requestId).filter((id) => !byId.has(id))).toEqual([]);
    // A trace longer than its client's own measurement holds another request's time.
    const tooLong = capture.client.flatMap((c) => {
      const t = byId.get(c.requestId) as Trace;
      const traced = durMs(rootOf(t));
      return traced > c.latencyMs + 0.05 ? [`${c.requestId}: traced ${traced.toFixed(3)} ms > client ${c.latencyMs.toFixed(3)} ms`] : [];
    });
    expect(tooLong).toEqual([]);
    // Every request's nginx client side was found on its own connection (access log tuple).
    const noClientRead = traces.filter((t) => t.spans.some((s) => s.warnings.some((w) => w.includes("nginx's client-side"))));
    expect(noClientRead.map((t) => t.traceId)).toEqual([]);
  });

  it('shows a 100 ms pg_sleep as a DB query and an execute phase of at least 100 ms', async () => {
    expect(slowStatus).toBe(200);
    const { traces } = assembleCapture(await readCapture(dir));
    const t = traces.find((x) => x.traceId === SLOW_ID);
    if (!t) throw new Error(`no trace for ${SLOW_ID}`);
    const kids = childrenById(t);
    const query = t.spans.find((s) => s.name.startsWith('DB query 1'));
    if (!query) throw new Error(`no DB query span in ${t.spans.map((s) => s.name).join(', ')}`);
    expect(durMs(query)).toBeGreaterThanOrEqual(100);
    const db = (kids.get(query.id) ?? []).find((s) => s.name === 'DB processing');
    if (!db) throw new Error('no DB processing span');
    const execute = t.spans.filter((s) => s.name === 'execute' && s.startNs >= db.startNs && s.endNs <= db.endNs);
    expect(Math.max(...execute.map(durMs))).toBeGreaterThanOrEqual(100);
    expect(durMs(rootOf(t))).toBeGreaterThanOrEqual(100);
  });

  it('exports Jaeger JSON that Jaeger UI upload accepts', async () => {
    const file = join(out, 'jaeger.json');
    const r = await runLabCli(running, ['export', dir, '--format', 'jaeger', '--out', file], { timeoutMs: 50_000 });
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as JaegerDocument;
    expect(Array.isArray(doc.data)).toBe(true);
    expect(doc.data.length).toBeGreaterThanOrEqual(REQUESTS + 1);
    for (const trace of doc.data) {
      expect(trace.traceID).toMatch(/^[0-9a-f]{32}$/);
      const ids = new Set(trace.spans.map((s) => s.spanID));
      expect(ids.size).toBe(trace.spans.length);
      const roots = trace.spans.filter((s) => s.references.length === 0);
      expect(roots).toHaveLength(1);
      const root = roots[0] as (typeof trace.spans)[number];
      const rootTags = new Map(root.tags.map((g) => [g.key, g.value]));
      expect(rootTags.get('request.id')).toBe(trace.traceID);
      expect(rootTags.get('http.request.method')).toMatch(/^(GET|POST)$/);
      expect(rootTags.get('url.path')).toMatch(/^\//);
      expect(rootTags.get('http.route')).toMatch(/^\//);
      expect(rootTags.get('http.response.status_code')).toEqual(expect.any(Number));
      for (const s of trace.spans) {
        expect(s.traceID).toBe(trace.traceID);
        expect(s.spanID).toMatch(/^[0-9a-f]{16}$/);
        expect(Number.isInteger(s.startTime) && Number.isInteger(s.duration) && s.duration >= 0).toBe(true);
        expect(trace.processes[s.processID]).toBeDefined();
        for (const ref of s.references) {
          expect(ref).toMatchObject({ refType: 'CHILD_OF', traceID: trace.traceID });
          expect(ids.has(ref.spanID)).toBe(true);
        }
      }
      const services = new Set(Object.values(trace.processes).map((p) => p.serviceName));
      expect(services.size).toBe(Object.keys(trace.processes).length);
      const dbSpans = trace.spans.filter((s) => s.operationName.startsWith('DB query'));
      for (const s of dbSpans) expect(s.tags.find((g) => g.key === 'db.system')?.value).toBe('postgresql');
    }
    const slow = doc.data.find((t) => t.traceID === SLOW_ID);
    expect(slow?.spans.some((s) => s.tags.some((g) => g.key === 'db.query.text' && typeof g.value === 'string' && !g.value.includes('/*')))).toBe(true);
  });
});

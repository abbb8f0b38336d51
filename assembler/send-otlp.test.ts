import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleCapture } from './build-span-tree.ts';
import { buildCapture, fixtureId } from './fixtures/scenario-builder.ts';
import { otlpTracesUrl, sendOtlp } from './send-otlp.ts';

interface OtlpJson {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[] }[];
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function collector(): Promise<{ url: string; bodies: { path: string; contentType: string; json: OtlpJson }[] }> {
  const bodies: { path: string; contentType: string; json: OtlpJson }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies })));
}

describe('sendOtlp', () => {
  const assembled = assembleCapture(
    buildCapture('x', [
      { id: fixtureId(1), path: '/api/users', atUs: 0, steps: [{ kind: 'query', plan: { sql: 'SELECT 1', executeUs: 100 } }] },
      { id: fixtureId(2), path: '/healthz', atUs: 5000, appFd: 31, upstreamPort: 40001, clientPort: 50001, steps: [] },
    ]),
  );
  const spanCount = assembled.traces.reduce((n, t) => n + t.spans.length, 0);

  it('posts every span as OTLP JSON to /v1/traces, with our trace and span ids', async () => {
    const c = await collector();
    const sent = await sendOtlp(assembled.traces, assembled.wallOffsetNs, c.url);
    expect(sent.spans).toBe(spanCount);
    expect(c.bodies).toHaveLength(1);
    const body = c.bodies[0] as (typeof c.bodies)[number];
    expect(body.path).toBe('/v1/traces');
    expect(body.contentType).toMatch(/application\/json/);
    const spans = body.json.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(spans).toHaveLength(spanCount);
    const expected = assembled.traces.flatMap((t) => t.spans.map((s) => `${t.traceId}/${s.id}/${s.parentId ?? ''}`)).sort();
    expect(spans.map((s) => `${s.traceId}/${s.spanId}/${s.parentSpanId ?? ''}`).sort()).toEqual(expected);
    const services = body.json.resourceSpans.map((r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue).sort();
    expect(services).toEqual(['app', 'kernel', 'nginx', 'postgresql']);
  });

  it('sends a stream in batches, each a request of its own, every span once', async () => {
    const c = await collector();
    const many = [...assembled.traces, ...assembled.traces, ...assembled.traces];
    let read = 0;
    const stream: Iterable<(typeof many)[number]> = {
      *[Symbol.iterator]() {
        for (const t of many) {
          read++;
          yield t;
        }
      },
    };
    const sent = await sendOtlp(stream, assembled.wallOffsetNs, c.url, 5000, 2);
    expect(read).toBe(6);
    expect(sent).toMatchObject({ spans: 3 * spanCount, traces: 6 });
    expect(c.bodies).toHaveLength(3);
    const spans = c.bodies.flatMap((b) => b.json.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    expect(spans).toHaveLength(3 * spanCount);
  });

  it('fails within seconds with a one-line reason when nothing listens', async () => {
    const c = await collector();
    const port = new URL(c.url).port;
    await new Promise((r) => (servers.pop() as Server).close(r));
    const started = Date.now();
    await expect(sendOtlp(assembled.traces, assembled.wallOffsetNs, `http://127.0.0.1:${port}`, 2000)).rejects.toThrow(/OTLP export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces (failed|timed out)/);
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('rejects a collector that accepts the connection but never answers, after the timeout', async () => {
    const server = createServer(() => {
      /* never responds */
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    server.closeAllConnections();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const started = Date.now();
    const done = sendOtlp(assembled.traces, assembled.wallOffsetNs, url, 1000);
    await expect(done).rejects.toThrow(/OTLP export/);
    server.closeAllConnections();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('builds the traces URL from a base endpoint and refuses non-HTTP ones', () => {
    expect(otlpTracesUrl('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(otlpTracesUrl('http://127.0.0.1:4318/v1/traces')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(() => otlpTracesUrl('grpc://x')).toThrow(/http/);
    expect(() => otlpTracesUrl('nope')).toThrow(/not a URL/);
  });
});

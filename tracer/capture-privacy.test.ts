import { describe, expect, it } from 'vitest';
import type { ProxyAccessEntry } from '../lab/nginx/parse-access-log.ts';
import { captureAccessEntry, reduceQuery } from './capture-privacy.ts';

const entry = (uri: string, clientRequestId: string | null): ProxyAccessEntry => ({
  requestId: '0123456789abcdef0123456789abcdef',
  timeIso: '2026-12-02T12:00:00+00:00',
  method: 'GET',
  uri,
  status: 200,
  requestTime: 0.002,
  upstreamConnectTime: 0,
  upstreamHeaderTime: 0.001,
  upstreamResponseTime: 0.001,
  upstreamAddr: '127.0.0.1:19081',
  connection: 3,
  connectionRequests: 1,
  remoteAddr: '127.0.0.1',
  remotePort: 40000,
  serverPort: 19080,
  clientRequestId,
  msec: 1796216480797,
});

describe('reduceQuery', () => {
  it("keeps the lab's knobs with whole-number values and drops everything else, counted", () => {
    expect(reduceQuery('/api/feed?items=10&token=s3cret&db_delay_ms=200&email=a%40b.c')).toEqual({ uri: '/api/feed?items=10&db_delay_ms=200', dropped: 2 });
    expect(reduceQuery('/api/users?session=abc')).toEqual({ uri: '/api/users', dropped: 1 });
  });
  it('drops a knob whose value is not a whole number, and decodes names before judging them', () => {
    expect(reduceQuery('/x?delay_ms=secret&cpu_ms=5&delay%5Fms=7&io_kb=%zz')).toEqual({ uri: '/x?cpu_ms=5&delay_ms=7', dropped: 2 });
  });
  it('leaves a path without a query, and an empty query, as they are', () => {
    expect(reduceQuery('/api/users/42')).toEqual({ uri: '/api/users/42', dropped: 0 });
    expect(reduceQuery('/healthz?')).toEqual({ uri: '/healthz', dropped: 0 });
  });
});

describe('captureAccessEntry', () => {
  const key = Buffer.alloc(32, 7);
  it("replaces the client's X-Request-ID by a keyed hash and reduces the query", () => {
    const { entry: e, dropped } = captureAccessEntry(entry('/api/users?delay_ms=5&utm_source=mail', 'my-private-trace-id'), key);
    expect(dropped).toBe(1);
    expect(e.uri).toBe('/api/users?delay_ms=5');
    expect(e.clientRequestIdHash).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
    expect(JSON.stringify(e)).not.toContain('my-private-trace-id');
    expect(e).not.toHaveProperty('clientRequestId');
  });
  it('gives the same hash for the same id under one key, another under another key, null without a header', () => {
    const a = captureAccessEntry(entry('/', 'x-1'), key).entry.clientRequestIdHash;
    expect(captureAccessEntry(entry('/', 'x-1'), key).entry.clientRequestIdHash).toBe(a);
    expect(captureAccessEntry(entry('/', 'x-1'), Buffer.alloc(32, 8)).entry.clientRequestIdHash).not.toBe(a);
    expect(captureAccessEntry(entry('/', null), key).entry.clientRequestIdHash).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { accessLogLine, nginxSeconds, nginxTimeIso } from './node-proxy.ts';
import { parseAccessLog } from './parse-access-log.ts';

describe('node proxy access log', () => {
  it('prints times the way nginx does', () => {
    expect(nginxSeconds(12.3456)).toBe('0.012');
    expect(nginxSeconds(0)).toBe('0.000');
    expect(nginxSeconds(null)).toBe('-');
    expect(nginxTimeIso(new Date(2025, 10, 22, 1, 2, 3))).toMatch(/^2025-11-22T01:02:03[+-]\d\d:\d\d$/);
  });

  it('writes lines the nginx access-log parser reads back', () => {
    const line = accessLogLine({
      requestId: '0123456789abcdef0123456789abcdef',
      clientRequestId: 'bad id',
      end: new Date(1763769662123),
      method: 'POST',
      uri: '/api/orders',
      status: 201,
      requestMs: 4.2,
      upstreamConnectMs: 0,
      upstreamHeaderMs: 3.9,
      upstreamResponseMs: 4.0,
      upstreamAddr: '127.0.0.1:21001',
      connection: 5,
      connectionRequests: 9,
      remoteAddr: '127.0.0.1',
      remotePort: 40123,
      serverPort: 21000,
    });
    const { entries, warnings } = parseAccessLog(line);
    expect(warnings).toEqual([]);
    expect(entries[0]).toMatchObject({
      requestId: '0123456789abcdef0123456789abcdef',
      clientRequestId: 'bad id',
      method: 'POST',
      uri: '/api/orders',
      status: 201,
      requestTime: 0.004,
      upstreamConnectTime: 0,
      upstreamHeaderTime: 0.004,
      upstreamResponseTime: 0.004,
      upstreamAddr: '127.0.0.1:21001',
      connection: 5,
      connectionRequests: 9,
      remoteAddr: '127.0.0.1',
      remotePort: 40123,
      serverPort: 21000,
      msec: 1763769662123,
    });
  });

  it("logs '-' upstream fields when the app was never reached", () => {
    const line = accessLogLine({
      requestId: 'f'.repeat(32),
      clientRequestId: '',
      end: new Date(0),
      method: 'GET',
      uri: '/',
      status: 502,
      requestMs: 1,
      upstreamConnectMs: null,
      upstreamHeaderMs: null,
      upstreamResponseMs: null,
      upstreamAddr: null,
      connection: 1,
      connectionRequests: 1,
      remoteAddr: null,
      remotePort: null,
      serverPort: null,
    });
    expect(parseAccessLog(line).entries[0]).toMatchObject({ upstreamAddr: null, upstreamHeaderTime: null, clientRequestId: null });
  });
});

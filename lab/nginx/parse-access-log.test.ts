import { describe, expect, it } from 'vitest';
import { parseAccessLog } from './parse-access-log.ts';

const line = (over: Record<string, string> = {}): string =>
  JSON.stringify({
    request_id: '0123456789abcdef0123456789abcdef',
    client_request_id: '',
    time_iso8601: '2025-11-22T00:01:02+00:00',
    msec: '1763769662.123',
    method: 'GET',
    uri: '/api/users?delay_ms=5',
    status: '200',
    request_time: '0.012',
    upstream_connect_time: '0.000',
    upstream_header_time: '0.011',
    upstream_response_time: '0.011',
    upstream_addr: '127.0.0.1:21001',
    connection: '7',
    connection_requests: '3',
    remote_addr: '127.0.0.1',
    remote_port: '51234',
    server_port: '21000',
    ...over,
  });

describe('parseAccessLog', () => {
  it('maps a full nginx line onto NginxAccessEntry fields', () => {
    expect(parseAccessLog(line() + '\n')).toEqual({
      entries: [
        {
          requestId: '0123456789abcdef0123456789abcdef',
          timeIso: '2025-11-22T00:01:02+00:00',
          method: 'GET',
          uri: '/api/users?delay_ms=5',
          status: 200,
          requestTime: 0.012,
          upstreamConnectTime: 0,
          upstreamHeaderTime: 0.011,
          upstreamResponseTime: 0.011,
          upstreamAddr: '127.0.0.1:21001',
          connection: 7,
          connectionRequests: 3,
          remoteAddr: '127.0.0.1',
          remotePort: 51234,
          serverPort: 21000,
          clientRequestId: null,
          msec: 1763769662123,
        },
      ],
      warnings: [],
    });
  });

  it('reads a line from a log format without the client-connection fields as nulls', () => {
    const old = JSON.parse(line()) as Record<string, string>;
    delete old.remote_addr;
    delete old.remote_port;
    delete old.server_port;
    expect(parseAccessLog(JSON.stringify(old)).entries[0]).toMatchObject({ remoteAddr: null, remotePort: null, serverPort: null, connectionRequests: 3 });
  });

  it("reads '-' upstream values as null (request answered by nginx itself)", () => {
    const { entries } = parseAccessLog(
      line({ upstream_connect_time: '-', upstream_header_time: '-', upstream_response_time: '-', upstream_addr: '-', status: '400' }),
    );
    expect(entries[0]).toMatchObject({ status: 400, upstreamConnectTime: null, upstreamHeaderTime: null, upstreamResponseTime: null, upstreamAddr: null });
  });

  it('sums upstream times when nginx tried several upstreams', () => {
    const { entries } = parseAccessLog(line({ upstream_response_time: '0.002, 0.010', upstream_connect_time: '0.001 : -' }));
    expect(entries[0]?.upstreamResponseTime).toBeCloseTo(0.012, 9);
    expect(entries[0]?.upstreamConnectTime).toBeCloseTo(0.001, 9);
  });

  it('keeps the client header value so replacements can be seen', () => {
    const { entries } = parseAccessLog(line({ client_request_id: 'not-an-id' }));
    expect(entries[0]?.clientRequestId).toBe('not-an-id');
  });

  it('turns garbage lines into warnings and keeps the good ones', () => {
    const content = ['garbage', line(), '[1,2]', JSON.stringify({ method: 'GET' }), line({ status: 'abc' }), ''].join('\n');
    const { entries, warnings } = parseAccessLog(content);
    expect(entries).toHaveLength(1);
    expect(warnings).toEqual([
      'access log line 1: not JSON: garbage',
      'access log line 3: not a JSON object',
      "access log line 4: missing field 'request_id'",
      "access log line 5: bad status 'abc'",
    ]);
  });

  it('calls an unterminated last line truncated', () => {
    const { entries, warnings } = parseAccessLog(line() + '\n' + line().slice(0, 40));
    expect(entries).toHaveLength(1);
    expect(warnings).toEqual(['access log line 2: truncated (no newline)']);
  });

  it('reads an empty log as no entries and no warnings', () => {
    expect(parseAccessLog('')).toEqual({ entries: [], warnings: [] });
  });
});

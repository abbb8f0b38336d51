import { describe, expect, it } from 'vitest';
import type { ClientObservation } from '../../shared/capture-types.ts';
import type { ProxyAccessEntry } from '../nginx/parse-access-log.ts';
import { formatRequestJourney, typicalObservation } from './request-journey.ts';

const ID = '0123456789abcdef0123456789abcdef';
const obs = (latencyMs: number, requestId = ID): ClientObservation => ({ requestId, method: 'GET', path: '/api/users', status: 200, startMs: 1_700_000_000_000, latencyMs });
const access: ProxyAccessEntry = {
  requestId: ID,
  clientRequestId: ID,
  timeIso: '2025-11-22T00:01:02+00:00',
  msec: 1_700_000_000_012,
  method: 'GET',
  uri: '/api/users',
  status: 200,
  requestTime: 0.012,
  upstreamConnectTime: 0,
  upstreamHeaderTime: 0.011,
  upstreamResponseTime: 0.011,
  upstreamAddr: '127.0.0.1:21001',
  connection: 4,
  connectionRequests: 17,
};

describe('formatRequestJourney', () => {
  it('splits the client latency into proxy, upstream and the rest', () => {
    const appLine = JSON.stringify({ msg: 'request', request_id: ID, route: '/api/users', duration_us: 10_500, db_round_trips: 2, db_us: 8_250, file_opens: 0, cache: null });
    expect(formatRequestJourney(obs(12.5), access, [appLine, 'plain text'])).toBe(
      [
        `request ${ID}: GET /api/users → 200`,
        '  client      12.500 ms (send to last byte)',
        '  proxy       12.000 ms total, connection 4 request #17',
        '  upstream    connect 0.000 ms, header 11.000 ms, response 11.000 ms (127.0.0.1:21001)',
        '  proxy only  1.000 ms (total minus upstream)',
        '  outside     0.500 ms (client minus proxy: loopback network and client)',
        '  app         handler 10.500 ms, 2 db round trips (8.250 ms), route /api/users',
        '  app         plain text',
      ].join('\n'),
    );
  });

  it('says when the proxy did not log the request', () => {
    expect(formatRequestJourney(obs(1), null)).toContain('proxy       not in the access log');
  });
});

describe('typicalObservation', () => {
  it('picks the median latency', () => {
    expect(typicalObservation([obs(9, 'c'), obs(1, 'a'), obs(5, 'b')])?.requestId).toBe('b');
    expect(typicalObservation([])).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import type { NginxAccessEntry } from '../shared/capture-types.ts';
import { clientNeighbourBounds } from './client-connection-order.ts';

const entry = (requestId: string, connection: number, connectionRequests: number): NginxAccessEntry => ({
  requestId,
  timeIso: '2026-01-01T00:00:00+00:00',
  method: 'GET',
  uri: '/healthz',
  status: 200,
  requestTime: 0.001,
  upstreamConnectTime: 0,
  upstreamHeaderTime: 0.001,
  upstreamResponseTime: 0.001,
  upstreamAddr: '127.0.0.1:18081',
  connection,
  connectionRequests,
});

describe('clientNeighbourBounds', () => {
  it("bounds each request by its connection neighbours' app starts, in the log's order, skipping neighbours with no start", () => {
    const log = [entry('c', 1, 3), entry('a', 1, 1), entry('x', 2, 1), entry('b', 1, 2), entry('d', 1, 4)];
    const starts = new Map([
      ['a', 100n],
      ['c', 300n],
      ['d', 400n],
      ['x', 150n],
    ]);
    const b = clientNeighbourBounds(log, starts);
    expect(b.get('a')).toEqual({ afterNs: undefined, beforeNs: 300n });
    expect(b.get('b')).toEqual({ afterNs: 100n, beforeNs: 300n });
    expect(b.get('c')).toEqual({ afterNs: 100n, beforeNs: 400n });
    expect(b.get('d')).toEqual({ afterNs: 300n, beforeNs: undefined });
    expect(b.has('x')).toBe(false); // alone on its connection
  });

  it('repeated ordinals on one connection (two nginx instances in one log) give no bounds', () => {
    expect(clientNeighbourBounds([entry('a', 1, 1), entry('b', 1, 1)], new Map([['a', 1n], ['b', 2n]])).size).toBe(0);
  });
});

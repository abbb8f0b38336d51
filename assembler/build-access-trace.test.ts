import { describe, expect, it } from 'vitest';
import type { NginxAccessEntry } from '../shared/capture-types.ts';
import { buildAccessTrace } from './build-access-trace.ts';

const entry = (over: Partial<NginxAccessEntry> = {}): NginxAccessEntry => ({
  requestId: 'ffffffff000000000000000000000001',
  timeIso: '2026-12-02T10:00:00+00:00',
  method: 'GET',
  uri: '/api/users/42?db_delay_ms=5',
  status: 200,
  requestTime: 0.01,
  upstreamConnectTime: 0,
  upstreamHeaderTime: 0.008,
  upstreamResponseTime: 0.008,
  upstreamAddr: '127.0.0.1:18081',
  connection: 1,
  connectionRequests: 1,
  msec: 1_700_000_000_123,
  ...over,
});

// wall − monotonic: the log's end at msec is 1_700_000_000_123 ms on the wall, 123 ms monotonic.
const OFFSET = 1_700_000_000_000n * 1_000_000n;

describe('buildAccessTrace', () => {
  it("puts the request on the capture's clock from nginx's log: the app inside, nginx's share on either side", () => {
    const t = buildAccessTrace(entry(), undefined, OFFSET, 0.01)!;
    const [root, ...children] = t.spans;
    expect(root).toMatchObject({ name: 'GET /api/users/:id', startNs: 113_000_000n, endNs: 123_000_000n });
    expect(root!.tags).toMatchObject({ 'sampling.sampled': false, 'sampling.rate': 0.01, 'trace.source': 'nginx access log', 'url.path': '/api/users/42', 'http.response.status_code': 200 });
    expect(children.map((s) => [s.name, s.startNs, s.endNs, s.tags.estimated])).toEqual([
      ['nginx processing', 113_000_000n, 114_000_000n, true],
      ['app processing', 114_000_000n, 122_000_000n, true],
      ['nginx response', 122_000_000n, 123_000_000n, true],
    ]);
    expect(t.traceId).toBe('ffffffff000000000000000000000001');
  });
  it("holds the root to the client's wait, which nginx's millisecond clock can overstate", () => {
    const t = buildAccessTrace(entry(), { requestId: 'x', method: 'GET', path: '/', status: 200, startMs: 0, latencyMs: 9.5 }, OFFSET, 0.01)!;
    expect(t.spans[0]!.endNs - t.spans[0]!.startNs).toBe(9_500_000n);
  });
  it('is only a root without the upstream time, and nothing without an end time', () => {
    expect(buildAccessTrace(entry({ upstreamResponseTime: null }), undefined, OFFSET, 0.01)!.spans).toHaveLength(1);
    expect(buildAccessTrace(entry({ msec: null }), undefined, OFFSET, 0.01)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { endpoint, ENDPOINTS, FEED_ITEMS } from './endpoints.ts';

describe('ENDPOINTS', () => {
  it('lists the six endpoints once each', () => {
    expect(ENDPOINTS.map((e) => `${e.method} ${e.route}`)).toEqual([
      'GET /api/users',
      'GET /api/users/:id',
      'POST /api/orders',
      'GET /api/report',
      'GET /api/feed',
      'GET /healthz',
    ]);
  });

  it('gives the round trips and tracked statements of each endpoint', () => {
    const counts = ENDPOINTS.map((e) => [e.name, e.roundTrips(), e.statements(), e.fileOpens()]);
    expect(counts).toEqual([
      ['users', 2, 2, 0],
      ['user', 1, 1, 0],
      ['orders', 5, 3, 0],
      ['report', 2, 2, 2],
      ['feed', 1 + FEED_ITEMS.default, 1 + FEED_ITEMS.default, 0],
      ['health', 0, 0, 0],
    ]);
  });

  it('counts no query for a cache hit', () => {
    expect(endpoint('user').roundTrips({ cacheHit: true })).toBe(0);
    expect(endpoint('user').roundTrips({ cacheHit: false })).toBe(1);
  });

  it('grows the feed by one query per item', () => {
    expect(endpoint('feed').roundTrips({ items: 1 })).toBe(2);
    expect(endpoint('feed').roundTrips({ items: FEED_ITEMS.max })).toBe(51);
  });

  it('drops the totals query of the report on request', () => {
    expect(endpoint('report').statements({ totals: false })).toBe(1);
  });

  it('adds one file for io_kb on any endpoint', () => {
    for (const e of ENDPOINTS) expect(e.fileOpens({ ioKb: 4 })).toBe(e.fileOpens() + 1);
  });

  it('has only its own names', () => {
    expect(() => endpoint('nope' as never)).toThrow(/unknown endpoint/);
  });
});

import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture, fixtureId, type RequestPlan } from '../assembler/fixtures/scenario-builder.ts';
import { buildBaseline } from './build-baseline.ts';
import { seededRandom } from '../lab/seeded-random.ts';
import { feedRequest, SQL } from './fixtures/populations.ts';

const SELECT_KEY = `app processing › DB query (SELECT) ${SQL.usersList}`;

/**
 * Ten GET /api/users with the SELECT's execute phase 1..10 ms and everything else fixed. From
 * the scenario builder's offsets, a query lasts execute + 0.25 ms and the whole request
 * 4.44 ms + the SELECT's execute (UPDATE execute 2 ms, business logic 1 ms).
 */
const users: RequestPlan[] = Array.from({ length: 10 }, (_, i) => ({
  id: fixtureId(i + 1),
  path: '/api/users',
  atUs: i * 50_000,
  steps: [
    { kind: 'query', plan: { sql: SQL.usersList, executeUs: (i + 1) * 1000, rows: 20 } },
    { kind: 'cpu', us: 1000 },
    { kind: 'query', plan: { sql: SQL.usersSeen, executeUs: 2000, rows: 1 } },
  ],
}));
/** Ten feeds of 1..10 items: 2..11 queries each. */
const feeds = Array.from({ length: 10 }, (_, i) => feedRequest(fixtureId(100 + i), 1_000_000 + i * 50_000, i + 1, seededRandom(i)));
/** Four reports reading 100, 200, 300, 400 bytes of one file. */
const reports: RequestPlan[] = [100, 200, 300, 400].map((bytes, i) => ({
  id: fixtureId(200 + i),
  path: '/api/report',
  atUs: 2_000_000 + i * 50_000,
  steps: [{ kind: 'file', plan: { path: '/srv/lab/config/report.json', op: 'read', bytes, fd: 25 } }],
}));

describe('buildBaseline', () => {
  const traces = assembleCapture(buildCapture('baseline', [...users, ...feeds, ...reports])).traces;
  const b = buildBaseline(traces, 'captures/hand');

  it('is versioned and keyed by METHOD + route', () => {
    expect([b.kind, b.version, b.source, b.requests]).toEqual(['reqtrace-baseline', 1, 'captures/hand', 24]);
    expect(Object.keys(b.routes)).toEqual(['GET /api/feed', 'GET /api/report', 'GET /api/users']);
  });

  it('root latency quantiles match the hand-computed 5.44..14.44 ms', () => {
    const q = b.routes['GET /api/users']?.latencyMs;
    expect(q?.p50).toBeCloseTo(9.44, 9); // rank 5 of 10
    expect(q?.p90).toBeCloseTo(13.44, 9); // rank 9
    expect(q?.p99).toBeCloseTo(14.44, 9); // rank 10
    expect(q?.max).toBeCloseTo(14.44, 9);
  });

  it('span-type quantiles pool the SELECT across requests, ordinals dropped', () => {
    const s = b.routes['GET /api/users']?.spanTypes[SELECT_KEY];
    expect(s?.label).toBe('DB query (SELECT … users)');
    expect([s?.spans, s?.requests]).toEqual([10, 10]);
    expect(s?.durationMs.p50).toBeCloseTo(5.25, 9);
    expect(s?.durationMs.p90).toBeCloseTo(9.25, 9);
    expect(s?.durationMs.p99).toBeCloseTo(10.25, 9);
    expect(b.routes['GET /api/users']?.components).toContain(SELECT_KEY);
  });

  it('DB query counts and repeated statements per request', () => {
    const feed = b.routes['GET /api/feed'];
    expect(feed?.dbQueries).toEqual({ median: 6, p90: 10, max: 11 });
    expect(feed?.statements[`DB query (SELECT) ${SQL.feedItem}`]?.perRequest).toEqual({ median: 5, p90: 9, max: 10 });
    expect(feed?.statements[`DB query (SELECT) ${SQL.feedList}`]?.perRequest).toEqual({ median: 1, p90: 1, max: 1 });
    // The items query runs 1..10 times: per request its total is the sum, zero never occurs.
    expect(feed?.spanTypes[`app processing › DB query (SELECT) ${SQL.feedItem}`]?.requests).toBe(10);
  });

  it('file I/O count and bytes per request', () => {
    const r = b.routes['GET /api/report'];
    expect(r?.fileOps).toEqual({ median: 1, p90: 1, max: 1 });
    expect(r?.fileBytesRead).toEqual({ median: 200, p90: 400, max: 400 });
    expect(r?.fileBytesWritten).toEqual({ median: 0, p90: 0, max: 0 });
    expect(r?.dbQueries).toEqual({ median: 0, p90: 0, max: 0 });
  });

  it('survives a JSON round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(b))).toEqual(b);
  });
});

import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture } from '../assembler/fixtures/scenario-builder.ts';
import { buildBaseline } from './build-baseline.ts';
import { compareBaselines, compareTraces } from './compare-traces.ts';
import { seededRandom } from '../lab/seeded-random.ts';
import { feedRequest, SQL, usersPopulation } from './fixtures/populations.ts';
import type { RequestPlan } from '../assembler/fixtures/scenario-builder.ts';

const FEED_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const FEED_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

describe('compareTraces', () => {
  const [a, b] = assembleCapture(buildCapture('feeds', [feedRequest(FEED_A, 0, 2, seededRandom(1)), feedRequest(FEED_B, 50_000, 4, seededRandom(1))])).traces;
  if (!a || !b) throw new Error('fixture lost a trace');
  const c = compareTraces(a, b);

  it('aligns queries by statement and occurrence; the extra ones are only in B, after their siblings', () => {
    const top = c.rows.filter((r) => r.depth === 2).map((r) => [r.name, r.aMs !== undefined, r.bMs !== undefined]);
    expect(top).toEqual([
      ['request read', true, true],
      ['handler setup', true, true],
      ['DB query 1 (SELECT)', true, true],
      ['business logic', true, true],
      ['DB query 2 (SELECT)', true, true],
      ['business logic', true, true],
      ['DB query 3 (SELECT)', true, true],
      ['business logic', false, true],
      ['DB query 4 (SELECT)', false, true],
      ['business logic', false, true],
      ['DB query 5 (SELECT)', false, true],
      ['response serialization', true, true],
      ['response send', true, true],
      ['response finish', true, true],
    ]);
    // The children of a B-only query follow it, still marked B-only.
    const i = c.rows.findIndex((r) => r.name === 'DB query 4 (SELECT)');
    expect(c.rows[i + 1]).toMatchObject({ name: 'query send', depth: 3 });
    expect(c.rows[i + 1]?.aMs).toBeUndefined();
  });

  it('highlights the rows that differ most on their own: here the two extra queries, not their ancestors or children', () => {
    expect(c.rows.filter((r) => r.highlight).map((r) => r.name)).toEqual(['DB query 4 (SELECT)', 'DB query 5 (SELECT)']);
  });

  it('counts repeated spans on one side only as one difference: the extra queries of an N+1', () => {
    const extra = c.rows.filter((r) => r.name === 'DB query 4 (SELECT)' || r.name === 'DB query 5 (SELECT)');
    expect(c.differences[0]).toEqual({ name: 'DB query (SELECT … items)', count: 2, onlyIn: 'B', deltaMs: extra.reduce((sum, r) => sum + r.deltaMs, 0) });
  });

  it('does not modify its inputs', () => {
    const before = JSON.stringify([a, b], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    compareTraces(a, b);
    expect(JSON.stringify([a, b], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before);
  });

  it('lines a query up with the same operation on the same table when B ran it with a different statement', () => {
    const users = (id: string, atUs: number, first: string, executeUs: number, extra: string[] = []): RequestPlan => ({
      id,
      path: '/api/users',
      atUs,
      steps: [
        { kind: 'query', plan: { sql: first, executeUs, rows: 20 } },
        ...extra.map((sql) => ({ kind: 'query' as const, plan: { sql, executeUs: 1500, rows: 20 } })),
        { kind: 'query', plan: { sql: SQL.usersSeen, executeUs: 2600, rows: 1 } },
      ],
    });
    const delayed = 'SELECT id, name, email FROM users WHERE (SELECT pg_sleep($2)) IS NOT NULL ORDER BY id LIMIT $1';
    const [x, y, z] = assembleCapture(
      buildCapture('variants', [users(FEED_A, 0, SQL.usersList, 1800), users(FEED_B, 50_000, delayed, 250_000), users('c'.repeat(32), 400_000, delayed, 250_000, [SQL.usersList])]),
    ).traces;
    if (!x || !y || !z) throw new Error('fixture lost a trace');
    const first = compareTraces(x, y).rows.filter((r) => r.name === 'DB query 1 (SELECT)');
    expect(first).toHaveLength(1);
    expect(first[0]?.deltaMs).toBeGreaterThan(245);
    expect(compareTraces(x, y).rows.find((r) => r.highlight)?.name).toBe('execute');
    // B ran A's statement as well: that one is the match, the other statement is B's own.
    const both = compareTraces(x, z).rows.filter((r) => r.depth === 2 && r.name.startsWith('DB query'));
    expect(both.map((r) => [r.aMs !== undefined, r.bMs !== undefined])).toEqual([
      [false, true],
      [true, true],
      [true, true],
    ]);
  });
});

describe('compareBaselines', () => {
  it('calls a change within 5% steady and lists routes found on one side only', () => {
    const base = buildBaseline(assembleCapture(buildCapture('a', usersPopulation(5, 1, 1, 0))).traces, 'a');
    const feed = buildBaseline(assembleCapture(buildCapture('b', [...usersPopulation(5, 1, 1, 0), feedRequest(FEED_B, 500_000, 3, seededRandom(2))])).traces, 'b');
    const c = compareBaselines(base, feed);
    expect(c.routes.map((r) => [r.route, r.verdict, r.drivers.length])).toEqual([['GET /api/users', 'steady', 0]]);
    expect(c.onlyInB).toEqual(['GET /api/feed']);
    expect(c.onlyInA).toEqual([]);
  });
});

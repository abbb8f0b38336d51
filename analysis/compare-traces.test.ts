import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture } from '../assembler/fixtures/scenario-builder.ts';
import { buildBaseline } from './build-baseline.ts';
import { compareBaselines, compareTraces } from './compare-traces.ts';
import { seededRandom } from '../lab/seeded-random.ts';
import { feedRequest, usersPopulation } from './fixtures/populations.ts';

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

  it('does not modify its inputs', () => {
    const before = JSON.stringify([a, b], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    compareTraces(a, b);
    expect(JSON.stringify([a, b], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before);
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

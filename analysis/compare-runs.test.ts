import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture } from '../assembler/fixtures/scenario-builder.ts';
import type { Trace } from '../assembler/span.ts';
import { compareRuns } from './compare-runs.ts';
import { feedPopulation, ordersPopulation, runqNoise, usersPopulation } from './fixtures/populations.ts';
import { renderRunComparison } from './render-run-comparison.ts';

/** A run of three routes; `usersExecuteUs` is the users list query's execute time range. */
function run(seed: number, usersExecuteUs: readonly [number, number] = [1500, 2100]): readonly Trace[] {
  const plans = [...usersPopulation(120, seed, 1, 0, usersExecuteUs), ...feedPopulation(60, seed + 1, 1001, 4_100_000), ...ordersPopulation(60, seed + 2, 2001, 6_200_000)];
  return assembleCapture(buildCapture(`run-${seed}`, plans, runqNoise(plans, seed + 3))).traces;
}

describe('compareRuns', () => {
  const a = run(1);

  it('A/A: two runs of one population differ in no route and no span type', () => {
    const c = compareRuns(a, run(11), 'a', 'b');
    expect(c.routes.map((r) => r.route)).toEqual(['GET /api/feed', 'GET /api/users', 'POST /api/orders']);
    expect(c.significantRoutes).toEqual([]);
    expect(c.routes.flatMap((r) => r.types.filter((t) => t.significant).map((t) => `${r.route} ${t.type}`))).toEqual([]);
    expect(c.tests).toBe(2 * (3 + c.routes.reduce((n, r) => n + r.types.length, 0)));
    expect(renderRunComparison(c)).toContain('No route changed significantly (FDR 5%).');
  });

  it('finds a 3 ms shift of one query on one route, names that query as the cause, and no other route', () => {
    const c = compareRuns(a, run(11, [4500, 5100]), 'a', 'b');
    expect(c.significantRoutes).toEqual(['GET /api/users']);
    const users = c.routes.find((r) => r.route === 'GET /api/users');
    expect(users?.latency.direction).toBe('slower');
    expect(users?.latency.cliffsDelta).toBeGreaterThan(0.9);
    expect(users?.latency.p50Shift.low).toBeGreaterThan(2);
    expect(users?.latency.p50Shift.high).toBeLessThan(4);
    const top = users?.contributors[0];
    expect(top?.type).toBe('app processing › DB query (SELECT … users)');
    expect(top?.p50Shift.low).toBeGreaterThan(2);
    expect(top?.shareOfShift).toBeGreaterThan(0.8);
    expect(top?.shareOfShift).toBeLessThan(1.2);
    const text = renderRunComparison(c);
    expect(text).toMatch(/^GET \/api\/users: SLOWER \(120 → 120 requests\)  p50 \+3\.\dms \[/m);
    expect(text).toContain('shift comes from: app processing › DB query (SELECT … users) +3.0ms mean');
    expect(text).toMatch(/^Changed: GET \/api\/users slower \(p50 \+3\.\dms\)$/m);
  });

  it('says which routes one side lacks and does not test a route with too few requests', () => {
    const few = run(3).filter((t, i) => !t.spans[0]?.name.includes('/api/feed') || i % 10 === 0);
    const c = compareRuns(a, few.filter((t) => !t.spans[0]?.name.startsWith('POST')), 'a', 'b', { minSamples: 10 });
    expect(c.onlyInA).toEqual(['POST /api/orders']);
    expect(c.untestedRoutes).toEqual(['GET /api/feed']);
    expect(c.routes.map((r) => r.route)).toEqual(['GET /api/users']);
  });

  it('reproduces exactly (seeded bootstrap) and does not modify its inputs', () => {
    const b = run(11);
    const before = a.length;
    expect(compareRuns(a, b, 'a', 'b')).toEqual(compareRuns(a, b, 'a', 'b'));
    expect(a.length).toBe(before);
  });
});

/** `traces` as if the machine ran every span `factor` times slower (times stretched from each root's start). */
function stretched(traces: readonly Trace[], factor: number): Trace[] {
  return traces.map((t) => {
    const t0 = t.spans[0]?.startNs ?? 0n;
    const at = (ns: bigint): bigint => t0 + BigInt(Math.round(Number(ns - t0) * factor));
    return { ...t, spans: t.spans.map((s) => ({ ...s, startNs: at(s.startNs), endNs: at(s.endNs) })) };
  });
}

describe('compareRuns on a run that is slower as a whole', () => {
  const a = run(1);
  const slowMachine = stretched(run(11), 1.5);

  it('divides B by the run-wide factor: every route 50% slower is no route significant', () => {
    const c = compareRuns(a, slowMachine, 'a', 'b');
    expect(c.runFactor).toBeGreaterThan(1.45);
    expect(c.runFactor).toBeLessThan(1.55);
    expect(c.runAdjusted).toBe(true);
    expect(c.significantRoutes).toEqual([]);
    expect(renderRunComparison(c)).toMatch(/^Run-wide factor ×1\.\d\d \(median over routes of p50 B\/A\): B's times are divided by it/m);
  });

  it('as measured, every route is significant', () => {
    const c = compareRuns(a, slowMachine, 'a', 'b', { adjustRunWide: false });
    expect(c.runAdjusted).toBe(false);
    expect(c.significantRoutes).toEqual(['GET /api/feed', 'GET /api/users', 'POST /api/orders']);
  });

  it('still finds the one route that changed on a slower machine', () => {
    const c = compareRuns(a, stretched(run(11, [4500, 5100]), 1.5), 'a', 'b');
    expect(c.significantRoutes).toEqual(['GET /api/users']);
  });
});

import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture } from '../assembler/fixtures/scenario-builder.ts';
import type { Trace } from '../assembler/span.ts';
import { detectChangepoints, renderChangepoints } from './detect-changepoints.ts';
import { ordersPopulation, usersPopulation } from './fixtures/populations.ts';

/** 200 users requests, then 200 whose list query runs `laterUs` µs; then 300 orders, unchanged. */
function capture(laterUs: readonly [number, number]): readonly Trace[] {
  const plans = [
    ...usersPopulation(200, 1, 1, 0),
    ...usersPopulation(200, 2, 201, 4_000_000, laterUs),
    ...ordersPopulation(300, 3, 1001, 9_000_000),
  ];
  return assembleCapture(buildCapture('level-change', plans)).traces;
}

describe('detectChangepoints', () => {
  it('finds when GET /api/users got 8 ms slower and its DB share rose, and nothing on the steady route', () => {
    const changes = detectChangepoints(capture([9500, 10100]), { wallOffsetNs: 0n });
    const users = changes.filter((c) => c.route === 'GET /api/users');
    expect(users.map((c) => c.series)).toEqual(['latency', 'share:app', 'share:db']);
    const latency = users[0];
    expect(latency?.index).toBe(200);
    expect(latency?.requests).toBe(400);
    expect(latency?.atOffsetS).toBeCloseTo(4, 1);
    expect(latency?.shift).toBeGreaterThan(7.5);
    expect(latency?.shift).toBeLessThan(8.5);
    expect(latency?.p).toBeLessThan(1e-20);
    expect(users[2]?.shift).toBeGreaterThan(0.1);
    expect(users[1]?.shift).toBeLessThan(-0.1);
    expect(changes.filter((c) => c.route === 'POST /api/orders')).toEqual([]);
    expect(renderChangepoints(changes).split('\n')[0]).toMatch(/^GET \/api\/users latency 7\.\dms → 15\.\dms \(\+8\.\dms\) at \+4\.0 s \(\S+Z\), request 201 of 400, p \de-\d+$/);
  });

  it('reports nothing for a capture without a change', () => {
    expect(detectChangepoints(capture([1500, 2100]))).toEqual([]);
    expect(renderChangepoints([])).toBe('No route changed level during the capture.\n');
  });
});

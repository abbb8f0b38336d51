import { describe, expect, it } from 'vitest';
import { MIX_NAMES } from '../../shared/mixes.ts';
import { buildRequest, MIX_TABLE, nextRequest, parseTargetKnobs, pickTarget, withKnob, type TargetName } from './mixes.ts';
import { seededRandom } from '../seeded-random.ts';

describe('pickTarget', () => {
  it('walks the cumulative weights', () => {
    const mix = { users: 1, orders: 3 };
    expect(pickTarget(mix, 0)).toBe('users');
    expect(pickTarget(mix, 0.2499)).toBe('users');
    expect(pickTarget(mix, 0.25)).toBe('orders');
    expect(pickTarget(mix, 0.9999)).toBe('orders');
  });

  it('ignores zero weights and rejects an empty mix', () => {
    expect(pickTarget({ users: 0, feed: 2 }, 0)).toBe('feed');
    expect(() => pickTarget({}, 0.5)).toThrow('empty mix');
  });

  it('follows the default weights over many draws', () => {
    const rand = seededRandom(42);
    const counts: Partial<Record<TargetName, number>> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const t = pickTarget(MIX_TABLE.default, rand());
      counts[t] = (counts[t] ?? 0) + 1;
    }
    const total = Object.values(MIX_TABLE.default).reduce((s, w) => s + (w ?? 0), 0);
    for (const [name, w] of Object.entries(MIX_TABLE.default)) {
      expect((counts[name as TargetName] ?? 0) / n).toBeCloseTo((w ?? 0) / total, 1);
    }
  });
});

describe('MIX_TABLE', () => {
  it('has a mix for every --mix choice, each reaching the app only through known targets', () => {
    expect(Object.keys(MIX_TABLE).sort()).toEqual([...MIX_NAMES].sort());
    expect(Object.keys(MIX_TABLE.all).sort()).toEqual(['feed', 'healthz', 'orders', 'report', 'user', 'users']);
  });
});

describe('buildRequest', () => {
  it('builds an order with ids inside the seeded ranges', () => {
    const r = buildRequest('orders', seededRandom(1));
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/api/orders');
    const body = JSON.parse(r.body ?? '') as { user_id: number; product_id: number; quantity: number };
    expect(body.user_id).toBeGreaterThanOrEqual(1);
    expect(body.user_id).toBeLessThanOrEqual(10_000);
    expect(body.product_id).toBeGreaterThanOrEqual(1);
    expect(body.product_id).toBeLessThanOrEqual(1_000);
    expect([1, 2, 3]).toContain(body.quantity);
  });

  it('asks the light mix for one user only', () => {
    const rand = seededRandom(3);
    expect(new Set(Array.from({ length: 20 }, () => nextRequest(MIX_TABLE.light, rand).path))).toEqual(new Set(['/api/users/7']));
  });

  it('draws user ids from the hot set, both ends included', () => {
    expect(buildRequest('user', () => 0).path).toBe('/api/users/1');
    expect(buildRequest('user', () => 0.99999999).path).toBe('/api/users/500');
  });

  it('is reproducible from a seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const seq = (rand: () => number): string[] => Array.from({ length: 20 }, () => nextRequest(MIX_TABLE.default, rand).path);
    expect(seq(a)).toEqual(seq(b));
  });

  it("adds a target's knob to its path only, after any query string", () => {
    const knobs = { users: 'db_delay_ms=10', feed: 'delay_ms=2&cpu_ms=1' } as const;
    expect(withKnob(buildRequest('users', () => 0), knobs).path).toBe('/api/users?db_delay_ms=10');
    expect(withKnob(buildRequest('feed', () => 0), knobs).path).toBe('/api/feed?items=10&delay_ms=2&cpu_ms=1');
    expect(withKnob(buildRequest('user', () => 0), knobs).path).toBe('/api/users/1');
    const rand = seededRandom(3);
    const paths = Array.from({ length: 200 }, () => nextRequest(MIX_TABLE.users, rand, { users: 'db_delay_ms=5' }).path);
    expect(paths.filter((p) => p === '/api/users?db_delay_ms=5').length).toBeGreaterThan(50);
    expect(paths.every((p) => p === '/api/users?db_delay_ms=5' || /^\/api\/users\/\d+$/.test(p))).toBe(true);
  });

  it('parses --knob TARGET:QUERY lists and refuses what the app would not take', () => {
    expect(parseTargetKnobs('users:db_delay_ms=10,feed:delay_ms=2&io_kb=4')).toEqual({ users: 'db_delay_ms=10', feed: 'delay_ms=2&io_kb=4' });
    expect(parseTargetKnobs('nope:db_delay_ms=1')).toBe("--knob expects TARGET:QUERY with TARGET one of users, user, orders, report, feed, healthz, got 'nope:db_delay_ms=1'");
    expect(parseTargetKnobs('users:db_delay_ms=x')).toMatch(/^--knob users: expects name=value pairs/);
    expect(parseTargetKnobs('users:a=1,users:b=2')).toBe('--knob names users twice');
  });
});

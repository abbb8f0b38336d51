import { describe, expect, it } from 'vitest';
import { HOT_USERS } from '../lab/load/mixes.ts';
import type { Experiment } from './inject-matrix.ts';
import { expectationOf, LOCKED_PRODUCT, planExperiment, poolWaits, requestId } from './inject-plan.ts';

const exp = (injection: Experiment['injection'], repeats = 2, controls = 6): Experiment => ({ name: `x ${injection.layer}`, injection, repeats, controls });

describe('poolWaits', () => {
  it('the second wave waits for the first to give its connections back', () => {
    //  sent  0  10 | 20  30          connections free at 150, 160
    //  wait  0   0 | 130 130
    expect(poolWaits(2, 4, 150, 10)).toEqual([0, 0, 130, 130]);
  });
  it('a third wave waits for the second', () => {
    expect(poolWaits(3, 9, 100, 5)).toEqual([0, 0, 0, 85, 85, 85, 170, 170, 170]);
  });
});

describe('planExperiment', () => {
  it('a per-request fault: controls before, a control beside each injected request, controls after', () => {
    const plan = planExperiment(exp({ layer: 'db', sleepMs: 100 }), 'n1');
    expect(plan.map((p) => `${p.phase}:${p.role}:${p.round}:${p.path}`)).toEqual([
      'before:control:-1:/api/users',
      'before:control:-1:/api/users',
      'fault:injected:0:/api/users?db_delay_ms=100',
      'fault:control:0:/api/users',
      'fault:injected:1:/api/users?db_delay_ms=100',
      'fault:control:1:/api/users',
      'after:control:-1:/api/users',
      'after:control:-1:/api/users',
    ]);
    expect(new Set(plan.map((p) => p.id)).size).toBe(plan.length);
    for (const p of plan) expect(p.id).toMatch(/^[0-9a-f]{32}$/);
    expect(plan.filter((p) => p.expect).map((p) => p.expect?.amountMs)).toEqual([100, 100]);
    expect(plan.every((p) => p.group === 'GET /api/users')).toBe(true);
  });

  it('a tier-wide fault: no control while it is on', () => {
    const plan = planExperiment(exp({ layer: 'cpu', spinMs: 100 }), 'n1');
    expect(plan.filter((p) => p.phase === 'fault').map((p) => p.role)).toEqual(['injected', 'injected']);
    expect(plan.filter((p) => p.role === 'control').length).toBe(6);
    expect(plan.filter((p) => p.role === 'injected').map((p) => p.path)).toEqual(['/healthz?cpu_ms=220', '/healthz?cpu_ms=220']);
    expect(new Set(plan.filter((p) => p.role === 'control').map((p) => p.path))).toEqual(new Set(['/healthz']));
  });

  it('event loop: a blocker and its queued requests per round, sent afterMs later', () => {
    const plan = planExperiment(exp({ layer: 'event-loop', cpuMs: 200, queued: 3, afterMs: 50 }, 1), 'n1');
    const fault = plan.filter((p) => p.phase === 'fault');
    expect(fault.map((p) => [p.role, p.offsetMs, p.path, p.expect?.location, p.expect?.amountMs])).toEqual([
      ['blocker', 0, '/api/users?cpu_ms=200', 'handler-setup', 200],
      ['queued', 50, '/api/users', 'socket-wait-to-app', 'blocker-loop'],
      ['queued', 50, '/api/users', 'socket-wait-to-app', 'blocker-loop'],
      ['queued', 50, '/api/users', 'socket-wait-to-app', 'blocker-loop'],
    ]);
  });

  it('pool: each burst staggered, waits as the pool hands connections over, uncached users only', () => {
    const plan = planExperiment(exp({ layer: 'pool', poolSize: 2, burst: 4, holdMs: 150, staggerMs: 10 }, 2), 'n1');
    const burst = plan.filter((p) => p.phase === 'fault');
    expect(burst.map((p) => [p.role, p.round, p.offsetMs])).toEqual([
      ['first-wave', 0, 0],
      ['first-wave', 0, 10],
      ['waiting', 0, 20],
      ['waiting', 0, 30],
      ['first-wave', 1, 0],
      ['first-wave', 1, 10],
      ['waiting', 1, 20],
      ['waiting', 1, 30],
    ]);
    expect(burst.every((p) => p.expect?.amountMs === 'pool-handoff' && p.expect.poolSize === 2)).toBe(true);
    const users = plan.map((p) => Number(/^\/api\/users\/(\d+)/.exec(p.path)?.[1]));
    expect(users.every((u) => u > HOT_USERS)).toBe(true);
    expect(new Set(users).size).toBe(plan.length);
    expect(burst.every((p) => p.path.endsWith('?db_delay_ms=150'))).toBe(true);
  });

  it('lock: only the injected orders buy the locked product', () => {
    const plan = planExperiment(exp({ layer: 'lock', holdMs: 150 }), 'n1');
    const product = (p: (typeof plan)[number]): number => (JSON.parse(p.body ?? '{}') as { product_id: number }).product_id;
    expect(plan.filter((p) => p.role === 'injected').map(product)).toEqual([LOCKED_PRODUCT, LOCKED_PRODUCT]);
    expect(plan.filter((p) => p.role === 'control').some((p) => product(p) === LOCKED_PRODUCT)).toBe(false);
  });

  it('is the same for the same nonce, and differs for another', () => {
    const e = exp({ layer: 'net-loss' });
    expect(planExperiment(e, 'n1')).toEqual(planExperiment(e, 'n1'));
    expect(planExperiment(e, 'n2')[0]?.id).not.toBe(planExperiment(e, 'n1')[0]?.id);
    expect(requestId('n1', 'x', 'control', 0)).toBe(requestId('n1', 'x', 'control', 0));
  });
});

describe('expectationOf', () => {
  it('loss: one retransmit and one RTO per statement; file: the bytes and the request’s extra time; lock and disk: PostgreSQL’s log', () => {
    expect(expectationOf({ layer: 'net-loss' }, 'injected')).toMatchObject({ location: 'pg-retransmit', amountMs: 200, retransmits: 1 });
    expect(expectationOf({ layer: 'file', kb: 4 }, 'injected')).toMatchObject({ location: 'file-io', amountMs: 'trace-total', fileBytes: 4096 });
    expect(expectationOf({ layer: 'lock', holdMs: 150 }, 'injected')).toMatchObject({ location: 'lock-wait', amountMs: 'pg-log', statement: 'UPDATE', atLeastMs: 150 });
    expect(expectationOf({ layer: 'disk', writeIops: 10 }, 'injected')).toMatchObject({ location: 'commit', amountMs: 'pg-log', statement: 'COMMIT' });
    expect(expectationOf({ layer: 'net-delay', delayMs: 25 }, 'injected')).toMatchObject({ location: 'pg-transit', amountMs: 50 });
  });
});

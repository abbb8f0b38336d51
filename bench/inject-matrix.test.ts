import { describe, expect, it } from 'vitest';
import { describeInjection, INJECT_LAYERS, injectMatrix, parseLayers } from './inject-matrix.ts';

describe('injectMatrix', () => {
  it('quick: one experiment per layer, in layer order, 2 rounds and 6 controls each', () => {
    const m = injectMatrix({ quick: true });
    expect(m.map((e) => e.injection.layer)).toEqual([...INJECT_LAYERS]);
    expect(m.map((e) => e.name)).toEqual([
      'app 100ms',
      'event-loop 200ms',
      'db 100ms',
      'lock 150ms',
      'file 10240KiB',
      'disk 10iops',
      'cpu 100ms',
      'net-delay 25ms',
      'net-loss once',
      'pool pool2x4',
    ]);
    for (const e of m) expect([e.repeats, e.controls]).toEqual([2, 6]);
  });

  it('full: every amount of every layer, 5 rounds and 12 controls, names unique', () => {
    const m = injectMatrix({ quick: false });
    expect(m.filter((e) => e.injection.layer === 'db').map((e) => e.name)).toEqual(['db 100ms', 'db 20ms', 'db 400ms']);
    expect(new Set(m.map((e) => e.name)).size).toBe(m.length);
    expect(m.length).toBeGreaterThan(INJECT_LAYERS.length);
    for (const e of m) expect([e.repeats, e.controls]).toEqual([5, 12]);
  });

  it('--only keeps the named layers in matrix order; --repeats sets the rounds', () => {
    const m = injectMatrix({ quick: true, only: ['pool', 'db'], repeats: 4 });
    expect(m.map((e) => [e.name, e.repeats])).toEqual([
      ['db 100ms', 4],
      ['pool pool2x4', 4],
    ]);
  });
});

describe('parseLayers', () => {
  it('reads a comma list, orders it as the matrix, drops repeats and blanks', () => {
    expect(parseLayers('pool, db,,db')).toEqual(['db', 'pool']);
  });
  it('names the unknown layer and the known ones', () => {
    expect(parseLayers('db,network')).toBe(`--only: unknown layer 'network' (layers: ${INJECT_LAYERS.join(', ')})`);
  });
  it('refuses an empty list', () => {
    expect(parseLayers(' , ')).toMatch(/^--only expects layers from app, /);
  });
});

describe('describeInjection', () => {
  it('says what is injected, with the amount', () => {
    expect(describeInjection({ layer: 'db', sleepMs: 100 })).toBe('db_delay_ms=100: pg_sleep(0.1) in the first statement');
    expect(describeInjection({ layer: 'pool', poolSize: 2, burst: 4, holdMs: 150, staggerMs: 10 })).toBe(
      '4 requests 10 ms apart hold a DB connection 150 ms each on a pool of 2',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { breakdownConditions, defaultWorkloads, floorConditions, OVERHEAD_CONDITIONS, overheadSchedule, selectConditions, UNTRACED } from './overhead-plan.ts';

describe('selectConditions', () => {
  it('keeps the order asked for and always measures the untraced baseline first', () => {
    const got = selectConditions(OVERHEAD_CONDITIONS, ['0.01', 'full', '0.01']);
    expect(typeof got === 'string' ? got : got.map((c) => c.key)).toEqual(['untraced', '0.01', 'full']);
  });
  it('names the known keys for an unknown one', () => {
    expect(selectConditions(OVERHEAD_CONDITIONS, ['fast'])).toBe("unknown condition 'fast' (known: untraced, usdt, full, pg, 0.1, 0.01, 0.01+arrivals, keep)");
  });
  it('gives every default condition when none is asked for', () => {
    expect(selectConditions(OVERHEAD_CONDITIONS, undefined)).toEqual([...OVERHEAD_CONDITIONS]);
  });
});

describe('breakdownConditions', () => {
  it('pairs the app probes with one family each', () => {
    expect(breakdownConditions().map((c) => c.trace?.families)).toEqual([
      ['usdt', 'sockets'],
      ['usdt', 'files'],
      ['usdt', 'sched'],
      ['usdt', 'postgres'],
      ['usdt', 'tcp'],
    ]);
  });
});

describe('floorConditions', () => {
  it('samples 0.01 with the socket programs stopping at entry, after their port check, then at the socket\'s state', () => {
    expect(floorConditions().map((c) => [c.key, c.trace])).toEqual([
      ['floor', { sample: 0.01, socketsFloor: 'dispatch' }],
      ['floor+ports', { sample: 0.01, socketsFloor: 'ports' }],
      ['floor+state', { sample: 0.01, socketsFloor: 'state' }],
    ]);
    const got = selectConditions([...OVERHEAD_CONDITIONS, ...floorConditions()], ['floor+ports']);
    expect(typeof got === 'string' ? got : got.map((c) => c.key)).toEqual(['untraced', 'floor+ports']);
  });
});

describe('overheadSchedule', () => {
  it('interleaves: every workload and condition once per round, round after round, then a closing untraced run per workload', () => {
    const [mix, light] = defaultWorkloads(200, 800);
    const full = OVERHEAD_CONDITIONS[2]!;
    const steps = overheadSchedule([mix!, light!], [UNTRACED, full], 2).map((s) => `${s.round}:${s.workload.key}:${s.condition.key}`);
    expect(steps).toEqual(['1:mix:untraced', '1:mix:full', '1:light:untraced', '1:light:full', '2:mix:untraced', '2:mix:full', '2:light:untraced', '2:light:full', '3:mix:untraced', '3:light:untraced']);
  });
  it('adds no closing run when nothing is traced', () => {
    const [mix] = defaultWorkloads(200, 800);
    expect(overheadSchedule([mix!], [UNTRACED], 2).map((s) => s.round)).toEqual([1, 2]);
  });
});

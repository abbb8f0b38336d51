import { describe, expect, it } from 'vitest';
import { interpolatedBaseline, medianInterval, pairedOverheadsPct } from './overhead-pairing.ts';

const run = (startedAtMs: number, value: number, lengthMs = 10): { startedAtMs: number; endedAtMs: number; value: number } => ({ startedAtMs, endedAtMs: startedAtMs + lengthMs, value });

describe('interpolatedBaseline', () => {
  it('interpolates the untraced runs around a traced one to its midpoint, so a linear drift cancels', () => {
    //   U 100 at t=0 ── traced at t=30 ── U 140 at t=40: the host slowed 1 µs/ms, the baseline is 130
    expect(interpolatedBaseline(run(30, 133), [run(0, 100), run(40, 140)])).toBe(130);
    expect(pairedOverheadsPct([run(30, 133)], [run(0, 100), run(40, 140)])[0]).toBeCloseTo(2.3077, 3);
  });
  it('takes the nearest untraced run on either side, and only one side when the other is missing', () => {
    expect(interpolatedBaseline(run(30, 1), [run(-100, 50), run(0, 100), run(40, 140), run(90, 500)])).toBe(130);
    expect(interpolatedBaseline(run(30, 1), [run(0, 100)])).toBe(100);
    expect(interpolatedBaseline(run(30, 1), [])).toBeNull();
  });
});

describe('medianInterval', () => {
  it('brackets the median of ten values by the 2nd and 9th (97.9%: the narrowest with at least 90%)', () => {
    const r = medianInterval([5, 1, 9, 3, 7, 2, 8, 4, 10, 6]);
    expect(r).toMatchObject({ median: 5.5, low: 2, high: 9 });
    expect(r.level).toBeCloseTo(0.9785, 4);
  });
  it('needs the whole range with five values (93.8%)', () => {
    const r = medianInterval([3, 1, 2, 5, 4]);
    expect(r).toMatchObject({ median: 3, low: 1, high: 5 });
    expect(r.level).toBeCloseTo(0.9375, 4);
  });
  it('says nothing of one value or none', () => {
    expect(medianInterval([4])).toEqual({ median: 4, low: 4, high: 4, level: 0 });
    expect(medianInterval([]).median).toBeNaN();
  });
});

import { describe, expect, it } from 'vitest';
import { NO_KNOBS, parseBoolParam, parseIntParam, parseKnobs } from './knobs.ts';

describe('parseKnobs', () => {
  it('defaults every knob to 0', () => {
    expect(parseKnobs({})).toEqual({ ok: true, value: NO_KNOBS });
  });

  it('reads all four knobs at their upper bounds', () => {
    expect(parseKnobs({ delay_ms: '5000', cpu_ms: '2000', db_delay_ms: '5000', io_kb: '10240' })).toEqual({
      ok: true,
      value: { delayMs: 5000, cpuMs: 2000, dbDelayMs: 5000, ioKb: 10240 },
    });
  });

  it('ignores unrelated parameters', () => {
    expect(parseKnobs({ items: '5', delay_ms: '10' })).toEqual({ ok: true, value: { ...NO_KNOBS, delayMs: 10 } });
  });

  it.each([
    [{ delay_ms: '5001' }, 'delay_ms must be from 0 to 5000, got 5001'],
    [{ cpu_ms: '2001' }, 'cpu_ms must be from 0 to 2000, got 2001'],
    [{ db_delay_ms: '99999' }, 'db_delay_ms must be from 0 to 5000, got 99999'],
    [{ io_kb: '10241' }, 'io_kb must be from 0 to 10240, got 10241'],
    [{ delay_ms: '-1' }, "delay_ms must be a whole number from 0 to 5000, got '-1'"],
    [{ delay_ms: '1.5' }, "delay_ms must be a whole number from 0 to 5000, got '1.5'"],
    [{ delay_ms: '1e3' }, "delay_ms must be a whole number from 0 to 5000, got '1e3'"],
    [{ delay_ms: 'abc' }, "delay_ms must be a whole number from 0 to 5000, got 'abc'"],
    [{ delay_ms: '' }, "delay_ms must be a whole number from 0 to 5000, got ''"],
    [{ delay_ms: ' 5' }, "delay_ms must be a whole number from 0 to 5000, got ' 5'"],
    [{ delay_ms: '9999999999' }, "delay_ms must be a whole number from 0 to 5000, got '9999999999'"],
    [{ delay_ms: ['1', '2'] }, 'delay_ms must be given once, as a whole number from 0 to 5000'],
  ])('rejects %j', (query, error) => {
    expect(parseKnobs(query)).toEqual({ ok: false, error });
  });

  it('reports the first bad knob in table order', () => {
    expect(parseKnobs({ io_kb: 'x', delay_ms: 'y' })).toMatchObject({ ok: false, error: expect.stringMatching(/^delay_ms/) });
  });

  it('keeps control characters out of the message', () => {
    expect(parseKnobs({ cpu_ms: '1\n2' })).toEqual({ ok: false, error: "cpu_ms must be a whole number from 0 to 2000, got '1?2'" });
  });
});

describe('parseIntParam', () => {
  it('uses the fallback when absent', () => {
    expect(parseIntParam({}, 'items', 1, 50, 10)).toEqual({ ok: true, value: 10 });
  });

  it('accepts leading zeros as decimal', () => {
    expect(parseIntParam({ items: '007' }, 'items', 1, 50, 10)).toEqual({ ok: true, value: 7 });
  });

  it('rejects below the minimum', () => {
    expect(parseIntParam({ items: '0' }, 'items', 1, 50, 10)).toEqual({ ok: false, error: 'items must be from 1 to 50, got 0' });
  });
});

describe('parseBoolParam', () => {
  it.each([
    ['1', true],
    ['true', true],
    ['0', false],
    ['false', false],
  ])('reads %s', (raw, value) => {
    expect(parseBoolParam({ totals: raw }, 'totals', true)).toEqual({ ok: true, value });
  });

  it('rejects anything else', () => {
    expect(parseBoolParam({ totals: 'yes' }, 'totals', true)).toEqual({ ok: false, error: "totals must be 0, 1, true or false, got 'yes'" });
  });
});

import { describe, expect, it } from 'vitest';
import { parseBenchArgs, type NumberOption } from './bench-args.ts';

const OPTIONS = [
  { name: 'duration', min: 1, max: 600, default: 8 },
  { name: 'rounds', min: 1, max: 20, default: 3, integer: true },
] as const satisfies readonly NumberOption[];

describe('parseBenchArgs', () => {
  it('returns the defaults for no arguments', () => {
    expect(parseBenchArgs([], OPTIONS)).toEqual({ ok: true, values: { duration: 8, rounds: 3 } });
  });

  it('reads --name value and --name=value', () => {
    expect(parseBenchArgs(['--duration', '2.5', '--rounds=4'], OPTIONS)).toEqual({ ok: true, values: { duration: 2.5, rounds: 4 } });
  });

  it('rejects an unknown option, naming the known ones', () => {
    expect(parseBenchArgs(['--speed', '3'], OPTIONS)).toEqual({ ok: false, error: 'unknown option --speed (options: --duration, --rounds)' });
  });

  it('rejects a positional argument', () => {
    expect(parseBenchArgs(['8'], OPTIONS)).toEqual({ ok: false, error: "unexpected argument '8' (options: --duration, --rounds)" });
  });

  it('rejects a missing value', () => {
    expect(parseBenchArgs(['--duration'], OPTIONS)).toEqual({ ok: false, error: '--duration needs a value' });
    expect(parseBenchArgs(['--duration='], OPTIONS)).toEqual({ ok: false, error: '--duration needs a value' });
  });

  it('rejects values out of range, fractions for whole numbers and non-numbers', () => {
    expect(parseBenchArgs(['--duration', '0.5'], OPTIONS)).toEqual({ ok: false, error: "--duration must be a number from 1 to 600, got '0.5'" });
    expect(parseBenchArgs(['--rounds', '2.5'], OPTIONS)).toEqual({ ok: false, error: "--rounds must be a whole number from 1 to 20, got '2.5'" });
    expect(parseBenchArgs(['--rounds', '1e1'], OPTIONS)).toEqual({ ok: false, error: "--rounds must be a whole number from 1 to 20, got '1e1'" });
  });

  it('rejects an option given twice', () => {
    expect(parseBenchArgs(['--rounds', '2', '--rounds', '3'], OPTIONS)).toEqual({ ok: false, error: '--rounds given twice' });
  });
});

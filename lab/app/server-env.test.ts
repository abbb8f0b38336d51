import { describe, expect, it } from 'vitest';
import { parseServerEnv } from './server-env.ts';

describe('parseServerEnv', () => {
  it('defaults to auto probes and a pool of 10', () => {
    expect(parseServerEnv({})).toEqual({ ok: true, value: { usdt: 'auto', poolSize: 10 } });
  });

  it('reads LAB_USDT and LAB_PG_POOL', () => {
    expect(parseServerEnv({ LAB_USDT: 'file', LAB_PG_POOL: '4' })).toEqual({ ok: true, value: { usdt: 'file', poolSize: 4 } });
  });

  it.each([
    [{ LAB_USDT: 'usdt' }, "LAB_USDT must be one of auto, native, file, off, got 'usdt'"],
    [{ LAB_PG_POOL: '0' }, "LAB_PG_POOL must be a whole number from 1 to 50, got '0'"],
    [{ LAB_PG_POOL: '51' }, "LAB_PG_POOL must be a whole number from 1 to 50, got '51'"],
    [{ LAB_PG_POOL: 'ten' }, "LAB_PG_POOL must be a whole number from 1 to 50, got 'ten'"],
  ])('rejects %j', (env, error) => {
    expect(parseServerEnv(env)).toEqual({ ok: false, error });
  });
});

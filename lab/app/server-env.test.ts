import { describe, expect, it } from 'vitest';
import { parseServerEnv } from './server-env.ts';

describe('parseServerEnv', () => {
  it('defaults to auto probes and a pool of 10', () => {
    expect(parseServerEnv({})).toEqual({ ok: true, value: { usdt: 'auto', poolSize: 10, pgHost: '127.0.0.1' } });
  });

  it('reads LAB_USDT, LAB_PG_POOL and LAB_PG_HOST', () => {
    expect(parseServerEnv({ LAB_USDT: 'file', LAB_PG_POOL: '4', LAB_PG_HOST: '10.231.0.30' })).toEqual({ ok: true, value: { usdt: 'file', poolSize: 4, pgHost: '10.231.0.30' } });
  });

  it.each([
    [{ LAB_USDT: 'usdt' }, "LAB_USDT must be one of auto, native, file, off, got 'usdt'"],
    [{ LAB_PG_POOL: '0' }, "LAB_PG_POOL must be a whole number from 1 to 50, got '0'"],
    [{ LAB_PG_POOL: '51' }, "LAB_PG_POOL must be a whole number from 1 to 50, got '51'"],
    [{ LAB_PG_POOL: 'ten' }, "LAB_PG_POOL must be a whole number from 1 to 50, got 'ten'"],
    [{ LAB_PG_HOST: 'db.example' }, "LAB_PG_HOST must be an IPv4 address, got 'db.example'"],
    [{ LAB_PG_HOST: '10.0.0.256' }, "LAB_PG_HOST must be an IPv4 address, got '10.0.0.256'"],
  ])('rejects %j', (env, error) => {
    expect(parseServerEnv(env)).toEqual({ ok: false, error });
  });
});

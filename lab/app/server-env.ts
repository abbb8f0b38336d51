import { oneOf, PROBE_MODES, type ProbeMode } from '../../shared/modes.ts';

export const POOL_SIZE = { min: 1, max: 50, default: 10 } as const;

export interface ServerEnv {
  readonly usdt: ProbeMode;
  readonly poolSize: number;
  /** Where the pool connects to PostgreSQL (its port is the lab's). */
  readonly pgHost: string;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Reads LAB_USDT (auto|native|file|off, default auto), LAB_PG_POOL (1..50, default 10) and
 * LAB_PG_HOST (an IPv4 address, default 127.0.0.1: `lab bench inject` routes the pool through a
 * network namespace of its own).
 */
export function parseServerEnv(env: NodeJS.ProcessEnv): { ok: true; value: ServerEnv } | { ok: false; error: string } {
  const rawUsdt = env.LAB_USDT ?? 'auto';
  const usdt = oneOf(PROBE_MODES, rawUsdt);
  if (!usdt) return { ok: false, error: `LAB_USDT must be one of ${PROBE_MODES.join(', ')}, got '${rawUsdt.slice(0, 40)}'` };
  const rawPool = env.LAB_PG_POOL ?? String(POOL_SIZE.default);
  const poolSize = /^\d{1,3}$/.test(rawPool) ? Number(rawPool) : NaN;
  if (!(poolSize >= POOL_SIZE.min && poolSize <= POOL_SIZE.max)) {
    return { ok: false, error: `LAB_PG_POOL must be a whole number from ${POOL_SIZE.min} to ${POOL_SIZE.max}, got '${rawPool.slice(0, 40)}'` };
  }
  const pgHost = env.LAB_PG_HOST ?? '127.0.0.1';
  if (!IPV4.test(pgHost)) return { ok: false, error: `LAB_PG_HOST must be an IPv4 address, got '${pgHost.slice(0, 40)}'` };
  return { ok: true, value: { usdt, poolSize, pgHost } };
}

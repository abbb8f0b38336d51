/**
 * The lab's run modes, named once: `lab up --usdt/--proxy/--postgres` offers them, the lab
 * state file keeps them, and the app, the tracer and the capture read them.
 */

/** How the app fires its probes: the USDT addon (or no-op without it), the addon, JSON lines, none. */
export const PROBE_MODES = ['auto', 'native', 'file', 'off'] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];

/** The proxy tier: nginx, or the Node proxy with the same id rules and log format. */
export const PROXY_KINDS = ['nginx', 'node'] as const;
export type ProxyKind = (typeof PROXY_KINDS)[number];

/** Which PostgreSQL server the lab runs: Debian's packaged one, or the binaries from npm. */
export const POSTGRES_KINDS = ['system', 'embedded'] as const;
export type PostgresKind = (typeof POSTGRES_KINDS)[number];

/** `value` when it is one of `modes`, else null. Pure. */
export function oneOf<T extends string>(modes: readonly T[], value: unknown): T | null {
  return modes.find((m) => m === value) ?? null;
}

import { existsSync, readFileSync, writeFileSync } from 'node:fs';

import { oneOf, PROBE_MODES, PROXY_KINDS, type ProbeMode, type ProxyKind } from '../../shared/modes.ts';

/** What `lab up` was asked for, kept in `${stateDir}/lab.json` for `lab status` and restarts. */
export interface LabState {
  readonly proxy: ProxyKind | null;
  readonly usdt: ProbeMode | null;
}

export function readLabState(path: string): LabState {
  if (!existsSync(path)) return { proxy: null, usdt: null };
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const proxy = oneOf(PROXY_KINDS, raw.proxy);
    const usdt = oneOf(PROBE_MODES, raw.usdt);
    return { proxy, usdt };
  } catch {
    return { proxy: null, usdt: null };
  }
}

export function writeLabState(path: string, state: LabState): void {
  writeFileSync(path, JSON.stringify(state) + '\n');
}

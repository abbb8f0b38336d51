import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export type ProxyKind = 'nginx' | 'node';
export type UsdtMode = 'auto' | 'native' | 'file' | 'off';

/** What `lab up` was asked for, kept in `${stateDir}/lab.json` for `lab status` and restarts. */
export interface LabState {
  readonly proxy: ProxyKind | null;
  readonly usdt: UsdtMode | null;
}

export function readLabState(path: string): LabState {
  if (!existsSync(path)) return { proxy: null, usdt: null };
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const proxy = raw.proxy === 'nginx' || raw.proxy === 'node' ? raw.proxy : null;
    const usdt = ['auto', 'native', 'file', 'off'].includes(String(raw.usdt)) ? (raw.usdt as UsdtMode) : null;
    return { proxy, usdt };
  } catch {
    return { proxy: null, usdt: null };
  }
}

export function writeLabState(path: string, state: LabState): void {
  writeFileSync(path, JSON.stringify(state) + '\n');
}

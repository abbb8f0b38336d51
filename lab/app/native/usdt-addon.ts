import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { AppProbes, ProbeSwitches } from '../probes.ts';

/**
 * Where `npm run build` (node-gyp in probes/usdt-addon) puts the addon, whose probe sites are
 * 5-byte nops that the kernel can optimize.
 */
export const DEFAULT_ADDON_PATH = resolve(
  import.meta.dirname,
  '../../../probes/usdt-addon/build/Release/reqtrace_usdt.node',
);

/** The same addon with sys/sdt.h's 1-byte nop probe sites, built alongside for comparison. */
export const NOP1_ADDON_PATH = resolve(DEFAULT_ADDON_PATH, '../reqtrace_usdt_nop1.node');

export type ProbeName = keyof ProbeSwitches;

export const PROBE_NAMES: readonly ProbeName[] = [
  'requestStart',
  'requestEnd',
  'dbQueryStart',
  'dbQueryEnd',
  'cacheHit',
  'cacheMiss',
  'fileOpen',
  'fileClose',
  'poolWait',
];

/** What the native module exports (probes/usdt-addon/src/reqtrace_usdt.c). */
export interface UsdtAddon extends Omit<AppProbes, 'backend' | 'enabled' | 'poolWait'> {
  /** `newConnection` crosses as 0 or 1. */
  poolWait(requestId: string, waitUs: number, poolSize: number, busy: number, waiting: number, fd: number, newConnection: number): void;
  /** Each probe's 2-byte is-enabled semaphore, non-zero while a tracer is attached. */
  readonly semaphores: Readonly<Record<ProbeName, ArrayBuffer>>;
  /** 'nop1' (sys/sdt.h) or 'nop5' (a 5-byte nop the kernel can optimize). */
  readonly probeSite: string;
}

/** Why the addon could not be used, in words fit for a one-line warning. */
export class AddonUnavailableError extends Error {
  override readonly name = 'AddonUnavailableError';
}

/** Loads the addon from `path`; throws AddonUnavailableError naming the reason. */
export function loadUsdtAddon(path: string = DEFAULT_ADDON_PATH, platform: string = process.platform): UsdtAddon {
  if (platform !== 'linux') {
    throw new AddonUnavailableError(`USDT probes need Linux (this is ${platform})`);
  }
  if (!existsSync(path)) {
    throw new AddonUnavailableError(`USDT addon not built (${path} is missing; run npm run build)`);
  }
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(path);
  } catch (err) {
    throw new AddonUnavailableError(`USDT addon failed to load from ${path}: ${(err as Error).message}`);
  }
  return checkShape(loaded, path);
}

function checkShape(loaded: unknown, path: string): UsdtAddon {
  const mod = loaded as Partial<Record<string, unknown>> | null;
  const sems = mod?.semaphores as Partial<Record<string, unknown>> | undefined;
  for (const name of PROBE_NAMES) {
    const sem = sems?.[name];
    if (typeof mod?.[name] !== 'function' || !(sem instanceof ArrayBuffer) || sem.byteLength !== 2) {
      throw new AddonUnavailableError(`USDT addon at ${path} does not export probe ${name} with its semaphore`);
    }
  }
  return loaded as UsdtAddon;
}

/**
 * AppProbes over the addon. `enabled.*()` reads the semaphore word in place (no native call);
 * the fire functions are the native ones, called only when their probe is enabled.
 */
export function nativeProbes(addon: UsdtAddon): AppProbes {
  const s = addon.semaphores;
  const requestStart = new Uint16Array(s.requestStart);
  const requestEnd = new Uint16Array(s.requestEnd);
  const dbQueryStart = new Uint16Array(s.dbQueryStart);
  const dbQueryEnd = new Uint16Array(s.dbQueryEnd);
  const cacheHit = new Uint16Array(s.cacheHit);
  const cacheMiss = new Uint16Array(s.cacheMiss);
  const fileOpen = new Uint16Array(s.fileOpen);
  const fileClose = new Uint16Array(s.fileClose);
  const poolWait = new Uint16Array(s.poolWait);
  return {
    backend: 'native',
    enabled: {
      requestStart: () => requestStart[0] !== 0,
      requestEnd: () => requestEnd[0] !== 0,
      dbQueryStart: () => dbQueryStart[0] !== 0,
      dbQueryEnd: () => dbQueryEnd[0] !== 0,
      cacheHit: () => cacheHit[0] !== 0,
      cacheMiss: () => cacheMiss[0] !== 0,
      fileOpen: () => fileOpen[0] !== 0,
      fileClose: () => fileClose[0] !== 0,
      poolWait: () => poolWait[0] !== 0,
    },
    requestStart: addon.requestStart,
    requestEnd: addon.requestEnd,
    dbQueryStart: addon.dbQueryStart,
    dbQueryEnd: addon.dbQueryEnd,
    cacheHit: addon.cacheHit,
    cacheMiss: addon.cacheMiss,
    fileOpen: addon.fileOpen,
    fileClose: addon.fileClose,
    poolWait: (requestId, waitUs, poolSize, busy, waiting, fd, newConnection) =>
      addon.poolWait(requestId, waitUs, poolSize, busy, waiting, fd, newConnection ? 1 : 0),
  };
}

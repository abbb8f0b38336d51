/**
 * The BPF suites need the loader and the USDT addon built (`npm run build`). Outside CI a
 * missing build skips them; under CI=true it fails them, so a CI run never passes untested.
 *
 *   describeBuilt('lab trace with BPF', () => { beforeAll(() => { requireBuilt(); ... }); ... });
 */
import { existsSync } from 'node:fs';
import { describe } from 'vitest';
import { DEFAULT_ADDON_PATH } from '../lab/app/native/usdt-addon.ts';
import { LOADER_PATH } from '../tracer/spawn-loader.ts';

export const IN_CI = process.env.CI === 'true';

export const bpfBuilt = (): boolean => existsSync(LOADER_PATH) && existsSync(DEFAULT_ADDON_PATH);

/**
 * `describe` for a suite that needs something built or installed (`present`): skipped without it
 * outside CI, run (and failing, naming what is missing) under CI.
 */
export const describeIfPresent = (present: boolean): ReturnType<typeof describe.skipIf> => describe.skipIf(!present && !IN_CI);

/** `describe` for a suite that needs the loader and the addon built. */
export const describeBuilt = describeIfPresent(bpfBuilt());

/** Throws, naming what is missing, when the loader or the addon is not built. */
export function requireBuilt(): void {
  if (!bpfBuilt()) throw new Error(`the loader or the USDT addon is not built (${LOADER_PATH}, ${DEFAULT_ADDON_PATH}): run \`npm run build\``);
}

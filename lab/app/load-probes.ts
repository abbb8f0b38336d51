import { join } from 'node:path';
import { oneOf, PROBE_MODES, type ProbeMode } from '../../shared/modes.ts';
import { labConfig } from '../config.ts';
import { createFileProbes } from './file-probes.ts';
import { AddonUnavailableError, DEFAULT_ADDON_PATH, loadUsdtAddon, nativeProbes } from './native/usdt-addon.ts';
import { noopProbes, type AppProbes } from './probes.ts';


export interface LoadProbesOptions {
  /** The addon to load (default: the node-gyp build output). */
  readonly addonPath?: string;
  /** LAB_PROBE_FILE (file mode's output) and LAB_STATE_DIR are read from here. */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives auto mode's one warning line (default: stderr). */
  readonly warn?: (line: string) => void;
}

/** Checks a mode given on the command line or in the environment. */
export function parseProbeMode(raw: string): ProbeMode {
  const mode = oneOf(PROBE_MODES, raw);
  if (mode === null) throw new Error(`probe mode must be one of ${PROBE_MODES.join(', ')}, got '${raw}'`);
  return mode;
}

/**
 * Chooses the probe backend once at start-up: `native` is the USDT addon or an error, `auto`
 * falls back to no-op probes with one warning naming why, `file` writes JSON lines to
 * LAB_PROBE_FILE (default `<stateDir>/app-events.jsonl`), `off` is no-op.
 */
export async function loadProbes(mode: ProbeMode, options: LoadProbesOptions = {}): Promise<AppProbes> {
  const env = options.env ?? process.env;
  switch (parseProbeMode(mode)) {
    case 'off':
      return noopProbes;
    case 'file':
      return createFileProbes(env.LAB_PROBE_FILE || join(labConfig(env).stateDir, 'app-events.jsonl'));
    case 'native':
      return nativeProbes(loadUsdtAddon(options.addonPath ?? DEFAULT_ADDON_PATH));
    case 'auto':
      try {
        return nativeProbes(loadUsdtAddon(options.addonPath ?? DEFAULT_ADDON_PATH));
      } catch (err) {
        if (!(err instanceof AddonUnavailableError)) throw err;
        const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
        warn(`warning: app probes are off: ${err.message}`);
        return noopProbes;
      }
  }
}

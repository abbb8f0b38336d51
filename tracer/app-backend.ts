import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabConfig } from '../lab/config.ts';
import { processEnv } from '../lab/lifecycle/processes.ts';

const ADDON_NAME = 'reqtrace_usdt.node';

export type AppBackend =
  | { kind: 'native'; addonPath: string }
  | { kind: 'file'; eventsPath: string }
  /** The addon file was replaced after the app loaded it: uprobes on the new file never fire in the app. */
  | { kind: 'stale'; addonPath: string }
  | { kind: 'off' };

/**
 * How the running app fires its probes: native when the addon is mapped into it (auto mode
 * resolves at start-up, so the mapping is the truth), file when it was started with
 * `--usdt file`, otherwise off.
 */
export function appBackend(pid: number, cfg: Pick<LabConfig, 'stateDir'>, maps = readMaps(pid)): AppBackend {
  const mapped = maps
    .split('\n')
    .filter((l) => l.includes('/'))
    .map((l) => l.slice(l.indexOf('/')))
    .find((p) => p.endsWith(ADDON_NAME) || p.endsWith(`${ADDON_NAME} (deleted)`));
  if (mapped?.endsWith(' (deleted)')) return { kind: 'stale', addonPath: mapped.slice(0, -' (deleted)'.length) };
  if (mapped) return { kind: 'native', addonPath: mapped };
  if (processEnv(pid, 'LAB_USDT') === 'file') {
    return { kind: 'file', eventsPath: processEnv(pid, 'LAB_PROBE_FILE') || join(cfg.stateDir, 'app-events.jsonl') };
  }
  return { kind: 'off' };
}

function readMaps(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return '';
  }
}


import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where the lab keeps its state and which loopback ports its tiers listen on. */
export interface LabConfig {
  /** Directory for the PostgreSQL cluster, pid files, logs and rendered configs. */
  readonly stateDir: string;
  readonly host: '127.0.0.1';
  /** Proxy (nginx or the Node fallback): the lab's front door. */
  readonly proxyPort: number;
  readonly appPort: number;
  readonly pgPort: number;
}

export const DEFAULT_PORT_BASE = 18080;

/**
 * `<repo>/.lab` when every directory above it lets other users in (PostgreSQL runs as the
 * `postgres` user and must reach its data directory); otherwise a directory under /var/tmp named
 * for the repository, so a clone under a private home directory still works.
 */
export function defaultStateDir(repoRoot: string): string {
  for (let dir = resolve(repoRoot); ; dir = dirname(dir)) {
    let mode: number;
    try {
      mode = statSync(dir).mode;
    } catch {
      break;
    }
    if ((mode & 0o001) === 0) {
      const tag = createHash('sha256').update(resolve(repoRoot)).digest('hex').slice(0, 12);
      return `/var/tmp/reqtrace-lab-${tag}`;
    }
    if (dir === dirname(dir)) break;
  }
  return resolve(repoRoot, '.lab');
}

/**
 * Reads LAB_STATE_DIR (default: see defaultStateDir) and LAB_PORT_BASE (default 18080: proxy = base,
 * app = base + 1, PostgreSQL = base + 2), so tests and parallel labs never collide.
 */
export function labConfig(env: NodeJS.ProcessEnv = process.env, repoRoot = resolve(import.meta.dirname, '..')): LabConfig {
  const rawBase = env.LAB_PORT_BASE ?? String(DEFAULT_PORT_BASE);
  const base = Number(rawBase);
  if (!Number.isInteger(base) || base < 1024 || base > 65530) {
    throw new Error(`LAB_PORT_BASE must be a whole number from 1024 to 65530, got '${rawBase}'`);
  }
  return {
    stateDir: resolve(env.LAB_STATE_DIR ?? defaultStateDir(repoRoot)),
    host: '127.0.0.1',
    proxyPort: base,
    appPort: base + 1,
    pgPort: base + 2,
  };
}

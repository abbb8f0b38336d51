/** Starts pg-relay-main.ts inside a link's namespace, listening where the app will connect. */
import { join } from 'node:path';
import type { LabConfig } from '../config.ts';
import { pgPaths } from '../db/postgres-cluster.ts';
import { REPO_ROOT } from '../lifecycle/app-tier.ts';
import { startHelper, type HelperProcess } from './helper-process.ts';
import type { NetnsLink } from './netns-link.ts';

/** Niceness of the fault helpers on the path of every packet (the relay, nfq-fault). */
export const HELPER_NICE = -10;

/** PostgreSQL's unix socket of the lab (its path reaches across network namespaces). */
export const pgSocketPath = (cfg: LabConfig): string => join(pgPaths(cfg).run, `.s.PGSQL.${cfg.pgPort}`);

/**
 * The relay on `link.nsAddr`:<PostgreSQL's port>, for at most `seconds`. It runs at a raised
 * priority: its hop is on every round trip, and its wakeups on a busy machine would otherwise
 * add milliseconds that belong to no fault.
 */
export function startPgRelay(cfg: LabConfig, link: NetnsLink, seconds: number): Promise<HelperProcess> {
  const args = ['netns', 'exec', link.netns, 'nice', '-n', String(HELPER_NICE), process.execPath, '--import', 'tsx', join('lab', 'faults', 'pg-relay-main.ts'), link.nsAddr, String(cfg.pgPort), pgSocketPath(cfg), String(Math.ceil(seconds))];
  return startHelper('pg relay', 'ip', args, { cwd: REPO_ROOT, readyTimeoutMs: 20_000 });
}

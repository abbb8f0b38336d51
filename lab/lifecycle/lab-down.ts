import type { LabConfig } from '../config.ts';
import { stopPostgres } from '../db/postgres.ts';
import { postgresPid } from '../db/postgres-cluster.ts';
import { stopApp } from './app-tier.ts';
import { assertLabOwner } from './lab-owner.ts';
import { labStatus } from './lab-status.ts';
import { isAlive, resumeStoppedChildren, waitUntil } from './processes.ts';
import { stopProxy } from './proxy-tier.ts';
import { stoppedLabProcesses } from './stopped-processes.ts';

/** What `lab down` stopped, by tier (empty/null when a tier was not running). */
export interface LabDownReport {
  readonly proxy: readonly number[];
  readonly app: number | null;
  readonly postgres: number | null;
}

/**
 * Stops the proxy, then the app, then PostgreSQL (front to back, so no tier loses its upstream
 * while still taking requests), removes the pid files and checks every stopped pid is gone.
 * Each tier is attempted even when an earlier one fails; the first failure is then thrown.
 * Only the owner of the state directory may run it.
 */
export async function labDown(cfg: LabConfig, progress: (line: string) => void = () => {}): Promise<LabDownReport> {
  assertLabOwner('down', cfg.stateDir);
  const errors: string[] = [];
  const attempt = async <T>(tier: string, fn: () => Promise<T>, none: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      errors.push(`${tier}: ${err instanceof Error ? err.message : String(err)}`);
      return none;
    }
  };
  // A stopped process keeps SIGTERM pending: resume it first so it can shut down cleanly.
  const stopped = stoppedLabProcesses(labStatus(cfg, () => null));
  for (const p of stopped) {
    try {
      process.kill(p.pid, 'SIGCONT');
    } catch {
      // exited meanwhile
    }
  }
  if (stopped.length) progress(`resumed stopped ${stopped.map((p) => `${p.role} ${p.pid}`).join(', ')}`);
  const proxy = await attempt('proxy', () => stopProxy(cfg), [] as number[]);
  if (proxy.length) progress(`proxy: stopped pid ${proxy.join(', ')}`);
  const app = await attempt('app', () => stopApp(cfg), null);
  if (app !== null) progress(`app: stopped pid ${app}`);
  const pgPid = postgresPid(cfg);
  if (pgPid !== null) {
    const resumed = resumeStoppedChildren(pgPid);
    if (resumed.length) progress(`postgres: resumed stopped backend pid ${resumed.join(', ')}`);
  }
  await attempt('postgres', () => stopPostgres(cfg), undefined);
  if (pgPid !== null) {
    await waitUntil(() => !isAlive(pgPid), 10_000);
    progress(`postgres: stopped pid ${pgPid}`);
  }
  const survivors = [...proxy, ...(app === null ? [] : [app]), ...(pgPid === null ? [] : [pgPid])].filter(isAlive);
  if (survivors.length) errors.push(`still running after down: pid ${survivors.join(', ')}`);
  if (errors.length) throw new Error(errors.join('; '));
  return { proxy, app, postgres: pgPid };
}

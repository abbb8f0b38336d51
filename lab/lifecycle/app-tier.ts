import type { ProbeMode } from '../../shared/modes.ts';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LabConfig } from '../config.ts';
import { answers } from './http-get.ts';
import { environReadable, isAlive, processCmdline, processEnv, readPidFile, removeFile, tailFile, terminate, waitUntil } from './processes.ts';
import { labPaths } from './state-paths.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const APP_ENTRY = 'lab/app/server.ts';

/** The env that places a lab child process on this config's ports and state dir. */
export function labEnv(cfg: LabConfig, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, LAB_PORT_BASE: String(cfg.proxyPort), LAB_STATE_DIR: cfg.stateDir, ...extra };
}

/**
 * True when `pid` is a lab node process of this state dir running `entry` (guards against pid
 * reuse). Another user's process hides its environment, so for it the command line decides.
 */
export function isOurNodeProcess(pid: number, entry: string, cfg: LabConfig): boolean {
  if (!isAlive(pid) || !(processCmdline(pid) ?? '').includes(entry)) return false;
  const dir = processEnv(pid, 'LAB_STATE_DIR');
  return dir === cfg.stateDir || (dir === null && !environReadable(pid));
}

/** The running app's pid from its pid file, or null. Reads only: a stale pid file stays until `lab up` or `lab down`. */
export function appPid(cfg: LabConfig): number | null {
  const pid = readPidFile(labPaths(cfg).appPid);
  return pid !== null && isOurNodeProcess(pid, APP_ENTRY, cfg) ? pid : null;
}

export const appHealthUrl = (cfg: LabConfig): string => `http://${cfg.host}:${cfg.appPort}/healthz`;

/**
 * Starts the app detached (logs in logs/app.log) and waits for /healthz; returns its pid. `env`
 * adds to or (undefined) removes from the environment it inherits (LAB_PG_POOL, LAB_PG_HOST).
 */
export async function startApp(cfg: LabConfig, usdt: ProbeMode, timeoutMs = 30_000, env: Readonly<Record<string, string | undefined>> = {}): Promise<number> {
  const paths = labPaths(cfg);
  mkdirSync(paths.logsDir, { recursive: true });
  const log = openSync(paths.appLog, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', APP_ENTRY], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', log, log],
    env: Object.fromEntries(Object.entries({ ...labEnv(cfg, { LAB_USDT: usdt }), ...env }).filter(([, v]) => v !== undefined)),
  });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start the app (${join(REPO_ROOT, APP_ENTRY)})`);
  child.unref();
  writeFileSync(paths.appPid, `${pid}\n`);
  let exited: number | null = null;
  child.once('exit', (code, signal) => (exited = code ?? (signal ? 128 : 1)));
  const healthy = await waitUntil(async () => exited !== null || (await answers(appHealthUrl(cfg), 1000)), timeoutMs, 100);
  if (exited !== null || !healthy) {
    await terminate([pid]);
    removeFile(paths.appPid);
    const why = exited !== null ? `exited with status ${exited}` : `did not answer ${appHealthUrl(cfg)} within ${timeoutMs / 1000} s`;
    const last = tailFile(paths.appLog, 1);
    throw new Error(`app ${why} (log: ${paths.appLog})${last ? `: ${last}` : ''}`);
  }
  return pid;
}

/** Stops the app if it runs; returns the pid it stopped, or null. */
export async function stopApp(cfg: LabConfig): Promise<number | null> {
  const pid = appPid(cfg);
  if (pid !== null) {
    const left = await terminate([pid]);
    if (left.length) throw new Error(`app (pid ${pid}) did not exit`);
  }
  removeFile(labPaths(cfg).appPid);
  return pid;
}

import type { ProxyKind } from '../../shared/modes.ts';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import type { LabConfig } from '../config.ts';
import { readNginxTemplate, renderNginxConf } from '../nginx/render-nginx-conf.ts';
import { labEnv, isOurNodeProcess, REPO_ROOT } from './app-tier.ts';
import { findBinary, requireBinary } from './binaries.ts';
import { answers } from './http-get.ts';
import { childPids, isAlive, processCmdline, readPidFile, removeFile, tailFile, terminate, waitUntil } from './processes.ts';
import { labPaths } from './state-paths.ts';

const NODE_PROXY_ENTRY = 'lab/nginx/node-proxy.ts';
/** One worker leaves the second core to the app, PostgreSQL and the load generator. */
export const NGINX_WORKERS = 1;

export interface ProxyProcesses {
  readonly kind: ProxyKind;
  /** nginx master, or the Node proxy. */
  readonly pid: number;
  /** nginx workers (empty for the Node proxy). */
  readonly workers: readonly number[];
}

/** nginx when installed, else the Node proxy. */
export function defaultProxyKind(): ProxyKind {
  return findBinary('nginx') ? 'nginx' : 'node';
}

/** The running proxy of this state dir, or null. Reads only: a stale pid file stays until `lab up` or `lab down`. */
export function proxyProcesses(cfg: LabConfig): ProxyProcesses | null {
  const paths = labPaths(cfg);
  const pid = readPidFile(paths.proxyPid);
  if (pid === null) return null;
  if (isAlive(pid) && (processCmdline(pid) ?? '').includes(paths.nginxConf)) {
    return { kind: 'nginx', pid, workers: childPids(pid) };
  }
  if (isOurNodeProcess(pid, NODE_PROXY_ENTRY, cfg)) return { kind: 'node', pid, workers: [] };
  return null;
}

export const proxyHealthUrl = (cfg: LabConfig): string => `http://${cfg.host}:${cfg.proxyPort}/healthz`;

function spawnNginx(cfg: LabConfig): { pid: number; exited: () => number | null } {
  const nginx = requireBinary('nginx');
  const paths = labPaths(cfg);
  for (const d of [paths.logsDir, paths.nginxDir, paths.nginxTempDir]) mkdirSync(d, { recursive: true });
  const conf = renderNginxConf(readNginxTemplate(), {
    PROXY_PORT: cfg.proxyPort,
    APP_PORT: cfg.appPort,
    WORKERS: NGINX_WORKERS,
    PID_FILE: paths.proxyPid,
    ERROR_LOG: paths.nginxErrorLog,
    ACCESS_LOG: paths.accessLog,
    TEMP_DIR: paths.nginxTempDir,
  });
  writeFileSync(paths.nginxConf, conf);
  return spawnDetached(nginx, ['-p', `${paths.nginxDir}/`, '-c', paths.nginxConf, '-e', paths.nginxErrorLog], cfg);
}

function spawnDetached(cmd: string, args: string[], cfg: LabConfig): { pid: number; exited: () => number | null } {
  const paths = labPaths(cfg);
  mkdirSync(paths.logsDir, { recursive: true });
  const log = openSync(paths.proxyLog, 'a');
  const child = spawn(cmd, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', log, log], env: labEnv(cfg) });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  child.unref();
  let status: number | null = null;
  child.once('exit', (code, signal) => (status = code ?? (signal ? 128 : 1)));
  return { pid: child.pid, exited: () => status };
}

/**
 * Starts the proxy and waits until a request through it reaches the app's /healthz.
 * The app must be running.
 */
export async function startProxy(cfg: LabConfig, kind: ProxyKind, timeoutMs = 15_000): Promise<ProxyProcesses> {
  const paths = labPaths(cfg);
  const child =
    kind === 'nginx'
      ? spawnNginx(cfg)
      : spawnDetached(process.execPath, ['--import', 'tsx', NODE_PROXY_ENTRY], cfg);
  writeFileSync(paths.proxyPid, `${child.pid}\n`);
  const ok = await waitUntil(async () => child.exited() !== null || (await answers(proxyHealthUrl(cfg), 1000)), timeoutMs, 50);
  if (child.exited() !== null || !ok) {
    await terminate([child.pid]);
    removeFile(paths.proxyPid);
    const log = kind === 'nginx' ? paths.nginxErrorLog : paths.proxyLog;
    const last = tailFile(log, 1) || tailFile(paths.proxyLog, 1);
    const why = child.exited() !== null ? `exited with status ${child.exited()}` : `did not answer ${proxyHealthUrl(cfg)} within ${timeoutMs / 1000} s`;
    throw new Error(`${kind} proxy ${why} (log: ${log})${last ? `: ${last}` : ''}`);
  }
  return { kind, pid: child.pid, workers: kind === 'nginx' ? childPids(child.pid) : [] };
}

/** Stops the proxy (master and workers) if it runs; returns the pids it stopped. */
export async function stopProxy(cfg: LabConfig): Promise<number[]> {
  const running = proxyProcesses(cfg);
  if (running === null) {
    removeFile(labPaths(cfg).proxyPid);
    return [];
  }
  const pids = [running.pid, ...running.workers];
  // SIGTERM is nginx's fast shutdown; the master takes its workers down with it.
  const left = await terminate(pids);
  if (left.length) throw new Error(`proxy pids ${left.join(', ')} did not exit`);
  removeFile(labPaths(cfg).proxyPid);
  return pids;
}

import type { PostgresKind, ProbeMode, ProxyKind } from '../../shared/modes.ts';
import { mkdirSync } from 'node:fs';
import type { LabConfig } from '../config.ts';
import { startPostgres, stopPostgres } from '../db/postgres.ts';
import { postgresVersion, resolvePostgresKind } from '../db/postgres-binaries.ts';
import { runningPostgres } from '../db/postgres-cluster.ts';
import { appHealthUrl, appPid, startApp, stopApp } from './app-tier.ts';
import { answers } from './http-get.ts';
import { readLabState, writeLabState } from './lab-state.ts';
import { assertLabOwner } from './lab-owner.ts';
import { labStatusLive, type LabStatus } from './lab-status.ts';
import { assertPortFree } from './ports.ts';
import { defaultProxyKind, proxyHealthUrl, proxyProcesses, startProxy, stopProxy } from './proxy-tier.ts';
import { labPaths } from './state-paths.ts';

export interface LabUpOptions {
  readonly proxy?: ProxyKind;
  readonly usdt?: ProbeMode;
  /** PostgreSQL server; default: the one running, else the one last started here, else system when installed, else embedded. */
  readonly postgres?: PostgresKind;
  /** Progress lines (stderr for the CLI). */
  readonly progress?: (line: string) => void;
}

/**
 * Starts PostgreSQL, the app and the proxy, each only if it is not already running with the
 * asked-for settings, so a second `lab up` is harmless. A port held by anything else fails
 * fast, naming the port and its holder. Only the owner of the state directory may run it.
 */
export async function labUp(cfg: LabConfig, opts: LabUpOptions = {}): Promise<LabStatus> {
  const say = opts.progress ?? (() => {});
  assertLabOwner('up', cfg.stateDir);
  const paths = labPaths(cfg);
  mkdirSync(paths.logsDir, { recursive: true });
  const previous = readLabState(paths.stateFile);
  const proxyKind = opts.proxy ?? previous.proxy ?? defaultProxyKind();
  const usdt = opts.usdt ?? previous.usdt ?? 'auto';

  const pgRunning = runningPostgres(cfg);
  // Throws (before anything starts) when the asked-for or default server is not installed.
  const pgKind = opts.postgres !== undefined ? resolvePostgresKind(cfg, opts.postgres) : (pgRunning?.kind ?? resolvePostgresKind(cfg));

  // Check every port we are about to take before starting anything, so a clash leaves nothing half up.
  if (pgRunning === null) await assertPortFree(cfg.pgPort, 'postgres');
  let app = appPid(cfg);
  if (app !== null && (previous.usdt !== usdt || !(await answers(appHealthUrl(cfg), 2000)))) {
    say(`app: restarting (usdt ${previous.usdt ?? '?'} -> ${usdt})`);
    await stopApp(cfg);
    app = null;
  }
  if (app === null) await assertPortFree(cfg.appPort, 'app');
  let proxy = proxyProcesses(cfg);
  if (proxy !== null && proxy.kind !== proxyKind) {
    say(`proxy: replacing ${proxy.kind} with ${proxyKind}`);
    await stopProxy(cfg);
    proxy = null;
  }
  if (proxy === null) await assertPortFree(cfg.proxyPort, 'proxy');

  if (pgRunning !== null && pgRunning.kind !== pgKind) {
    say(`postgres: replacing the ${pgRunning.kind} server with the ${pgKind} one (each keeps its own cluster)`);
    await stopPostgres(cfg);
  }
  const pg = await startPostgres(cfg, { kind: pgKind });
  say(`postgres: pid ${pg.pid}, PostgreSQL ${pg.version} (${pg.kind}), port ${cfg.pgPort}${pg.seed ? ` (seeded in ${pg.seed.seconds.toFixed(1)} s)` : ''}`);
  for (const note of pg.notes) say(`postgres: ${note}`);

  if (app === null) {
    app = await startApp(cfg, usdt);
    say(`app: pid ${app}, port ${cfg.appPort}, usdt=${usdt}`);
  } else {
    say(`app: already running (pid ${app})`);
  }
  writeLabState(paths.stateFile, { proxy: proxyKind, usdt });

  if (proxy === null) {
    proxy = await startProxy(cfg, proxyKind);
    say(`proxy: ${proxy.kind} pid ${proxy.pid}, port ${cfg.proxyPort}`);
  } else if (!(await answers(proxyHealthUrl(cfg), 2000))) {
    throw new Error(`${proxy.kind} proxy (pid ${proxy.pid}) runs but ${proxyHealthUrl(cfg)} does not answer; see ${paths.logsDir}`);
  } else {
    say(`proxy: already running (${proxy.kind} pid ${proxy.pid})`);
  }
  return labStatusLive(cfg, () => pg.version ?? postgresVersion());
}

import { join } from 'node:path';
import type { LabConfig } from '../config.ts';

/** Every file the lab lifecycle keeps in the state directory, in one place. */
export interface LabPaths {
  readonly logsDir: string;
  /** JSON written by `lab up`: which proxy and probe backend were asked for. */
  readonly stateFile: string;
  readonly appPid: string;
  readonly appLog: string;
  /** Master pid of nginx, or the Node proxy's pid. */
  readonly proxyPid: string;
  readonly proxyLog: string;
  /** JSON-lines access log written by either proxy (`NginxAccessEntry` fields, raw names). */
  readonly accessLog: string;
  readonly nginxDir: string;
  readonly nginxConf: string;
  readonly nginxTempDir: string;
  readonly nginxErrorLog: string;
  readonly lastLoad: string;
}

/** Paths under `cfg.stateDir`; pure. */
export function labPaths(cfg: Pick<LabConfig, 'stateDir'>): LabPaths {
  const logsDir = join(cfg.stateDir, 'logs');
  const nginxDir = join(cfg.stateDir, 'nginx');
  return {
    logsDir,
    stateFile: join(cfg.stateDir, 'lab.json'),
    appPid: join(cfg.stateDir, 'app.pid'),
    appLog: join(logsDir, 'app.log'),
    proxyPid: join(cfg.stateDir, 'proxy.pid'),
    proxyLog: join(logsDir, 'proxy.log'),
    accessLog: join(logsDir, 'access.jsonl'),
    nginxDir,
    nginxConf: join(nginxDir, 'nginx.conf'),
    nginxTempDir: join(nginxDir, 'tmp'),
    nginxErrorLog: join(logsDir, 'nginx-error.log'),
    lastLoad: join(cfg.stateDir, 'last-load.jsonl'),
  };
}

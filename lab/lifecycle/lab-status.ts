import type { PostgresKind, ProbeMode, ProxyKind } from '../../shared/modes.ts';
import type { LabConfig } from '../config.ts';
import { readPostgresRecord, runningPostgres } from '../db/postgres-cluster.ts';
import { appHealthUrl, appPid } from './app-tier.ts';
import { httpRequest } from './http-get.ts';
import { readLabState } from './lab-state.ts';
import { proxyProcesses } from './proxy-tier.ts';
import { labPaths } from './state-paths.ts';
import { formatStopped, stoppedLabProcesses, type StoppedProcess } from './stopped-processes.ts';

/** `lab status --json`: each tier's pid (null when it is not running) and port. */
export interface LabStatus {
  readonly proxy: { readonly kind: ProxyKind | null; readonly pid: number | null; readonly workers: readonly number[]; readonly port: number };
  readonly app: {
    readonly pid: number | null;
    readonly port: number;
    /** The probe backend asked for at `lab up`. */
    readonly usdt: ProbeMode | null;
    /** The backend the app reports on /healthz ('native', 'file', 'off'), null when unknown. */
    readonly probes: string | null;
  };
  readonly postgres: {
    readonly pid: number | null;
    readonly port: number;
    readonly version: string | null;
    /** Debian's server or the one from npm; null when stopped. */
    readonly kind: PostgresKind | null;
    /** The server binary has USDT probes (the postgres BPF family can attach); null when unknown. */
    readonly usdt: boolean | null;
    /** pg_stat_statements is preloaded; null when unknown. */
    readonly pgStatStatements: boolean | null;
  };
  readonly stateDir: string;
  /** Lab processes in state T (stopped): they exist but answer nothing. */
  readonly stopped: readonly StoppedProcess[];
}

async function appProbes(cfg: LabConfig): Promise<string | null> {
  try {
    const r = await httpRequest(appHealthUrl(cfg), { timeoutMs: 2000 });
    const probes = (JSON.parse(r.body) as { probes?: unknown }).probes;
    return typeof probes === 'string' ? probes : null;
  } catch {
    return null;
  }
}

/** Reads pid files and /proc (app.probes stays null); never starts or stops anything. */
export function labStatus(cfg: LabConfig, pgVersion: () => string | null): LabStatus {
  const state = readLabState(labPaths(cfg).stateFile);
  const proxy = proxyProcesses(cfg);
  const app = appPid(cfg);
  const pg = runningPostgres(cfg);
  const rec = readPostgresRecord(cfg);
  const known = pg !== null && rec?.kind === pg.kind ? rec : null;
  const tiers = {
    proxy: { kind: proxy?.kind ?? null, pid: proxy?.pid ?? null, workers: proxy?.workers ?? [], port: cfg.proxyPort },
    app: { pid: app, port: cfg.appPort, usdt: app === null ? null : state.usdt, probes: null },
    postgres: {
      pid: pg?.pid ?? null,
      port: cfg.pgPort,
      version: pg === null ? null : (known?.version ?? pgVersion()),
      kind: pg?.kind ?? null,
      usdt: known?.usdt ?? null,
      pgStatStatements: known?.pgStatStatements ?? null,
    },
    stateDir: cfg.stateDir,
  };
  return { ...tiers, stopped: stoppedLabProcesses(tiers) };
}

/** labStatus plus the probe backend the app reports on /healthz. */
export async function labStatusLive(cfg: LabConfig, pgVersion: () => string | null): Promise<LabStatus> {
  const s = labStatus(cfg, pgVersion);
  return s.app.pid === null ? s : { ...s, app: { ...s.app, probes: await appProbes(cfg) } };
}

/** True when every tier runs (none of its processes may be stopped: see `stopped`). */
export function labIsUp(s: LabStatus): boolean {
  return s.proxy.pid !== null && s.app.pid !== null && s.postgres.pid !== null;
}

function postgresNote(p: LabStatus['postgres']): string {
  const facts = [
    p.kind,
    p.usdt === false ? 'no USDT probes' : null,
    p.pgStatStatements === false ? 'no pg_stat_statements' : null,
  ].filter((f): f is string => f !== null);
  return facts.length ? ` (${facts.join(', ')})` : '';
}

/** The status as a small table for people. */
export function formatLabStatus(s: LabStatus): string {
  const row = (tier: string, pid: number | null, port: number, note: string): string =>
    `${tier.padEnd(9)} ${(pid === null ? 'stopped' : `pid ${pid}`).padEnd(12)} 127.0.0.1:${port}  ${note}`.trimEnd();
  return [
    row('proxy', s.proxy.pid, s.proxy.port, s.proxy.kind ? `${s.proxy.kind}${s.proxy.workers.length ? ` (workers ${s.proxy.workers.join(', ')})` : ''}` : ''),
    row('app', s.app.pid, s.app.port, s.app.usdt ? `usdt=${s.app.usdt}${s.app.probes ? ` (probes: ${s.app.probes})` : ''}` : ''),
    row('postgres', s.postgres.pid, s.postgres.port, s.postgres.version ? `PostgreSQL ${s.postgres.version}${postgresNote(s.postgres)}` : ''),
    `state     ${s.stateDir}`,
    ...(s.stopped.length > 0 ? [`problem   ${formatStopped(s.stopped)}`] : []),
  ].join('\n');
}

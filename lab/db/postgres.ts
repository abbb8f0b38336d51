import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import type { LabConfig } from '../config.ts';

/** Debian's PostgreSQL 15 server binaries. */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** Database, application role and superuser of the private cluster. */
export const PG_DATABASE = 'reqtrace';
export const PG_APP_ROLE = 'lab';
export const PG_SUPERUSER = 'postgres';
/**
 * Authentication, by design: the unprivileged role `lab` logs in over TCP on 127.0.0.1 only,
 * with scram-sha-256 and this fixed password (the cluster is a throwaway lab, not a secret).
 * The superuser is reachable only through the unix socket in `<state>/pg/run` (mode 0700,
 * trust), so no other local user can become superuser through the lab's port.
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

/** Files of the private cluster under the state directory. */
export interface PgPaths {
  readonly root: string;
  readonly data: string;
  /** Unix socket directory. */
  readonly run: string;
  readonly log: string;
}

/** Paths of the cluster for `cfg`; pure. */
export function pgPaths(cfg: Pick<LabConfig, 'stateDir'>): PgPaths {
  const root = join(cfg.stateDir, 'pg');
  return { root, data: join(root, 'data'), run: join(root, 'run'), log: join(root, 'postgresql.log') };
}

export interface StartPostgresOptions {
  /** Overrides DEFAULT_LOG_MIN_DURATION_MS; 0 logs every statement, -1 none. */
  readonly logMinDurationMs?: number;
}

/** Timing of the seed when this call applied it (null when the cluster was already seeded). */
export interface SeedReport {
  readonly seconds: number;
}

/**
 * Starts the private cluster (initdb, configure, start, create role/database, schema, seed),
 * or returns the running postmaster's pid. Throws a one-line reason on failure.
 */
export async function startPostgres(
  cfg: LabConfig,
  opts: StartPostgresOptions = {},
): Promise<{ pid: number; version: string; seed: SeedReport | null }> {
  const version = postgresVersion();
  const paths = pgPaths(cfg);
  const owner = clusterOwner();

  let pid = postgresPid(cfg);
  if (pid !== null) {
    const runningPort = postmasterPort(paths.data);
    if (runningPort !== null && runningPort !== cfg.pgPort) {
      throw new Error(`PostgreSQL in ${paths.data} already runs on port ${runningPort}, not ${cfg.pgPort}; stop it first`);
    }
  } else {
    await ensurePortFree(cfg.pgPort);
    prepareDirectories(cfg.stateDir, paths, owner);
    if (!existsSync(join(paths.data, 'PG_VERSION'))) await initdb(paths, owner);
    writeClusterConfig(cfg, paths, owner, opts);
    await startServer(paths, owner);
    pid = postgresPid(cfg);
    if (pid === null) throw new Error(`PostgreSQL did not stay up; see ${paths.log}: ${lastLogLine(paths.log)}`);
  }
  const seed = await ensureDatabase(cfg);
  return { pid, version, seed };
}

/** Stops the cluster (fast shutdown) and waits for it to exit; harmless when it is not running. */
export async function stopPostgres(cfg: LabConfig): Promise<void> {
  const paths = pgPaths(cfg);
  if (postgresPid(cfg) === null) return;
  const owner = clusterOwner();
  try {
    await run(join(PG_BIN_DIR, 'pg_ctl'), ['stop', '-D', paths.data, '-m', 'fast', '-w', '-t', '60'], owner, paths.root);
  } catch (err) {
    if (postgresPid(cfg) !== null) throw new Error(`pg_ctl stop failed: ${oneLine(err)}`);
  }
}

/** The postmaster's pid when it is alive, else null. */
export function postgresPid(cfg: Pick<LabConfig, 'stateDir'>): number | null {
  const pidFile = join(pgPaths(cfg).data, 'postmaster.pid');
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  // A stale pid file may name a pid that now belongs to an unrelated process.
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

/** Superuser config over the unix socket, for setup and for inspecting the cluster in tests. */
export function pgAdminConnectionConfig(cfg: Pick<LabConfig, 'stateDir' | 'pgPort'>, database = PG_DATABASE): pg.ClientConfig {
  return { host: pgPaths(cfg).run, port: cfg.pgPort, user: PG_SUPERUSER, database, application_name: 'reqtrace-admin' };
}

/** The server version, e.g. '15.14'; throws with the install hint when the binaries are missing. */
export function postgresVersion(): string {
  const postgres = join(PG_BIN_DIR, 'postgres');
  try {
    accessSync(postgres, constants.X_OK);
    accessSync(join(PG_BIN_DIR, 'pg_ctl'), constants.X_OK);
    accessSync(join(PG_BIN_DIR, 'initdb'), constants.X_OK);
  } catch {
    throw new Error(`PostgreSQL 15 server binaries not found in ${PG_BIN_DIR}: apt-get install postgresql postgresql-contrib`);
  }
  const contrib = '/usr/share/postgresql/15/extension/pg_stat_statements.control';
  if (!existsSync(contrib)) {
    throw new Error(`pg_stat_statements is missing (${contrib}): apt-get install postgresql postgresql-contrib`);
  }
  const out = readVersion(postgres);
  const m = /\(PostgreSQL\) (\S+)/.exec(out);
  if (!m?.[1]) throw new Error(`cannot read the PostgreSQL version from '${out.trim()}'`);
  return m[1];
}

function readVersion(postgres: string): string {
  return execFileSync(postgres, ['--version'], { encoding: 'utf8' });
}

/** uid/gid to run the cluster as: `postgres` when we are root (postgres refuses root). */
interface Owner {
  readonly uid: number;
  readonly gid: number;
  readonly switchUser: boolean;
}

function clusterOwner(): Owner {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? -1, switchUser: false };
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  const pUid = Number(fields?.[2]);
  const pGid = Number(fields?.[3]);
  if (!fields || !Number.isInteger(pUid) || !Number.isInteger(pGid)) {
    throw new Error('running as root but there is no `postgres` user to run the server: apt-get install postgresql');
  }
  return { uid: pUid, gid: pGid, switchUser: true };
}

function prepareDirectories(stateDir: string, paths: PgPaths, owner: Owner): void {
  mkdirSync(stateDir, { recursive: true });
  for (const dir of [paths.root, paths.run]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner.switchUser) {
    chownSync(paths.root, owner.uid, owner.gid);
    chownSync(paths.run, owner.uid, owner.gid);
    if (existsSync(paths.data)) chownSync(paths.data, owner.uid, owner.gid);
    if (existsSync(paths.log)) chownSync(paths.log, owner.uid, owner.gid);
    checkReachable(paths.root, owner);
  }
  chmodSync(paths.run, 0o700);
}

/** The server user must be able to walk down to its directory; root-only 0700 parents stop it. */
function checkReachable(dir: string, owner: Owner): void {
  for (let d = dirname(resolve(dir)); ; d = dirname(d)) {
    const st = statSync(d);
    const ok = st.uid === owner.uid ? (st.mode & 0o100) !== 0 : st.gid === owner.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!ok) throw new Error(`the postgres user cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}): chmod o+x ${d} or use another LAB_STATE_DIR`);
    if (d === '/') return;
  }
}

async function initdb(paths: PgPaths, owner: Owner): Promise<void> {
  try {
    await run(
      join(PG_BIN_DIR, 'initdb'),
      ['-D', paths.data, '-U', PG_SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      owner,
      paths.root,
    );
  } catch (err) {
    throw new Error(`initdb failed: ${oneLine(err)}`);
  }
}

/** Lab settings live in lab.conf (rewritten on every start) so a new port or log level applies. */
function writeClusterConfig(cfg: LabConfig, paths: PgPaths, owner: Owner, opts: StartPostgresOptions): void {
  const logMin = opts.logMinDurationMs ?? DEFAULT_LOG_MIN_DURATION_MS;
  if (!Number.isInteger(logMin) || logMin < -1) throw new Error(`logMinDurationMs must be an integer >= -1, got ${logMin}`);
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port: cfg.pgPort,
    unix_socket_directories: paths.run,
    unix_socket_permissions: '0700',
    max_connections: 40,
    shared_buffers: '128MB',
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    'pg_stat_statements.max': 5000,
    // Utility statements are keyed by their text in PostgreSQL 15, so every BEGIN/COMMIT with
    // its own request-id comment would become a separate entry and churn the table.
    'pg_stat_statements.track_utility': 'off',
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

async function startServer(paths: PgPaths, owner: Owner): Promise<void> {
  try {
    await run(join(PG_BIN_DIR, 'pg_ctl'), ['start', '-D', paths.data, '-l', paths.log, '-w', '-t', '60'], owner, paths.root);
  } catch (err) {
    throw new Error(`PostgreSQL failed to start (${oneLine(err)}); last log line: ${lastLogLine(paths.log)}`);
  }
}

/** Creates role, database, extension, schema and seed when missing; returns the seed timing. */
async function ensureDatabase(cfg: LabConfig): Promise<SeedReport | null> {
  const admin = new pg.Client(pgAdminConnectionConfig(cfg, 'postgres'));
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
  const client = new pg.Client(pgAdminConnectionConfig(cfg));
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
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

function postmasterPort(dataDir: string): number | null {
  try {
    const port = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
    return Number.isInteger(port) ? port : null;
  } catch {
    return null;
  }
}

function run(cmd: string, args: string[], owner: Owner, cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd,
        encoding: 'utf8',
        timeout: 120_000,
        env: { PATH: `${PG_BIN_DIR}:/usr/bin:/bin`, LC_ALL: 'C', LANG: 'C' },
        ...(owner.switchUser ? { uid: owner.uid, gid: owner.gid } : {}),
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd.split('/').pop()} exited: ${(stderr || stdout || err.message).trim()}`));
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

/**
 * The private cluster's lifecycle: initdb, configuration, start (then role, database and seed),
 * fast stop.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { POSTGRES_KINDS, type PostgresKind } from '../../shared/modes.ts';
import type { LabConfig } from '../config.ts';
import { oneLine } from './one-line.ts';
import { PG_APP_ROLE, PG_DATABASE, PG_SUPERUSER } from './pg-credentials.ts';
import { postgresVersion, prepareServer, resolvePostgresKind } from './postgres-binaries.ts';
import { pgPaths, postmasterPid, postmasterPort, readPostgresRecord, recordNotes, runningPostgres, writePostgresRecord, type PgPaths } from './postgres-cluster.ts';
import { ensureDatabase, type SeedReport } from './seed-database.ts';
import { checkReachable, embeddedServerOwner, systemServerOwner, type ServerOwner } from './server-owner.ts';


/**
 * Statements running at least this long are written to the server log with their text (and
 * so the request id comment) and duration. Statements made slow on purpose (db_delay_ms),
 * lock waits and cold reads land there; the sub-millisecond bulk does not, so the log adds no
 * write() per statement to every backend under load, which would distort kernel traces and
 * the overhead benchmark. The id of every statement is always visible in pg_stat_activity.
 */
export const DEFAULT_LOG_MIN_DURATION_MS = 100;

export interface StartPostgresOptions {
  /** Overrides DEFAULT_LOG_MIN_DURATION_MS; 0 logs every statement, -1 none. */
  readonly logMinDurationMs?: number;
  /** Which server to run; default: the one already running, else the remembered one, else system when installed, else embedded. */
  readonly kind?: PostgresKind;
  /** More environment for the server when this call starts it (lab bench inject's LD_PRELOAD). */
  readonly serverEnv?: Readonly<Record<string, string>>;
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
  writePostgresRecord(cfg, server.record);
  if (!existsSync(join(paths.data, 'PG_VERSION'))) await initdb(server.record.binDir, paths, owner);
  writeClusterConfig(cfg, paths, owner, server.record.pgStatStatements, opts);
  await startServer(server.record.binDir, paths, owner, opts.serverEnv);
  const pid = postmasterPid(paths.data);
  if (pid === null) throw new Error(`PostgreSQL did not stay up; see ${paths.log}: ${lastLogLine(paths.log)}`);
  const seed = await ensureDatabase(cfg, paths, server.record.pgStatStatements);
  return { pid, version: server.record.version, seed, kind, notes: recordNotes(server.record) };
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

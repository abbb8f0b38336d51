import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { EventKind } from '../../shared/event-types.ts';
import { readCapture } from '../../tracer/read-capture.ts';
import { labConfig, type LabConfig } from '../config.ts';
import { formatLabStatus, labStatus } from '../lifecycle/lab-status.ts';
import { isAlive } from '../lifecycle/processes.ts';
import { findEmbeddedPackage, pgStatStatementsFiles, prepareEmbeddedBinaries, type EmbeddedPackage } from './embedded-postgres.ts';
import { pgConnectionConfig } from './pg-credentials.ts';
import { startPostgres, stopPostgres } from './postgres.ts';
import { pgAdminConnectionConfig, pgPaths, postgresPid, readPostgresRecord } from './postgres-cluster.ts';
import { embeddedServerOwner } from './server-owner.ts';

// Ports 25370..25379 and 25320..25329 belong to this file; state dirs are /tmp/lab-f5-*.
const dirs: string[] = [];
function tempDir(tag: string): string {
  const dir = mkdtempSync(`/tmp/lab-f5-${tag}-`);
  chmodSync(dir, 0o755); // the server user must be able to enter it
  dirs.push(dir);
  return dir;
}
const tempCfg = (base: number): LabConfig => labConfig({ LAB_PORT_BASE: String(testPortBase(base)), LAB_STATE_DIR: tempDir(`pg${base}`) });

async function scalar<T>(config: pg.ClientConfig, sql: string): Promise<T> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    return Object.values((await c.query(sql)).rows[0] as Record<string, T>)[0] as T;
  } finally {
    await c.end();
  }
}

const children = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);

const procUid = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

const pkg = findEmbeddedPackage();
const isRoot = process.getuid?.() === 0;

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('embedded PostgreSQL (npm) as the lab database', () => {
  const cfg = tempCfg(25370);
  let first: Awaited<ReturnType<typeof startPostgres>>;
  let startSeconds = 0;

  beforeAll(async () => {
    if (typeof pkg === 'string') throw new Error(pkg);
    const t0 = Date.now();
    first = await startPostgres(cfg, { kind: 'embedded' });
    startSeconds = (Date.now() - t0) / 1000;
  });

  afterAll(async () => {
    await stopPostgres(cfg);
  });

  it('starts the npm server in its own cluster directory and seeds it', () => {
    expect(first.kind).toBe('embedded');
    expect(first.version).toMatch(/^15\.\d+/);
    expect(first.pid).toBe(postgresPid(cfg));
    expect(first.seed?.seconds).toBeLessThan(20);
    expect(startSeconds).toBeLessThan(60);
    expect(pgPaths(cfg).root).toBe(join(cfg.stateDir, 'pg-embedded'));
    expect(existsSync(join(cfg.stateDir, 'pg-embedded', 'data', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(cfg.stateDir, 'pg'))).toBe(false);
    const cmdline = readFileSync(`/proc/${first.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain(join(cfg.stateDir, 'pg-embedded', 'data'));
    expect(readlinkSync(`/proc/${first.pid}/exe`)).toBe(realpathSync(join(readPostgresRecord(cfg)?.binDir ?? '?', 'postgres')));
  });

  it('remembers the kind, the binaries and what they lack', () => {
    const rec = readPostgresRecord(cfg);
    expect(rec).toMatchObject({ kind: 'embedded', version: first.version, usdt: false, packageVersion: (pkg as EmbeddedPackage).version });
    expect(rec?.pgStatStatements).toBe(pgStatStatementsFiles((pkg as EmbeddedPackage).nativeDir).every((f) => existsSync(f)));
    expect(first.notes).toContain('no USDT probes: the postgres BPF family has nothing to attach');
  });

  it.runIf(isRoot)('runs as its own OS user, never root, owning the data and socket directories', () => {
    const owner = embeddedServerOwner();
    expect(owner.uid).not.toBe(0);
    expect(procUid(first.pid)).toBe(owner.uid);
    for (const dir of [pgPaths(cfg).data, pgPaths(cfg).run]) {
      expect(statSync(dir).uid).toBe(owner.uid);
      expect(statSync(dir).mode & 0o077).toBe(0);
    }
  });

  it('is idempotent: a second start returns the running postmaster and does not reseed; asking for the other kind is refused', async () => {
    const again = await startPostgres(cfg);
    expect(again).toMatchObject({ pid: first.pid, seed: null, kind: 'embedded' });
    await expect(startPostgres(cfg, { kind: 'system' })).rejects.toThrow(`the embedded PostgreSQL (pid ${first.pid}) already runs in ${cfg.stateDir}; stop it first (lab down)`);
    expect(postgresPid(cfg)).toBe(first.pid);
  });

  it('holds the deterministic seed, read by the app role over TCP', async () => {
    const conn = pgConnectionConfig(cfg);
    expect(await scalar<string>(conn, 'SELECT current_user')).toBe('lab');
    expect(await scalar<number>(conn, 'SELECT count(*)::int FROM users')).toBe(10_000);
    expect(await scalar<number>(conn, 'SELECT count(*)::int FROM products')).toBe(1_000);
    expect(await scalar<number>(conn, 'SELECT count(*)::int FROM order_items')).toBe(75_000);
    let priceSum = 0;
    for (let g = 1; g <= 1000; g++) priceSum += 100 + ((g * 7919) % 9900);
    expect(await scalar<number>(conn, 'SELECT sum(price_cents)::int FROM products')).toBe(priceSum);
    await expect(scalar({ ...conn, user: 'postgres', database: 'postgres' }, 'SELECT 1')).rejects.toThrow(/no pg_hba.conf entry/);
    await expect(scalar({ ...conn, password: 'wrong' }, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });

  it('listens on loopback only, with pg_stat_statements preloaded and counting the app role', async () => {
    const admin = pgAdminConnectionConfig(cfg);
    expect(admin.host).toBe(join(cfg.stateDir, 'pg-embedded', 'run'));
    expect(await scalar<string>(admin, 'SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await scalar<string>(admin, 'SHOW log_parameter_max_length')).toBe('0');
    expect(readPostgresRecord(cfg)?.pgStatStatements).toBe(true);
    expect(await scalar<string>(admin, 'SHOW shared_preload_libraries')).toBe('pg_stat_statements');
    expect(await scalar<string>(admin, 'SHOW pg_stat_statements.track')).toBe('all');
    await scalar(pgConnectionConfig(cfg), '/* embedded-pgss-probe */ SELECT count(*) FROM products WHERE id < 7');
    const calls = await scalar<number>(
      admin,
      "SELECT coalesce(sum(calls), 0)::int FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'lab' AND s.query LIKE '%FROM products WHERE id < $1%'",
    );
    expect(calls).toBeGreaterThanOrEqual(1);
  });

  it('stops with every backend, and stopping again is harmless', async () => {
    const c = new pg.Client(pgConnectionConfig(cfg));
    // The fast shutdown terminates this open session: expected here.
    c.on('error', () => {});
    await c.connect();
    const kids = children(first.pid);
    expect(kids.length).toBeGreaterThan(0);
    await stopPostgres(cfg);
    await c.end().catch(() => undefined);
    expect(postgresPid(cfg)).toBeNull();
    for (const pid of [first.pid, ...kids]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(join(pgPaths(cfg, 'embedded').data, 'postmaster.pid'))).toBe(false);
    await expect(stopPostgres(cfg)).resolves.toBeUndefined();
  });
});

describe('embedded binaries the server user cannot run in place', () => {
  it('are copied (once) where that user can run them, with the library symlinks restored', () => {
    if (typeof pkg === 'string') throw new Error(pkg);
    const owner = embeddedServerOwner();
    // A private tree like node_modules under a 0700 home, from an npm that skipped the package's
    // postinstall (so libpq.so.5 and friends are missing).
    const home = tempDir('home');
    chmodSync(home, 0o700);
    const privateNative = join(home, 'native');
    cpSync(pkg.nativeDir, privateNative, { recursive: true, verbatimSymlinks: true });
    unlinkSync(join(privateNative, 'lib', 'libpq.so.5'));
    const privatePkg: EmbeddedPackage = { ...pkg, nativeDir: privateNative };
    const copyRoot = join(tempDir('copy'), 'server');
    mkdirSync(copyRoot);

    const bins = prepareEmbeddedBinaries(privatePkg, owner, copyRoot);
    expect(bins.copied?.from).toBe(privateNative);
    expect(bins.copied?.reason).toBe(owner.switchUser ? `${owner.name} cannot enter ${home}` : 'its library symlinks are missing (lib/libpq.so.5)');
    expect(bins.binDir).toBe(join(copyRoot, pkg.version, 'bin'));
    expect(lstatSync(join(bins.nativeDir, 'lib', 'libpq.so.5')).isSymbolicLink()).toBe(true);
    const asOwner = owner.switchUser ? { uid: owner.uid, gid: owner.gid } : {};
    // initdb needs libpq.so.5; postgres needs the ICU symlinks.
    expect(execFileSync(join(bins.binDir, 'initdb'), ['--version'], { encoding: 'utf8', ...asOwner })).toMatch(/\(PostgreSQL\) 15\./);
    expect(execFileSync(join(bins.binDir, 'postgres'), ['--version'], { encoding: 'utf8', ...asOwner })).toMatch(/\(PostgreSQL\) 15\./);

    const copiedAt = statSync(join(bins.binDir, 'postgres')).mtimeMs;
    const again = prepareEmbeddedBinaries(privatePkg, owner, copyRoot);
    expect(again.binDir).toBe(bins.binDir);
    expect(statSync(join(again.binDir, 'postgres')).mtimeMs).toBe(copiedAt);
  });

  it('are used in place when the server user can run them', () => {
    if (typeof pkg === 'string') throw new Error(pkg);
    const bins = prepareEmbeddedBinaries(pkg, embeddedServerOwner(), join(tempDir('unused'), 'server'));
    expect(bins).toEqual({ nativeDir: pkg.nativeDir, binDir: join(pkg.nativeDir, 'bin'), copied: null });
  });
});

describe('the lab from npm alone: embedded PostgreSQL behind the Node proxy', () => {
  let lab: RunningLab;

  beforeAll(async () => {
    lab = await startLab({ portBase: testPortBase(25320), stateDir: tempDir('lab'), proxy: 'node', postgres: 'embedded' });
  });

  afterAll(async () => {
    await lab?.stop();
  });

  it("shows the embedded server and its missing USDT probes in 'lab status'", () => {
    const status = labStatus(lab.config, () => null);
    expect(status.proxy.kind).toBe('node');
    expect(status.postgres).toMatchObject({ pid: lab.pids.postgres, kind: 'embedded', usdt: false, pgStatStatements: true });
    expect(status.postgres.version).toMatch(/^15\.\d+/);
    expect(formatLabStatus(status)).toMatch(new RegExp(`^postgres\\s+pid \\d+\\s+127\\.0\\.0\\.1:${testPortBase(25322)}\\s+PostgreSQL 15\\.\\d+ \\(embedded, no USDT probes\\)$`, 'm'));
  });

  it('answers every endpoint through the proxy', async () => {
    const get = async (path: string): Promise<Response> => fetch(lab.url(path), { signal: AbortSignal.timeout(10_000) });
    for (const path of ['/healthz', '/api/users', '/api/users/42', '/api/users/42', '/api/report', '/api/feed?items=3']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-request-id'), path).toMatch(/^[0-9a-f]{32}$/);
      await res.json();
    }
    const order = await fetch(lab.url('/api/orders'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 3, product_id: 4, quantity: 2 }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(order.status).toBe(201);
    expect(((await order.json()) as { product_id?: number }).product_id).toBe(4);
  });

  it('is traced without the PostgreSQL family, and the capture says why', async () => {
    const refused = await runLabCli(lab, ['trace', '--out', join(tempDir('capture'), 'pg'), '--requests', '5', '--families', '+postgres'], { timeoutMs: 60_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/the postgres family has nothing to attach: this PostgreSQL server has no USDT probes \(embedded\)/);
    const dir = join(tempDir('capture'), 'c');
    const r = await runLabCli(lab, ['trace', '--out', dir, '--requests', '30', '--connections', '2'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const capture = await readCapture(dir);
    expect(capture.meta.hooks).not.toHaveProperty('postgres');
    expect(capture.meta.warnings).toContain('this PostgreSQL server has no USDT probes (embedded): no parse/plan/execute spans inside the database');
    const ends = capture.events.filter((e) => e.kind === EventKind.RequestEnd);
    expect(new Set(ends.map((e) => e.requestId))).toEqual(new Set(capture.client.map((c) => c.requestId)));
  }, 120_000);

  it('stops leaving nothing running', async () => {
    const pids = [...lab.pids.proxy, lab.pids.app, lab.pids.postgres, ...children(lab.pids.postgres)];
    await lab.stop();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(postgresPid(lab.config)).toBeNull();
  });
});

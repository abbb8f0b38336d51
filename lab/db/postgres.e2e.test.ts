import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labConfig, type LabConfig } from '../config.ts';
import { pgConnectionConfig } from './pg-credentials.ts';
import { startPostgres, stopPostgres } from './postgres.ts';
import { postgresVersion } from './postgres-binaries.ts';
import { pgAdminConnectionConfig, postgresPid } from './postgres-cluster.ts';
import { testPortBase } from '../../test/lab-fixture.ts';

// Ports 20120..20139 belong to this file.
const dirs: string[] = [];
function tempCfg(base: number): LabConfig {
  const dir = mkdtempSync(join(tmpdir(), 'reqtrace-pg-e2e-'));
  chmodSync(dir, 0o755); // the postgres user must be able to enter it
  dirs.push(dir);
  return labConfig({ LAB_PORT_BASE: String(testPortBase(base)), LAB_STATE_DIR: dir });
}

async function scalar<T>(config: pg.ClientConfig, sql: string): Promise<T> {
  const c = new pg.Client(config);
  await c.connect();
  try {
    return Object.values((await c.query(sql)).rows[0] as Record<string, T>)[0] as T;
  } finally {
    await c.end();
  }
}

describe('private PostgreSQL cluster', () => {
  const cfg = tempCfg(20120);
  let first: Awaited<ReturnType<typeof startPostgres>>;

  beforeAll(async () => {
    first = await startPostgres(cfg);
  });

  afterAll(async () => {
    await stopPostgres(cfg);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('starts PostgreSQL 15 and seeds it in under 10 s', () => {
    expect(first.version).toMatch(/^15\.\d+/);
    expect(first.version).toBe(postgresVersion());
    expect(first.pid).toBe(postgresPid(cfg));
    expect(first.seed?.seconds).toBeLessThan(10);
  });

  it('is idempotent: a second start returns the running postmaster and does not reseed', async () => {
    const again = await startPostgres(cfg);
    expect(again.pid).toBe(first.pid);
    expect(again.seed).toBeNull();
  });

  it('holds the deterministic seed', async () => {
    const conn = pgConnectionConfig(cfg);
    expect(await scalar<number>(conn, 'SELECT count(*)::int FROM users')).toBe(10_000);
    expect(await scalar<number>(conn, 'SELECT count(*)::int FROM products')).toBe(1_000);
    expect(await scalar<number>(conn, 'SELECT count(*)::int FROM order_items')).toBe(75_000);
    let priceSum = 0;
    for (let g = 1; g <= 1000; g++) priceSum += 100 + ((g * 7919) % 9900);
    expect(await scalar<number>(conn, 'SELECT sum(price_cents)::int FROM products')).toBe(priceSum);
  });

  it('listens on loopback only, with pg_stat_statements tracking everything', async () => {
    const admin = pgAdminConnectionConfig(cfg);
    expect(await scalar<string>(admin, 'SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await scalar<string>(admin, 'SHOW shared_preload_libraries')).toBe('pg_stat_statements');
    expect(await scalar<string>(admin, 'SHOW pg_stat_statements.track')).toBe('all');
    expect(await scalar<string>(admin, 'SHOW log_parameter_max_length')).toBe('0');
    expect(await scalar<string>(admin, "SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'")).toBe('pg_stat_statements');
  });

  it('lets the app role in over TCP but not the superuser', async () => {
    expect(await scalar<string>(pgConnectionConfig(cfg), 'SELECT current_user')).toBe('lab');
    await expect(scalar({ ...pgConnectionConfig(cfg), user: 'postgres', database: 'postgres' }, 'SELECT 1')).rejects.toThrow(/no pg_hba.conf entry/);
  });

  it('fails fast with a clear message when the port is taken', async () => {
    const other = tempCfg(20130);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(other.pgPort, '127.0.0.1', r));
    try {
      await expect(startPostgres(other)).rejects.toThrow(`port ${other.pgPort} on 127.0.0.1 is already in use by another process`);
      expect(postgresPid(other)).toBeNull();
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('stops, and stopping again is harmless', async () => {
    const other = tempCfg(20125);
    const started = await startPostgres(other, { logMinDurationMs: -1 });
    expect(postgresPid(other)).toBe(started.pid);
    await stopPostgres(other);
    expect(postgresPid(other)).toBeNull();
    await expect(stopPostgres(other)).resolves.toBeUndefined();
  });
});

/** The lab's role, database, schema and seed in a running cluster, applied once per schema and seed version. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { LabConfig } from '../config.ts';
import { oneLine } from './one-line.ts';
import { PG_APP_PASSWORD, PG_APP_ROLE, PG_DATABASE, PG_SUPERUSER } from './pg-credentials.ts';
import type { PgPaths } from './postgres-cluster.ts';

const SCHEMA_FILE = join(import.meta.dirname, 'schema.sql');

const SEED_FILE = join(import.meta.dirname, 'seed.sql');

/** Timing of the seed when this call applied it (null when the cluster was already seeded). */
export interface SeedReport {
  readonly seconds: number;
}

/** Creates role, database, extension, schema and seed when missing; returns the seed timing. */
export async function ensureDatabase(cfg: LabConfig, paths: PgPaths, pgss: boolean): Promise<SeedReport | null> {
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

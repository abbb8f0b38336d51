/**
 * The app against a real PostgreSQL that loses a backend or restarts, and the order endpoint's
 * input rules, all through real nginx.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { startPostgres, stopPostgres } from '../db/postgres.ts';
import { pgAdminConnectionConfig } from '../db/postgres-cluster.ts';
import { childPids, isAlive, processCmdline, sleep, waitUntil } from '../lifecycle/processes.ts';
import { labPaths } from '../lifecycle/state-paths.ts';

const BASE = testPortBase(25310);

describe('the app when PostgreSQL fails, and order input', () => {
  let lab: RunningLab;
  beforeAll(async () => {
    lab = await startLab({ portBase: BASE, stateDir: join(tmpdir(), `reqtrace-lab-${BASE}`) });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const orders = async (): Promise<number> => {
    const admin = new pg.Client(pgAdminConnectionConfig(lab.config));
    await admin.connect();
    try {
      return (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]?.n ?? -1;
    } finally {
      await admin.end();
    }
  };
  const post = async (body: string | Blob, headers: Record<string, string>): Promise<{ status: number; error: string }> => {
    const res = await fetch(lab.url('/api/orders'), { method: 'POST', body, headers });
    const json = (await res.json()) as { error?: string };
    return { status: res.status, error: json.error ?? '' };
  };

  it('orders: only uncompressed application/json makes an order; other bodies are refused with a reason', async () => {
    const before = await orders();
    const order = '{"user_id":1,"product_id":2,"quantity":1}';
    expect(await post(order, { 'content-type': 'text/plain' })).toEqual({ status: 415, error: "order body must be application/json, got 'text/plain'" });
    expect(await post('user_id=1', { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({ status: 415 });
    expect(await post('<order/>', { 'content-type': 'application/xml' })).toMatchObject({ status: 415 });
    expect(await post(new Blob([new Uint8Array(gzipSync(order))]), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).toEqual({
      status: 415,
      error: 'compressed order bodies are not accepted (Content-Encoding: gzip): send the JSON uncompressed',
    });
    expect(await post('null', { 'content-type': 'application/json' })).toEqual({
      status: 400,
      error: 'order body must be a JSON object like {"user_id":1,"product_id":2,"quantity":1}, got null',
    });
    expect(await post('{"constructor":1}', { 'content-type': 'application/json' })).toEqual({ status: 400, error: "unknown order field 'constructor'" });
    expect(await post('{"__proto__":{"user_id":5}}', { 'content-type': 'application/json' })).toEqual({ status: 400, error: "unknown order field '__proto__'" });
    expect(await orders()).toBe(before);
    expect(await post(order, { 'content-type': 'application/json; charset=utf-8' })).toMatchObject({ status: 201 });
    expect(await orders()).toBe(before + 1);
  });

  it('a backend killed under load: affected requests get 503, the app keeps serving, lab load exits 1 with the count', async () => {
    const app = lab.pids.app;
    let killed: number | undefined;
    const load = runLabCli(lab, ['load', '--duration', '4', '--connections', '8'], {
      onStderr: (text) => {
        if (killed !== undefined || !/\d s: \d+ responses/.test(text)) return;
        // A backend of the app's pool; PostgreSQL then ends all its backends and recovers.
        killed = childPids(lab.pids.postgres).find((p) => /postgres: lab reqtrace/.test(processCmdline(p) ?? ''));
        if (killed !== undefined) process.kill(killed, 'SIGKILL');
      },
    });
    const r = await load;
    expect(killed, 'no backend was killed').toBeDefined();
    expect(isAlive(app)).toBe(true);
    expect(r.code).toBe(1);
    const failed = /lab load: ([\d,]+) of ([\d,]+) requests failed \(503×([\d,]+)\)/.exec(r.stderr);
    expect(failed, r.stderr.slice(-400)).not.toBeNull();
    const statuses = readFileSync(labPaths(lab.config).lastLoad, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { status: number }).status);
    expect(statuses.filter((s) => s === 503).length).toBe(Number(failed?.[3]?.replace(/,/g, '')));
    // The app died before: then nginx answered 502.
    expect(statuses.filter((s) => s === 502)).toEqual([]);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(await waitUntil(async () => (await fetch(lab.url('/api/users'))).status === 200, 10_000, 200)).toBe(true);
  });

  it('a PostgreSQL restart: 503 naming the database while it is down, then the same app serves again', async () => {
    const app = lab.pids.app;
    await stopPostgres(lab.config);
    const down = await fetch(lab.url('/api/users'));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(((await down.json()) as { error: string }).error).toMatch(/^the database (is unavailable|connection was lost) \(.+\)/);
    await startPostgres(lab.config);
    expect(await waitUntil(async () => (await fetch(lab.url('/api/users'))).status === 200, 15_000, 200)).toBe(true);
    await sleep(100);
    expect(isAlive(app)).toBe(true);
    expect((await fetch(lab.url('/api/feed?items=3'))).status).toBe(200);
  });
});

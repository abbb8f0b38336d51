import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLab, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { httpRequest } from '../lifecycle/http-get.ts';
import { labStatus } from '../lifecycle/lab-status.ts';
import { isAlive, processCmdline, waitUntil } from '../lifecycle/processes.ts';
import { labPaths } from '../lifecycle/state-paths.ts';
import { parseAccessLog, type ProxyAccessEntry } from './parse-access-log.ts';

const BASE = testPortBase(21110);
const KEPT = 'abcdefabcdefabcdefabcdefabcdef01';

describe('the Node proxy tier', () => {
  let lab: RunningLab;

  beforeAll(async () => {
    lab = await startLab({ portBase: BASE, proxy: 'node', usdt: 'off' });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  async function entry(id: string): Promise<ProxyAccessEntry | undefined> {
    let found: ProxyAccessEntry | undefined;
    await waitUntil(() => {
      found = parseAccessLog(readFileSync(labPaths(lab.config).accessLog, 'utf8')).entries.find((e) => e.requestId === id);
      return found !== undefined;
    }, 3000);
    return found;
  }

  it('runs in place of nginx, and lab status says so', () => {
    expect(lab.pids.proxy).toHaveLength(1);
    expect(processCmdline(lab.pids.proxy[0] ?? 0)).toContain('lab/nginx/node-proxy.ts');
    expect(labStatus(lab.config, () => null).proxy).toMatchObject({ kind: 'node', pid: lab.pids.proxy[0], port: BASE });
  });

  it.each([
    ['GET', '/api/users', 200],
    ['GET', '/api/users/7', 200],
    ['POST', '/api/orders', 201],
    ['GET', '/api/report', 200],
    ['GET', '/api/feed?items=2', 200],
    ['GET', '/healthz', 200],
  ])('%s %s answers %i through it', async (method, path, status) => {
    const body = method === 'POST' ? JSON.stringify({ user_id: 3, product_id: 4, quantity: 2 }) : undefined;
    const r = await httpRequest(lab.url(path), { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
    expect(r.status).toBe(status);
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps, echoes and logs a 32-hex id with upstream times, as nginx does', async () => {
    const r = await httpRequest(lab.url('/api/users/9'), { headers: { 'x-request-id': KEPT } });
    expect(r.headers['x-request-id']).toBe(KEPT);
    const e = await entry(KEPT);
    expect(e).toMatchObject({ requestId: KEPT, clientRequestId: KEPT, method: 'GET', uri: '/api/users/9', status: 200, upstreamAddr: `127.0.0.1:${BASE + 1}` });
    expect(e?.upstreamConnectTime).not.toBeNull();
    expect(e?.upstreamHeaderTime).not.toBeNull();
    expect(e?.upstreamResponseTime).not.toBeNull();
    expect(e?.requestTime).toBeGreaterThanOrEqual(e?.upstreamResponseTime ?? Infinity);
    expect(readFileSync(labPaths(lab.config).appLog, 'utf8')).toContain(`"request_id":"${KEPT}"`);
  });

  it('drops the dashes of a UUID and replaces a malformed id, logging what was sent', async () => {
    const uuid = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
    expect((await httpRequest(lab.url('/healthz'), { headers: { 'x-request-id': uuid } })).headers['x-request-id']).toBe(uuid.replace(/-/g, ''));
    const r = await httpRequest(lab.url('/healthz'), { headers: { 'x-request-id': 'short' } });
    const id = String(r.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await entry(id)).toMatchObject({ clientRequestId: 'short' });
  });

  it('stops with no process left', async () => {
    const pids = [...lab.pids.proxy, lab.pids.app, lab.pids.postgres];
    await lab.stop();
    await lab.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });
});

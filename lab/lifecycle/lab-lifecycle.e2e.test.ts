import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLab, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { runCli, type CliRun } from '../../test/run-cli.ts';
import { labConfig } from '../config.ts';
import { parseAccessLog, type ProxyAccessEntry } from '../nginx/parse-access-log.ts';
import { httpRequest } from './http-get.ts';
import { labUp } from './lab-up.ts';
import type { LabStatus } from './lab-status.ts';
import { isAlive, processCmdline, waitUntil } from './processes.ts';
import { labPaths } from './state-paths.ts';

const BASE = testPortBase(21100);
const STATE = join(tmpdir(), `reqtrace-lab-${BASE}`);
const KEPT = '0123456789abcdef0123456789abcdef';
const UUID = '123e4567-e89b-12d3-a456-426614174000';

function lab(args: string[]): Promise<CliRun> {
  return runCli(args, { env: { LAB_PORT_BASE: String(BASE), LAB_STATE_DIR: STATE }, timeoutMs: 120_000 });
}

async function accessEntry(l: RunningLab, id: string): Promise<ProxyAccessEntry | undefined> {
  const file = labPaths(l.config).accessLog;
  let found: ProxyAccessEntry | undefined;
  await waitUntil(() => {
    found = parseAccessLog(readFileSync(file, 'utf8')).entries.find((e) => e.requestId === id);
    return found !== undefined;
  }, 3000);
  return found;
}

describe('lab lifecycle through nginx', () => {
  let running: RunningLab;

  beforeAll(async () => {
    running = await startLab({ portBase: BASE, proxy: 'nginx' });
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('runs real nginx (master and workers) from the rendered config, the app and PostgreSQL', () => {
    const [master, ...workers] = running.pids.proxy;
    expect(processCmdline(master ?? 0)).toMatch(/^nginx: master process .*-c .*nginx\.conf/);
    expect(workers.length).toBeGreaterThanOrEqual(1);
    for (const w of workers) expect(processCmdline(w)).toMatch(/^nginx: worker process/);
    expect(processCmdline(running.pids.app)).toContain('lab/app/server.ts');
    expect(processCmdline(running.pids.postgres)).toContain('postgres');
  });

  it.each([
    ['GET', '/healthz', 200],
    ['GET', '/api/users', 200],
    ['GET', '/api/users/42', 200],
    ['POST', '/api/orders', 201],
    ['GET', '/api/report', 200],
    ['GET', '/api/feed?items=3', 200],
  ])('%s %s answers %i through the proxy', async (method, path, status) => {
    const body = method === 'POST' ? JSON.stringify({ user_id: 42, product_id: 7, quantity: 1 }) : undefined;
    const r = await httpRequest(running.url(path), { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
    expect(r.status).toBe(status);
    expect(r.headers.server).toBe('nginx');
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps a 32-hex X-Request-ID, passes it to the app, echoes it and logs it with upstream times', async () => {
    const r = await httpRequest(running.url('/api/users'), { headers: { 'x-request-id': KEPT } });
    expect(r.headers['x-request-id']).toBe(KEPT);
    const e = await accessEntry(running, KEPT);
    expect(e).toMatchObject({ requestId: KEPT, clientRequestId: KEPT, method: 'GET', uri: '/api/users', status: 200, upstreamAddr: `127.0.0.1:${BASE + 1}` });
    expect(e?.requestTime).toBeGreaterThanOrEqual(0);
    expect(e?.upstreamConnectTime).not.toBeNull();
    expect(e?.upstreamHeaderTime).not.toBeNull();
    expect(e?.upstreamResponseTime).not.toBeNull();
    // The app saw the same id: its request log carries it (written once the response is flushed,
    // which can be after the client has read it).
    const logged = () => readFileSync(labPaths(running.config).appLog, 'utf8').includes(`"request_id":"${KEPT}"`);
    expect(await waitUntil(logged, 5000)).toBe(true);
  });

  it('keeps a UUID with its dashes dropped', async () => {
    const r = await httpRequest(running.url('/healthz'), { headers: { 'x-request-id': UUID } });
    expect(r.headers['x-request-id']).toBe(UUID.replace(/-/g, ''));
    expect(await accessEntry(running, UUID.replace(/-/g, ''))).toMatchObject({ clientRequestId: UUID });
  });

  it('replaces a malformed id and logs what the client sent', async () => {
    const bad = 'DROP TABLE users; --';
    const r = await httpRequest(running.url('/healthz'), { headers: { 'x-request-id': bad } });
    const id = String(r.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await accessEntry(running, id)).toMatchObject({ clientRequestId: bad, status: 200 });
  });

  it('keeps client connections alive past 1000 requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let lastId = '';
    try {
      for (let i = 0; i < 1100; i++) {
        lastId = await new Promise<string>((resolve, reject) => {
          http
            .request(running.url('/healthz'), { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(String(res.headers['x-request-id'])));
            })
            .on('error', reject)
            .end();
        });
      }
    } finally {
      agent.destroy();
    }
    expect((await accessEntry(running, lastId))?.connectionRequests).toBe(1100);
  });

  it("'lab up' again is harmless and 'lab status --json' names every tier", async () => {
    const again = await lab(['up']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already running');
    const st = await lab(['status', '--json']);
    expect(st.code).toBe(0);
    const status = JSON.parse(st.stdout) as LabStatus;
    expect(status).toMatchObject({
      proxy: { kind: 'nginx', pid: running.pids.proxy[0], port: BASE },
      app: { pid: running.pids.app, port: BASE + 1, usdt: 'auto' },
      postgres: { pid: running.pids.postgres, port: BASE + 2 },
      stateDir: STATE,
    });
    expect(status.postgres.version).toMatch(/^\d+\.\d+/);
    for (const pid of [...running.pids.proxy, running.pids.app, running.pids.postgres]) expect(isAlive(pid)).toBe(true);
  });

  it("'lab down' leaves no lab process alive and removes the pid files; a second down is harmless", async () => {
    const pids = [...running.pids.proxy, running.pids.app, running.pids.postgres];
    const down = await lab(['down']);
    expect(down.code, down.stderr).toBe(0);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    const paths = labPaths(labConfig({ LAB_PORT_BASE: String(BASE), LAB_STATE_DIR: STATE }));
    expect(() => readFileSync(paths.appPid)).toThrow();
    expect(() => readFileSync(paths.proxyPid)).toThrow();
    const again = await lab(['down']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing was running');
    const st = await lab(['status', '--json']);
    expect(st.code).toBe(3);
    expect(JSON.parse(st.stdout)).toMatchObject({ proxy: { pid: null }, app: { pid: null }, postgres: { pid: null } });
  });
});

describe('lab up with a busy port', () => {
  it('fails fast naming the port and its holder, and starts nothing', async () => {
    const base = testPortBase(21130);
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(base, '127.0.0.1', () => r()));
    const cfg = labConfig({ LAB_PORT_BASE: String(base), LAB_STATE_DIR: join(tmpdir(), `reqtrace-lab-${base}`) });
    try {
      await expect(labUp(cfg, { proxy: 'nginx' })).rejects.toThrow(
        new RegExp(`^port ${base} \\(proxy\\) is in use by node \\(pid ${process.pid}\\)`),
      );
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
    expect(() => readFileSync(labPaths(cfg).appPid)).toThrow();
    expect(() => readFileSync(join(cfg.stateDir, 'pg', 'data', 'postmaster.pid'))).toThrow();
  });
});

/**
 * `lab trace --metrics-port` end to end: a real lab traced with BPF while Debian's Prometheus
 * (its own config and storage in a temporary directory, scraping every second on loopback)
 * scrapes the endpoint; a p99 queried back over Prometheus's HTTP API must agree with the
 * capture's own. A busy port is refused before anything is traced. Run as root; under CI=true
 * a missing loader build or prometheus fails instead of skipping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { quantileOfSorted } from '../analysis/quantiles.ts';
import { DEFAULT_ADDON_PATH } from '../lab/app/native/usdt-addon.ts';
import { type CliRun, type RunningLab, runLabCli, startLab, testPortBase } from '../test/lab-fixture.ts';
import { describeIfPresent } from '../test/require-built.ts';
import { LOADER_PATH } from '../tracer/spawn-loader.ts';

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p));
const READY = existsSync(LOADER_PATH) && existsSync(DEFAULT_ADDON_PATH) && PROMETHEUS !== undefined;
// Below 32768 − 6000: the kernel hands out ports from 32768 up to clients, and a client's socket
// in TIME-WAIT on a test's port makes `lab up` refuse it.
const PORT_BASE = testPortBase(22500);
const METRICS_PORT = testPortBase(22510);
const BUSY_PORT = testPortBase(22511);
const PROM_PORT = testPortBase(22520);
const TRACE_S = 16;

const out = mkdtempSync(join(tmpdir(), `lab-metrics-e2e-${PORT_BASE}-`));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface PromVector {
  readonly status: string;
  readonly data: { readonly resultType: string; readonly result: ReadonlyArray<{ readonly metric: Record<string, string>; readonly value: [number, string] }> };
}

async function query(expr: string): Promise<PromVector['data']['result']> {
  const r = await fetch(`http://127.0.0.1:${PROM_PORT}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as PromVector;
  if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

describeIfPresent(READY)('lab trace --metrics-port scraped by Prometheus', () => {
  let running: RunningLab;
  let prometheus: ChildProcess | null = null;
  let promLog = '';

  beforeAll(async () => {
    if (!READY) throw new Error(`needs the loader, the USDT addon (npm run build) and prometheus (scripts/setup.sh): ${LOADER_PATH}, ${DEFAULT_ADDON_PATH}, ${PROMETHEUS}`);
    running = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-metrics-e2e-${PORT_BASE}`), usdt: 'native' });
    const config = join(out, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: reqtrace',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${METRICS_PORT}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS as string,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(out, 'tsdb')}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr?.on('data', (d: Buffer) => (promLog = (promLog + d).slice(-4000)));
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${PROM_PORT}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 120 || prometheus.exitCode !== null) throw new Error(`prometheus did not become ready within 60 s: ${promLog}`);
      await sleep(500);
    }
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((r) => prometheus?.once('exit', r));
      prometheus.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (prometheus.exitCode === null && prometheus.signalCode === null) {
        prometheus.kill('SIGKILL');
        await Promise.race([exited, sleep(5_000)]);
      }
    }
    await running?.stop();
    // Prometheus may still be flushing its storage when it is killed.
    rmSync(out, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it('refuses a busy port before tracing starts', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(BUSY_PORT, '127.0.0.1', () => r()));
    try {
      const dir = join(out, 'busy');
      const r = await runLabCli(running, ['trace', '--duration', '2', '--metrics-port', String(BUSY_PORT), '--out', dir], { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n').at(-1)).toBe(`lab trace: --metrics-port ${BUSY_PORT}: 127.0.0.1:${BUSY_PORT} is already in use; choose another port`);
      expect(existsSync(dir)).toBe(false);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  it('serves metrics while it traces, Prometheus scrapes them, and a p99 comes back', async () => {
    const dir = join(out, 'traced');
    const tracing: Promise<CliRun> = runLabCli(running, ['trace', '--duration', String(TRACE_S), '--connections', '4', '--metrics-port', String(METRICS_PORT), '--out', dir], { timeoutMs: (TRACE_S + 90) * 1000 });
    let p99: number | null = null;
    let routes: string[] = [];
    let records = 0;
    let layers: string[] = [];
    const deadline = Date.now() + (TRACE_S + 20) * 1000;
    let done = false;
    void tracing.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      await sleep(1000);
      const all = await query('histogram_quantile(0.99, sum by (le) (rate(reqtrace_request_duration_seconds_bucket[10s])))');
      const v = Number(all[0]?.value[1]);
      if (Number.isFinite(v) && v > 0) {
        p99 = v;
        routes = (await query('histogram_quantile(0.99, sum by (route, le) (rate(reqtrace_request_duration_seconds_bucket[10s])))')).map((r) => r.metric.route ?? '');
        records = Math.max(records, Number((await query('max_over_time(reqtrace_tracer_records_total[1m])'))[0]?.value[1] ?? 0));
        layers = (await query('sum by (layer) (rate(reqtrace_layer_seconds_total[10s])) > 0')).map((r) => r.metric.layer ?? '');
      }
    }
    const r = await tracing;
    expect(r.code, r.stderr.slice(-800)).toBe(0);
    expect(r.stderr).toContain(`lab trace: metrics at http://127.0.0.1:${METRICS_PORT}/metrics`);
    expect(p99, promLog).not.toBeNull();
    expect(routes).toEqual(expect.arrayContaining(['GET /api/users', 'GET /api/users/:id', 'POST /api/orders']));
    expect(records).toBeGreaterThan(1000);
    expect(layers).toEqual(expect.arrayContaining(['app', 'db', 'proxy']));
    // The capture's own p99 of the proxy's request_time, over the whole run: Prometheus's, over
    // the last 10 s and interpolated within a bucket, agrees within a factor of 2.
    const times = readFileSync(join(dir, 'nginx-access.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { requestTime: number }).requestTime)
      .sort((a, b) => a - b);
    const captureP99 = quantileOfSorted(times, 0.99);
    expect(p99 as number).toBeGreaterThan(captureP99 / 2);
    expect(p99 as number).toBeLessThan(captureP99 * 2);
    // The endpoint stopped with the trace.
    await expect(fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    const up = await query('max_over_time(up{job="reqtrace"}[1m])');
    expect(up[0]?.value[1]).toBe('1');
  });
});

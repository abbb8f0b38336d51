/**
 * The proxy tier in Node, for machines without nginx (`lab up --proxy node`): the same request-id
 * rule, the same upstream keep-alive, and the same access-log fields and file format as
 * nginx.conf.template. Run as `node --import tsx lab/nginx/node-proxy.ts` with LAB_PORT_BASE and
 * LAB_STATE_DIR set; SIGTERM closes it.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import httpProxy from 'http-proxy';
import { labConfig, type LabConfig } from '../config.ts';
import { labPaths } from '../lifecycle/state-paths.ts';
import { chooseRequestId } from './request-id.ts';

/** nginx's $time_iso8601: local time, seconds, numeric offset (e.g. 2025-11-22T01:02:03+01:00). */
export function nginxTimeIso(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** Seconds with millisecond resolution, as nginx prints times; '-' when unknown. */
export function nginxSeconds(ms: number | null): string {
  return ms === null ? '-' : (Math.max(0, ms) / 1000).toFixed(3);
}

/** What the Node proxy knows about one finished request. */
export interface ProxiedRequest {
  readonly requestId: string;
  readonly clientRequestId: string;
  readonly end: Date;
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly requestMs: number;
  readonly upstreamConnectMs: number | null;
  readonly upstreamHeaderMs: number | null;
  readonly upstreamResponseMs: number | null;
  readonly upstreamAddr: string | null;
  readonly connection: number;
  readonly connectionRequests: number;
  /** The client connection: the client's address and port, and the port it connected to. */
  readonly remoteAddr: string | null;
  readonly remotePort: number | null;
  readonly serverPort: number | null;
}

/** One access-log line with nginx's field names and string values (see `log_format reqtrace`). */
export function accessLogLine(r: ProxiedRequest): string {
  return (
    JSON.stringify({
      request_id: r.requestId,
      client_request_id: r.clientRequestId,
      time_iso8601: nginxTimeIso(r.end),
      msec: (r.end.getTime() / 1000).toFixed(3),
      method: r.method,
      uri: r.uri,
      status: String(r.status),
      request_time: nginxSeconds(r.requestMs),
      upstream_connect_time: nginxSeconds(r.upstreamConnectMs),
      upstream_header_time: nginxSeconds(r.upstreamHeaderMs),
      upstream_response_time: nginxSeconds(r.upstreamResponseMs),
      upstream_addr: r.upstreamAddr ?? '-',
      connection: String(r.connection),
      connection_requests: String(r.connectionRequests),
      remote_addr: r.remoteAddr ?? '-',
      remote_port: r.remotePort === null ? '-' : String(r.remotePort),
      server_port: r.serverPort === null ? '-' : String(r.serverPort),
    }) + '\n'
  );
}

interface ConnState {
  readonly serial: number;
  requests: number;
}

const freshId = (): string => randomBytes(16).toString('hex');

/** Starts the proxy on cfg.proxyPort, forwarding to cfg.appPort; resolves once listening. */
export async function startNodeProxy(cfg: LabConfig, accessLogPath: string): Promise<{ server: http.Server; close(): Promise<void> }> {
  mkdirSync(dirname(accessLogPath), { recursive: true });
  const log: WriteStream = createWriteStream(accessLogPath, { flags: 'a' });
  const upstreamAddr = `${cfg.host}:${cfg.appPort}`;
  // nginx's `keepalive 32` caps idle upstream connections, not busy ones: maxFreeSockets, not maxSockets.
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 32, keepAliveMsecs: 60_000 });
  const proxy = httpProxy.createProxyServer({ target: `http://${upstreamAddr}`, agent, xfwd: true, proxyTimeout: 60_000 });
  const conns = new WeakMap<Socket, ConnState>();
  let serial = 0;
  // http-proxy emits proxyReq on the shared proxy object; route each to its request's timers.
  const pending = new WeakMap<http.IncomingMessage, (proxyReq: http.ClientRequest) => void>();
  proxy.on('proxyReq', (proxyReq, req) => {
    pending.get(req)?.(proxyReq);
    pending.delete(req);
  });

  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    const socket = req.socket;
    let conn = conns.get(socket);
    if (!conn) {
      conn = { serial: ++serial, requests: 0 };
      conns.set(socket, conn);
    }
    conn.requests++;
    const connection = conn.serial;
    const connectionRequests = conn.requests;
    const clientHeader = req.headers['x-request-id'];
    const { id } = chooseRequestId(clientHeader, freshId);
    req.headers['x-request-id'] = id;
    res.setHeader('X-Request-ID', id);

    let upstreamStart: number | null = null;
    let connectMs: number | null = null;
    let headerMs: number | null = null;
    let responseMs: number | null = null;
    let contacted = false;

    const onProxyReq = (proxyReq: http.ClientRequest): void => {
      contacted = true;
      upstreamStart = performance.now();
      // http-proxy emits proxyReq from the request's 'socket' event, so the socket is assigned.
      const s = proxyReq.socket;
      // A reused keep-alive socket is connected already: nginx logs 0.000 for it too.
      if (!s || !s.connecting) connectMs = 0;
      else s.once('connect', () => (connectMs = performance.now() - (upstreamStart ?? t0)));
      proxyReq.on('response', (proxyRes: http.IncomingMessage) => {
        headerMs = performance.now() - (upstreamStart ?? t0);
        proxyRes.on('end', () => (responseMs = performance.now() - (upstreamStart ?? t0)));
      });
    };

    res.on('close', () => {
      const upstreamRan = contacted;
      log.write(
        accessLogLine({
          requestId: id,
          clientRequestId: Array.isArray(clientHeader) ? (clientHeader[0] ?? '') : (clientHeader ?? ''),
          end: new Date(),
          method: req.method ?? '-',
          uri: req.url ?? '-',
          status: res.statusCode,
          requestMs: performance.now() - t0,
          upstreamConnectMs: upstreamRan ? connectMs : null,
          upstreamHeaderMs: upstreamRan ? headerMs : null,
          upstreamResponseMs: upstreamRan ? responseMs : null,
          upstreamAddr: upstreamRan ? upstreamAddr : null,
          connection,
          connectionRequests,
          remoteAddr: socket.remoteAddress ?? null,
          remotePort: socket.remotePort ?? null,
          serverPort: socket.localPort ?? null,
        }),
      );
    });

    pending.set(req, onProxyReq);
    proxy.web(req, res, {}, (err: Error) => {
      if (!res.headersSent) {
        res.statusCode = 502;
        res.setHeader('Content-Type', 'text/plain');
        res.end(`bad gateway: ${err.message}\n`);
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 76_000;
  // The app sets its own X-Request-ID; the client must see the proxy's choice, as with nginx.
  proxy.on('proxyRes', (proxyRes) => {
    delete proxyRes.headers['x-request-id'];
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.proxyPort, cfg.host, () => resolve());
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          agent.destroy();
          log.end(() => resolve());
        });
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const cfg = labConfig();
  const paths = labPaths(cfg);
  const running = await startNodeProxy(cfg, paths.accessLog);
  writeFileSync(paths.proxyPid, `${process.pid}\n`);
  process.stdout.write(JSON.stringify({ msg: 'node proxy listening', port: cfg.proxyPort, upstream: cfg.appPort }) + '\n');
  const stop = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`node proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

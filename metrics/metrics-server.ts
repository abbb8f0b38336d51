/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics on 127.0.0.1 only. Binding happens before
 * tracing starts, so a busy port is refused with a clear error and nothing is traced.
 */
import { createServer, type Server } from 'node:http';
import { EXPOSITION_CONTENT_TYPE } from './render-exposition.ts';

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `render()` at http://127.0.0.1:PORT/metrics; rejects with a one-line reason when the port cannot be bound. */
export function startMetricsServer(port: number, render: () => string, host = '127.0.0.1'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
      return;
    }
    let body: string;
    try {
      body = render();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 2000;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `--metrics-port ${port}: ${host}:${port} is already in use; choose another port`
            : err.code === 'EACCES'
              ? `--metrics-port ${port}: not allowed to listen on ${host}:${port}`
              : `--metrics-port ${port}: cannot listen on ${host}:${port}: ${err.message}`,
        ),
      );
    });
    server.listen(port, host, () => {
      const addr = server.address();
      const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
      resolve({
        port: bound,
        url: `http://${host}:${bound}/metrics`,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
  });
}

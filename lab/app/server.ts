import { createServer } from 'node:http';
import pg from 'pg';
import { labConfig } from '../config.ts';
import { pgConnectionConfig } from '../db/pg-credentials.ts';
import { createApp, type AppLog } from './create-app.ts';
import { loadProbes } from './load-probes.ts';
import { watchProbeSampling } from './probe-sampling.ts';
import { systemClock } from './request-context.ts';
import { parseServerEnv } from './server-env.ts';

// Above nginx's upstream keepalive_timeout (60 s): the proxy must always be the side that
// closes an idle connection, or it may reuse one the app is closing at that instant.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const SHUTDOWN_GRACE_MS = 10_000;

const log: AppLog = (record) => {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), ...record })}\n`);
};

function fail(message: string): never {
  process.stderr.write(`app: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = labConfig();
  } catch (err) {
    fail((err as Error).message);
  }
  const env = parseServerEnv(process.env);
  if (!env.ok) fail(env.error);
  const probes = await loadProbes(env.value.usdt);
  const pool = new pg.Pool({
    ...pgConnectionConfig(cfg),
    host: env.value.pgHost,
    max: env.value.poolSize,
    // Keep connections (and so their fds and backend pids) for the app's lifetime.
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 5_000,
  });
  pool.on('error', (err) => log({ level: 'error', msg: 'idle pg client failed', error: err.message }));
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    fail(`cannot reach PostgreSQL on ${env.value.pgHost}:${cfg.pgPort}: ${(err as Error).message}`);
  }

  // Only the USDT probes cost anything when a request is outside the kernel's sample.
  const sampling = probes.backend === 'native' ? watchProbeSampling(cfg.stateDir, () => probes.enabled.requestStart()) : null;
  const app = createApp({
    pool,
    probes,
    clock: systemClock,
    config: { stateDir: cfg.stateDir },
    log,
    ...(sampling ? { probesFollow: sampling.follows } : {}),
  });
  const server = createServer(app);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  server.on('error', (err: NodeJS.ErrnoException) => {
    fail(err.code === 'EADDRINUSE' ? `port ${cfg.appPort} on 127.0.0.1 is already in use` : err.message);
  });
  server.listen(cfg.appPort, cfg.host, () => {
    log({ level: 'info', msg: 'listening', host: cfg.host, port: cfg.appPort, pid: process.pid, probes: probes.backend, pg_pool: env.value.poolSize, pg_host: env.value.pgHost });
  });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log({ level: 'info', msg: 'shutting down', signal });
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      pool.end().then(
        () => {
          log({ level: 'info', msg: 'stopped' });
          process.exit(0);
        },
        (err: Error) => fail(`closing the pg pool: ${err.message}`),
      );
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));

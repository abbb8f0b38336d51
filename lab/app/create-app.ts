import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type pg from 'pg';
import { buildTraceContext, generateSpanId } from './trace-context.ts';
import { handlers, type AppState } from './handlers.ts';
import { HttpError } from './http-error.ts';
import { parseKnobs, type LatencyKnobs } from './knobs.ts';
import { orderBodyRefusal } from './order-input.ts';
import { noopProbes, type AppProbes } from './probes.ts';
import { newRequestWork, type Clock, type RequestContext } from './request-context.ts';
import { generateRequestId, resolveRequestId } from './request-id.ts';
import { scratchWriteRead } from './files.ts';
import { DEFAULT_REPORT_CONFIG_TEXT } from './report-config.ts';
import { ROUTES } from '../../shared/routes.ts';
import { sqlComment } from '../../shared/sql-comment.ts';
import { TtlCache } from './ttl-cache.ts';

/** One JSON log record; the sink adds nothing but a newline. */
export type AppLog = (record: Readonly<Record<string, unknown>>) => void;

export interface AppConfig {
  /** The lab state directory; the app keeps its files in `<stateDir>/app`. */
  readonly stateDir: string;
  /** User cache bounds (defaults: 5000 entries, 60 s). */
  readonly cacheMaxEntries?: number;
  readonly cacheTtlMs?: number;
}

export interface AppDeps {
  readonly pool: pg.Pool;
  readonly probes: AppProbes;
  readonly clock: Clock;
  readonly config: AppConfig;
  readonly log: AppLog;
  /** Id sources; random by default. */
  readonly ids?: { readonly requestId: () => string; readonly spanId: () => string };
  /** Whether a request fires its probes (the tracer's head sample); every one by default. */
  readonly probesFollow?: (requestId: string) => boolean;
}

/** Files the app reads and writes under the state directory. */
export interface AppPaths {
  readonly dir: string;
  readonly reportConfig: string;
  readonly reportLog: string;
  readonly scratchDir: string;
}

/** Paths of the app's files; pure. */
export function appPaths(stateDir: string): AppPaths {
  const dir = join(stateDir, 'app');
  return { dir, reportConfig: join(dir, 'report-config.json'), reportLog: join(dir, 'report.log'), scratchDir: join(dir, 'scratch') };
}

interface Locals {
  ctx: RequestContext;
  knobs: LatencyKnobs;
}

const STATUS_CLIENT_CLOSED = 499;

/**
 * The Express app: request id + probes first, then the latency knobs, then the endpoints of
 * endpoints.ts. Creates `<stateDir>/app` and a default report config when missing.
 */
export function createApp(deps: AppDeps): express.Express {
  const { pool, probes, clock, log } = deps;
  const follows = deps.probesFollow ?? (() => true);
  const paths = appPaths(deps.config.stateDir);
  mkdirSync(paths.scratchDir, { recursive: true });
  if (!existsSync(paths.reportConfig)) writeFileSync(paths.reportConfig, DEFAULT_REPORT_CONFIG_TEXT);
  const ids = deps.ids ?? { requestId: () => generateRequestId(), spanId: () => generateSpanId() };
  const state: AppState = {
    pool,
    paths,
    userCache: new TtlCache(deps.config.cacheMaxEntries ?? 5000, deps.config.cacheTtlMs ?? 60_000),
  };
  let scratchSeq = 0;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const t0 = clock.nowUs();
    const resolved = resolveRequestId(req.headers['x-request-id'], ids.requestId);
    const trace = buildTraceContext(resolved.id, req.headers.traceparent, ids.spanId);
    // A request outside the tracer's head sample fires none of its probes (probe-sampling.ts).
    const reqProbes = follows(resolved.id) ? probes : noopProbes;
    const ctx: RequestContext = {
      requestId: resolved.id,
      traceparent: trace.traceparent,
      sqlComment: sqlComment({ requestId: resolved.id, traceparent: trace.traceparent }),
      probes: reqProbes,
      clock,
      work: newRequestWork(),
    };
    const fd = socketFd(req);
    (res.locals as Partial<Locals>).ctx = ctx;
    res.setHeader('X-Request-ID', resolved.id);
    if (resolved.source === 'replaced') {
      log({ level: 'warn', msg: 'request id replaced', request_id: resolved.id, rejected: resolved.rejected });
    }
    if (reqProbes.enabled.requestStart()) reqProbes.requestStart(resolved.id, req.method, req.path, fd);

    // The duration ends when the handler calls res.end(), which writes to the socket there and
    // then; 'finish' waits for the write callback, which a busy event loop delays by
    // milliseconds, so the probe fires at 'finish' but does not time it.
    let handedOffUs: number | undefined;
    const endResponse = res.end;
    res.end = function (this: Response, ...args: Parameters<Response['end']>) {
      handedOffUs ??= clock.nowUs();
      return endResponse.apply(this, args);
    } as Response['end'];
    let ended = false;
    const end = (status: number): void => {
      if (ended) return;
      ended = true;
      const durationUs = Math.max(0, Math.round((handedOffUs ?? clock.nowUs()) - t0));
      if (reqProbes.enabled.requestEnd()) reqProbes.requestEnd(resolved.id, status, durationUs, fd);
      log({
        level: 'info',
        msg: 'request',
        request_id: resolved.id,
        id_source: resolved.source,
        span_id: trace.spanContext.spanId,
        parent_span_id: trace.parentSpanId,
        method: req.method,
        path: req.path,
        route: routeOf(req),
        status,
        duration_us: durationUs,
        db_round_trips: ctx.work.dbRoundTrips,
        db_us: ctx.work.dbUs,
        pool_wait_us: ctx.work.poolWaitUs,
        file_opens: ctx.work.fileOpens,
        cache: ctx.work.cache,
        fd,
      });
    };
    res.on('finish', () => end(res.statusCode));
    res.on('close', () => end(res.writableFinished ? res.statusCode : STATUS_CLIENT_CLOSED));
    next();
  });

  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const parsed = parseKnobs(req.query as Record<string, unknown>);
    if (!parsed.ok) throw new HttpError(400, parsed.error);
    const knobs = parsed.value;
    const { ctx } = res.locals as Locals;
    (res.locals as Locals).knobs = knobs;
    if (knobs.delayMs > 0) await new Promise((r) => setTimeout(r, knobs.delayMs));
    if (knobs.cpuMs > 0) busyLoop(clock, knobs.cpuMs);
    if (knobs.ioKb > 0) {
      scratchSeq += 1;
      await scratchWriteRead(ctx, join(paths.scratchDir, `${ctx.requestId}-${process.pid}-${scratchSeq}.bin`), knobs.ioKb);
    }
    next();
  });

  const h = handlers(state);
  const run =
    (fn: (req: Request, ctx: RequestContext, knobs: LatencyKnobs) => Promise<{ status?: number; body: unknown }>) =>
    async (req: Request, res: Response): Promise<void> => {
      const { ctx, knobs } = res.locals as Locals;
      const out = await fn(req, ctx, knobs);
      res.status(out.status ?? 200).json(out.body);
    };

  app.get(ROUTES.health, run(async () => ({ body: { status: 'ok', pid: process.pid, probes: probes.backend, pool: poolStats(pool) } })));
  app.get(ROUTES.users, run(h.listUsers));
  app.get(ROUTES.user, run(h.getUser));
  const orderBody = (req: Request, _res: Response, next: NextFunction): void => {
    const refusal = orderBodyRefusal(req.headers);
    if (refusal !== null) throw new HttpError(415, refusal);
    next();
  };
  // strict: false lets a top-level null or number reach parseOrderInput, which names it; inflate:
  // false because orderBody has already refused compressed bodies.
  app.post(ROUTES.orders, orderBody, express.json({ limit: '16kb', strict: false, inflate: false }), run(h.createOrder));
  app.get(ROUTES.report, run(h.report));
  app.get(ROUTES.feed, run(h.feed));

  app.use((req: Request) => {
    throw new HttpError(404, `no route for ${req.method} ${req.path.slice(0, 100)}`);
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const ctx = (res.locals as Partial<Locals>).ctx;
    const status = errorStatus(err);
    const raw = err instanceof Error ? err.message : String(err);
    const message = (err as { type?: unknown } | null)?.type === 'entity.parse.failed' ? `request body is not valid JSON: ${raw}` : raw;
    if (status >= 500) log({ level: 'error', msg: 'request failed', request_id: ctx?.requestId ?? null, error: message });
    if (res.headersSent) return;
    // A 503 says what is unavailable; other 5xx keep their internals to the log.
    const shown = status >= 500 && !(err instanceof HttpError) ? 'internal error' : message;
    if (status === 503) res.setHeader('Retry-After', '1');
    res.status(status).json({ error: shown, request_id: ctx?.requestId ?? null });
  });

  return app;
}

function errorStatus(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  // body-parser errors (bad JSON, too large) carry an exposable 4xx status.
  const e = err as { status?: unknown; expose?: unknown } | null;
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true) return e.status;
  return 500;
}

function busyLoop(clock: Clock, ms: number): void {
  const until = clock.nowUs() + ms * 1000;
  while (clock.nowUs() < until) {
    // Blocking the event loop is the point of cpu_ms.
  }
}

function routeOf(req: Request): string | null {
  const route = (req as { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? route.path : null;
}

interface SocketWithHandle {
  readonly _handle?: { readonly fd?: unknown } | null;
}

/** The inbound connection's fd (`req.socket._handle.fd`), -1 when unavailable. */
function socketFd(req: Request): number {
  const fd = (req.socket as unknown as SocketWithHandle)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

function poolStats(pool: pg.Pool): { total: number; idle: number; waiting: number } {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

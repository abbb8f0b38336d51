import pg from 'pg';
import { connectionLoss } from './db-connection-loss.ts';
import { HttpError } from './http-error.ts';
import type { RequestContext } from './request-context.ts';

export type SqlParam = string | number | boolean | null;

/** Queries of one request on one pool connection, each announced by the db_query probes. */
export interface RequestDb {
  /** pg connection fd the queries run on (-1 if unknown). */
  readonly fd: number;
  /** Runs `statement` (parameters as $n only) with the request's comment in front. */
  query<R extends pg.QueryResultRow>(statement: string, params?: readonly SqlParam[]): Promise<pg.QueryResult<R>>;
  /** BEGIN, `fn`, COMMIT; ROLLBACK when `fn` throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Acquires a pool client for the request, runs `fn` with it and releases it. The request holds
 * one connection so every query's fd is known; a client that failed mid-query is destroyed
 * rather than returned to the pool, so the pool replaces it with a new connection. A connection
 * that could not be made or was lost becomes a 503 (HttpError) naming the reason.
 */
export async function withDb<T>(pool: pg.Pool, ctx: RequestContext, fn: (db: RequestDb) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  const asked = poolOccupancy(pool);
  const askedUs = ctx.clock.nowUs();
  try {
    client = await pool.connect();
  } catch (err) {
    const lost = connectionLoss(err);
    if (lost !== null) throw new HttpError(503, `the database is unavailable (${lost}): retry shortly`);
    throw err;
  }
  const waitUs = Math.max(0, Math.round(ctx.clock.nowUs() - askedUs));
  ctx.work.poolWaitUs += waitUs;
  const fresh = isNewClient(pool, client);
  if (ctx.probes.enabled.poolWait()) ctx.probes.poolWait(ctx.requestId, waitUs, asked.size, asked.busy, asked.waiting, pgClientFd(client), fresh);
  let broken: Error | undefined;
  const markBroken = (err: Error): void => {
    broken ??= err;
  };
  // A checked-out client whose backend dies emits 'error' as well as failing its query; with no
  // listener that event would end the process. The pool listens only while the client is idle.
  client.on('error', markBroken);
  const db = requestDb(client, ctx, markBroken);
  try {
    return await fn(db);
  } catch (err) {
    const lost = err instanceof HttpError ? null : connectionLoss(err);
    if (lost !== null) {
      markBroken(err as Error);
      throw new HttpError(503, `the database connection was lost (${lost}): the request did not complete; retry it`);
    }
    throw err;
  } finally {
    client.off('error', markBroken);
    client.release(broken);
  }
}

/** The pool's maximum, the connections checked out and the requests queued for one, now. */
export interface PoolOccupancy {
  readonly size: number;
  readonly busy: number;
  readonly waiting: number;
}

export function poolOccupancy(pool: pg.Pool): PoolOccupancy {
  return { size: pool.options.max ?? 10, busy: Math.max(0, pool.totalCount - pool.idleCount), waiting: pool.waitingCount };
}

const handedOut = new WeakMap<pg.Pool, WeakSet<pg.PoolClient>>();

/** Whether the pool hands `client` out for the first time (it opened the connection for this request). */
function isNewClient(pool: pg.Pool, client: pg.PoolClient): boolean {
  let seen = handedOut.get(pool);
  if (!seen) handedOut.set(pool, (seen = new WeakSet()));
  if (seen.has(client)) return false;
  seen.add(client);
  return true;
}

function requestDb(client: pg.PoolClient, ctx: RequestContext, markBroken: (err: Error) => void): RequestDb {
  const fd = pgClientFd(client);
  const run = async <R extends pg.QueryResultRow>(statement: string, params?: readonly SqlParam[]): Promise<pg.QueryResult<R>> => {
    const text = ctx.sqlComment + statement;
    const { probes, clock, requestId } = ctx;
    // The probe carries the statement alone: the id is its own argument, and the kernel copies
    // 256 bytes of SQL rather than the 120-byte comment and the rest.
    if (probes.enabled.dbQueryStart()) probes.dbQueryStart(requestId, statement, fd);
    const t0 = clock.nowUs();
    let rows = 0;
    try {
      const result = params === undefined ? await client.query<R>(text) : await client.query<R>(text, [...params]);
      rows = result.rowCount ?? result.rows.length;
      return result;
    } catch (err) {
      if (!isServerError(err) || connectionLoss(err) !== null) markBroken(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      const us = Math.max(0, Math.round(clock.nowUs() - t0));
      ctx.work.dbRoundTrips += 1;
      ctx.work.dbUs += us;
      if (probes.enabled.dbQueryEnd()) probes.dbQueryEnd(requestId, us, rows, fd);
    }
  };
  return {
    fd,
    query: run,
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      await run('BEGIN');
      let value: T;
      try {
        value = await fn();
      } catch (err) {
        await run('ROLLBACK').catch((rollbackErr: unknown) => markBroken(rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))));
        throw err;
      }
      await run('COMMIT');
      return value;
    },
  };
}

/** A server-side SQL error (it carries a SQLSTATE) leaves the connection usable, unless it ended the session. */
function isServerError(err: unknown): boolean {
  return err instanceof pg.DatabaseError;
}

interface FdHolder {
  readonly connection?: { readonly stream?: { readonly _handle?: { readonly fd?: unknown } } };
}

/** The socket fd of a pg client's connection, -1 when unavailable. */
export function pgClientFd(client: pg.ClientBase): number {
  const fd = (client as unknown as FdHolder).connection?.stream?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/**
 * `(SELECT pg_sleep($n)) IS NOT NULL`: a condition that sleeps once, before any row is read.
 * The planner runs it as an InitPlan behind a one-time filter, so the delay happens even when
 * the statement finds no rows; pg_sleep returns a non-null void, so the condition is true.
 */
export function dbDelayCondition(paramIndex: number): string {
  return `(SELECT pg_sleep($${paramIndex})) IS NOT NULL`;
}

/** db_delay_ms as pg_sleep's seconds. */
export function dbDelaySeconds(ms: number): number {
  return ms / 1000;
}

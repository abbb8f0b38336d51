import { EventEmitter } from 'node:events';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { noopProbes } from './probes.ts';
import { withDb } from './query.ts';
import { newRequestWork, type RequestContext } from './request-context.ts';

const ctx: RequestContext = {
  requestId: '0123456789abcdef0123456789abcdef',
  traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
  sqlComment: '',
  probes: noopProbes,
  clock: { nowUs: () => 0 },
  work: newRequestWork(),
};

/** A pool client stand-in: an EventEmitter (as pg's Client is) whose query runs `answer`. */
class FakeClient extends EventEmitter {
  released: { err: Error | boolean | undefined } | null = null;
  constructor(private readonly answer: (client: FakeClient) => Promise<pg.QueryResult>) {
    super();
  }
  query(): Promise<pg.QueryResult> {
    return this.answer(this);
  }
  release(err?: Error | boolean): void {
    this.released = { err };
  }
}

const poolOf = (connect: () => Promise<FakeClient>, counts = { max: 4, total: 4, idle: 0, waiting: 2 }): pg.Pool =>
  ({ connect, options: { max: counts.max }, totalCount: counts.total, idleCount: counts.idle, waitingCount: counts.waiting }) as unknown as pg.Pool;
const rows = (): pg.QueryResult => ({ rows: [], rowCount: 0, command: 'SELECT', oid: 0, fields: [] });

describe('withDb', () => {
  it('reports the wait for the pool connection, how full the pool was when it asked, and whether the client is new', async () => {
    let now = 1_000;
    const calls: unknown[][] = [];
    const probes = { ...noopProbes, enabled: { ...noopProbes.enabled, poolWait: () => true }, poolWait: (...args: unknown[]) => void calls.push(args) };
    const work = newRequestWork();
    const waiting = { ...ctx, probes, work, clock: { nowUs: () => now } };
    const client = new FakeClient(async () => rows());
    const pool = poolOf(async () => {
      now += 41_000;
      return client;
    });
    await withDb(pool, waiting, (db) => db.query('SELECT 1'));
    await withDb(pool, waiting, (db) => db.query('SELECT 1'));
    expect(calls).toEqual([
      [ctx.requestId, 41_000, 4, 4, 2, -1, true],
      [ctx.requestId, 41_000, 4, 4, 2, -1, false],
    ]);
    expect(work.poolWaitUs).toBe(82_000);
  });

  it("survives the client's 'error' event while a request holds it, answers 503 and destroys the client", async () => {
    const lost = new Error('Connection terminated unexpectedly');
    const client = new FakeClient(async (c) => {
      // node-postgres emits 'error' on the client and fails the running query with the same error.
      c.emit('error', lost);
      throw lost;
    });
    const err = await withDb(poolOf(async () => client), ctx, (db) => db.query('SELECT 1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 503, message: 'the database connection was lost (Connection terminated unexpectedly): the request did not complete; retry it' });
    expect(client.released).toEqual({ err: lost });
    expect(client.listenerCount('error')).toBe(0);
  });

  it("destroys a client whose 'error' came between queries, though the request's own work succeeded", async () => {
    const lost = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const client = new FakeClient(async () => rows());
    const value = await withDb(poolOf(async () => client), ctx, async (db) => {
      await db.query('SELECT 1');
      client.emit('error', lost);
      return 'done';
    });
    expect(value).toBe('done');
    expect(client.released).toEqual({ err: lost });
  });

  it('answers 503 when no connection can be made', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:19082'), { code: 'ECONNREFUSED' });
    const err = await withDb(poolOf(async () => Promise.reject(refused)), ctx, async () => 'never').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, message: 'the database is unavailable (connect ECONNREFUSED 127.0.0.1:19082): retry shortly' });
  });

  it('passes a statement error through and returns the client to the pool', async () => {
    const syntax = Object.assign(new pg.DatabaseError('syntax error at or near "SELEC"', 0, 'error'), { code: '42601', severity: 'ERROR' });
    const client = new FakeClient(async () => Promise.reject(syntax));
    const err = await withDb(poolOf(async () => client), ctx, (db) => db.query('SELEC 1')).catch((e: unknown) => e);
    expect(err).toBe(syntax);
    expect(client.released).toEqual({ err: undefined });
  });

  it('keeps an HttpError of the handler as it is', async () => {
    const client = new FakeClient(async () => rows());
    const notFound = new HttpError(404, 'no product 7');
    const err = await withDb(poolOf(async () => client), ctx, async () => Promise.reject(notFound)).catch((e: unknown) => e);
    expect(err).toBe(notFound);
    expect(client.released).toEqual({ err: undefined });
  });
});

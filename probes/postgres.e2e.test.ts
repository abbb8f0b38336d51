import { join } from 'node:path';
import { tmpdir } from 'node:os';
/**
 * The postgres and sched families against a private PostgreSQL 15 cluster: phases of a
 * statement on a backend forked after the loader started, a row-lock wait, and buffer misses
 * after a restart, each tagged with the request id from the statement's leading comment. Real
 * BPF: fails, never skips, where BPF cannot load.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labConfig } from '../lab/config.ts';
import { pgConnectionConfig } from '../lab/db/pg-credentials.ts';
import { startPostgres, stopPostgres } from '../lab/db/postgres.ts';
import { pgAdminConnectionConfig } from '../lab/db/postgres-cluster.ts';
import { EventKind, PgPhase, type EventOf, type TraceEvent } from '../shared/event-types.ts';
import { bpfObjectIds, bpfObjectsHeldBy, buildProbes, startLoader, type LoaderExit } from '../test/run-loader.ts';
import { testPortBase } from '../test/lab-fixture.ts';

const PG_PORT_BASE = testPortBase(24110);
const cfg = labConfig({ LAB_PORT_BASE: String(PG_PORT_BASE), LAB_STATE_DIR: join(tmpdir(), `lab-pg-e2e-${PG_PORT_BASE}`) });
const MS = 1_000_000n;

const ID_NEW_BACKEND = 'a1'.repeat(16);
const ID_LOCK_HOLDER = 'b2'.repeat(16);
const ID_LOCK_WAITER = 'c3'.repeat(16);
const ID_COLD_READ = 'd4'.repeat(16);

/** The app's sqlcommenter prefix, as it writes it. */
function tagged(requestId: string, sql: string): string {
  return `/*request_id='${requestId}',traceparent='00-${requestId}-00f067aa0ba902b7-01'*/ ${sql}`;
}

type PgEvent = EventOf<typeof EventKind.PgPhase>;

function phases(events: readonly TraceEvent[], requestId: string, phase?: PgPhase): PgEvent[] {
  return events.filter(
    (e): e is PgEvent => e.kind === EventKind.PgPhase && e.requestId === requestId && (phase === undefined || e.phase === phase),
  );
}

async function connect(): Promise<pg.Client> {
  const c = new pg.Client(pgConnectionConfig(cfg));
  await c.connect();
  return c;
}

let exit: LoaderExit;
let linksWhileRunning: number[] = [];
let newBackendPid = 0;
let holderXid = 0;
let waiterPid = 0;
let coldFilenode = 0;

beforeAll(async () => {
  buildProbes();
  await startPostgres(cfg);
  const admin = new pg.Client(pgAdminConnectionConfig(cfg));
  await admin.connect();
  try {
    await admin.query('DROP TABLE IF EXISTS probe_lock, probe_cold');
    await admin.query('CREATE TABLE probe_lock (id int PRIMARY KEY, v int NOT NULL)');
    await admin.query('INSERT INTO probe_lock VALUES (1, 0)');
    await admin.query('CREATE TABLE probe_cold (id int NOT NULL, pad text NOT NULL)');
    await admin.query("INSERT INTO probe_cold SELECT g, repeat('x', 200) FROM generate_series(1, 4000) g");
    await admin.query('GRANT SELECT, UPDATE ON probe_lock, probe_cold TO lab');
    coldFilenode = Number((await admin.query('SELECT pg_relation_filenode($1) AS f', ['probe_cold'])).rows[0].f);
    await admin.query('CHECKPOINT');
  } finally {
    await admin.end();
  }
  // A restart empties shared buffers: the next scan of probe_cold misses on every block.
  await stopPostgres(cfg);
  const { pid: postmaster } = await startPostgres(cfg);

  const holder = await connect();
  const waiter = await connect();
  waiterPid = Number((await waiter.query('SELECT pg_backend_pid() AS p')).rows[0].p);
  const loader = await startLoader(['--pg-pid', String(postmaster), '--families', 'sched,postgres', '--pg-buffers', '-d', '120']);
  try {
    expect(loader.hooks.postgres).toMatch(/^usdt/);

    // A backend forked now, and its very first statement (extended protocol, as node-pg sends
    // parameterized queries).
    const fresh = await connect();
    await fresh.query(tagged(ID_NEW_BACKEND, 'SELECT pg_sleep($1)'), [0.05]);
    newBackendPid = Number((await fresh.query('SELECT pg_backend_pid() AS p')).rows[0].p);

    // The holder keeps the row locked for 200 ms while the waiter tries to update it.
    await holder.query(tagged(ID_LOCK_HOLDER, 'BEGIN'));
    await holder.query(tagged(ID_LOCK_HOLDER, 'UPDATE probe_lock SET v = v + 1 WHERE id = 1'));
    holderXid = Number((await holder.query(tagged(ID_LOCK_HOLDER, 'SELECT txid_current() % 4294967296 AS x'))).rows[0].x);
    const waiting = waiter.query(tagged(ID_LOCK_WAITER, 'UPDATE probe_lock SET v = v + 1 WHERE id = $1'), [1]);
    await new Promise((r) => setTimeout(r, 200));
    await holder.query(tagged(ID_LOCK_HOLDER, 'COMMIT'));
    await waiting;

    await fresh.query(tagged(ID_COLD_READ, 'SELECT count(*) FROM probe_cold'));
    await fresh.end();
    // Let the backend's exit reach the loader before it stops.
    await new Promise((r) => setTimeout(r, 300));
    linksWhileRunning = bpfObjectsHeldBy('link', loader.pid);
  } finally {
    await holder.end().catch(() => undefined);
    await waiter.end().catch(() => undefined);
    exit = await loader.stop();
  }
}, 240_000);

afterAll(async () => {
  await stopPostgres(cfg);
});

describe('postgres family', () => {
  it('runs and stops cleanly, following the new backend through its fork', () => {
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.warnings).toEqual([]);
    // Attached by binary path: one link for every site, whatever forks later.
    expect(exit.stderr).toMatch(/postgres: sites_attached=\d+ links=1$/m);
    const forks = exit.events.filter((e) => e.kind === EventKind.ProcFork);
    expect(forks.map((e) => (e.kind === EventKind.ProcFork ? e.childPid : 0))).toContain(newBackendPid);
    const exits = exit.events.filter((e) => e.kind === EventKind.ProcExit).map((e) => e.pid);
    expect(exits).toContain(newBackendPid);
  });

  it('times parse, plan and execute of the first statement of a new backend, tagged with its id', () => {
    const mine = phases(exit.events, ID_NEW_BACKEND);
    expect(mine.every((e) => e.pid === newBackendPid)).toBe(true);
    const [parse] = phases(exit.events, ID_NEW_BACKEND, PgPhase.Parse);
    const [plan] = phases(exit.events, ID_NEW_BACKEND, PgPhase.Plan);
    const [execute] = phases(exit.events, ID_NEW_BACKEND, PgPhase.Execute);
    expect(parse && plan && execute, JSON.stringify(mine, (_, v) => (typeof v === 'bigint' ? String(v) : v))).toBeTruthy();
    // pg_sleep(0.05) runs in the executor.
    expect(execute!.durationNs).toBeGreaterThanOrEqual(50n * MS);
    expect(execute!.durationNs).toBeLessThan(1000n * MS);
    expect(parse!.durationNs).toBeLessThan(50n * MS);
    expect(plan!.durationNs).toBeLessThan(50n * MS);
    // Parse ends before plan, plan before execute (ts is an interval's end).
    expect(parse!.tsNs).toBeLessThan(plan!.tsNs);
    expect(plan!.tsNs).toBeLessThan(execute!.tsNs);
  });

  it('records the row-lock wait of the waiter, ~200 ms, on the holder transaction id', () => {
    const waits = phases(exit.events, ID_LOCK_WAITER, PgPhase.LockWait);
    expect(waits).toHaveLength(1);
    const [wait] = waits;
    expect(wait!.pid).toBe(waiterPid);
    expect(wait!.durationNs).toBeGreaterThanOrEqual(150n * MS);
    expect(wait!.durationNs).toBeLessThan(1000n * MS);
    expect(wait!.detail0).toBe(BigInt(holderXid));
    expect(wait!.detail1).toBe(5n); // ShareLock on the holder's transaction id
    expect(phases(exit.events, ID_LOCK_HOLDER, PgPhase.LockWait)).toEqual([]);
  });

  it('reports the buffer misses of a cold scan with their relation and block, and the disk reads', () => {
    const misses = phases(exit.events, ID_COLD_READ, PgPhase.BufferRead).filter((e) => e.detail0 === BigInt(coldFilenode));
    // 4000 rows of ~230 bytes: a few dozen blocks, each missed once after the restart.
    expect(misses.length).toBeGreaterThanOrEqual(20);
    const blocks = new Set(misses.map((e) => e.detail1));
    expect(blocks.has(0n)).toBe(true);
    expect(blocks.size).toBe(misses.length);
    const reads = phases(exit.events, ID_COLD_READ, PgPhase.SmgrRead).filter((e) => e.detail1 === BigInt(coldFilenode));
    expect(reads.length).toBeGreaterThanOrEqual(20);
    expect(reads.every((e) => e.detail0 === 8192n)).toBe(true);
  });

  it('leaves no BPF link behind', () => {
    expect(linksWhileRunning.length).toBeGreaterThan(0);
    const now = bpfObjectIds('link');
    expect(linksWhileRunning.filter((id) => now.has(id))).toEqual([]);
  });
});

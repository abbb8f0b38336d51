/**
 * A row lock held by another session: `SELECT … FOR NO KEY UPDATE` in an open transaction, so
 * an UPDATE of the row waits for it, while the foreign-key checks of inserts referencing the row
 * (FOR KEY SHARE) do not. Released by rolling back; PostgreSQL also ends the transaction when
 * the session goes, and after the idle-in-transaction timeout at the latest.
 */
import pg from 'pg';

/** Longest a forgotten holder can keep the row, s. */
const IDLE_TIMEOUT_S = 30;

export interface HeldRowLock {
  /** Sessions waiting for a lock now (pg_locks, not granted), asked from the holding session. */
  waiters(): Promise<number>;
  /** Rolls back and closes the session; safe to call twice. */
  release(): Promise<void>;
}

/** Locks `products` row `productId` from a session of its own on `conn`. */
export async function holdProductRow(conn: pg.ClientConfig, productId: number): Promise<HeldRowLock> {
  const client = new pg.Client({ ...conn, application_name: 'reqtrace-inject-lock' });
  await client.connect();
  try {
    await client.query(`SET idle_in_transaction_session_timeout = '${IDLE_TIMEOUT_S}s'`);
    await client.query('BEGIN');
    const r = await client.query('SELECT 1 FROM products WHERE id = $1 FOR NO KEY UPDATE', [productId]);
    if (r.rowCount !== 1) throw new Error(`no product ${productId} to lock`);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  let released: Promise<void> | null = null;
  return {
    waiters: async () => (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted')).rows[0]?.n ?? 0,
    release: () => {
      released ??= client
        .query('ROLLBACK')
        .then(() => undefined)
        .finally(() => client.end().catch(() => undefined));
      return released;
    },
  };
}

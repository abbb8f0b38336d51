import type { Request } from 'express';
import type pg from 'pg';
import type { AppPaths } from './create-app.ts';
import { FEED_ITEMS, USERS_LIMIT, USERS_OFFSET } from './endpoints.ts';
import { appendLine, readTextFile } from './files.ts';
import { HttpError } from './http-error.ts';
import { parseBoolParam, parseIntParam, type LatencyKnobs, type Parsed } from './knobs.ts';
import { parseOrderInput } from './order-input.ts';
import { dbDelayCondition, dbDelaySeconds, withDb, type SqlParam } from './query.ts';
import { parseReportConfig } from './report-config.ts';
import type { RequestContext } from './request-context.ts';
import type { TtlCache } from './ttl-cache.ts';

export interface AppState {
  readonly pool: pg.Pool;
  readonly paths: AppPaths;
  readonly userCache: TtlCache<UserRow>;
}

export interface UserRow {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly created_at: Date;
}

export interface HandlerResult {
  readonly status?: number;
  readonly body: unknown;
}

type Handler = (req: Request, ctx: RequestContext, knobs: LatencyKnobs) => Promise<HandlerResult>;

const MAX_USER_ID = 2_147_483_647;

/**
 * The endpoint handlers. Each one's pg round trips must match endpoints.ts; `db_delay_ms`
 * goes into the first statement as an extra trailing parameter, never into the text.
 */
export function handlers(state: AppState): Record<'listUsers' | 'getUser' | 'createOrder' | 'report' | 'feed', Handler> {
  const { pool, paths, userCache } = state;

  /** The first statement's delay condition and parameter, when db_delay_ms asks for one. */
  const delay = (knobs: LatencyKnobs, params: readonly SqlParam[]): { cond: string | null; params: SqlParam[] } =>
    knobs.dbDelayMs > 0
      ? { cond: dbDelayCondition(params.length + 1), params: [...params, dbDelaySeconds(knobs.dbDelayMs)] }
      : { cond: null, params: [...params] };

  return {
    async listUsers(req, ctx, knobs) {
      const limit = ok(parseIntParam(query(req), 'limit', USERS_LIMIT.min, USERS_LIMIT.max, USERS_LIMIT.default));
      const offset = ok(parseIntParam(query(req), 'offset', USERS_OFFSET.min, USERS_OFFSET.max, USERS_OFFSET.default));
      const d = delay(knobs, [limit, offset]);
      return withDb(pool, ctx, async (db) => {
        const users = await db.query<Omit<UserRow, 'created_at'>>(
          `SELECT id, name, email FROM users${d.cond ? ` WHERE ${d.cond}` : ''} ORDER BY id LIMIT $1 OFFSET $2`,
          d.params,
        );
        const total = await db.query<{ total: number }>('SELECT count(*)::int AS total FROM users');
        return { body: { total: total.rows[0]?.total ?? 0, limit, offset, users: users.rows } };
      });
    },

    async getUser(req, ctx, knobs) {
      const raw = typeof req.params.id === 'string' ? req.params.id : '';
      if (!/^\d{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_USER_ID) {
        throw new HttpError(400, `user id must be a whole number from 1 to ${MAX_USER_ID}`);
      }
      const id = Number(raw);
      const key = `user:${id}`;
      const nowMs = ctx.clock.nowUs() / 1000;
      const cached = userCache.get(key, nowMs);
      if (cached) {
        ctx.work.cache = 'hit';
        if (ctx.probes.enabled.cacheHit()) ctx.probes.cacheHit(ctx.requestId, key);
        return { body: { user: cached, cache: 'hit' } };
      }
      ctx.work.cache = 'miss';
      if (ctx.probes.enabled.cacheMiss()) ctx.probes.cacheMiss(ctx.requestId, key);
      const d = delay(knobs, [id]);
      const result = await withDb(pool, ctx, (db) =>
        db.query<UserRow>(`SELECT id, name, email, created_at FROM users WHERE id = $1${d.cond ? ` AND ${d.cond}` : ''}`, d.params),
      );
      const user = result.rows[0];
      if (!user) throw new HttpError(404, `no user ${id}`);
      userCache.set(key, user, nowMs);
      return { body: { user, cache: 'miss' } };
    },

    async createOrder(req, ctx, knobs) {
      const input = ok(parseOrderInput(req.body, ctx.requestId));
      const d = delay(knobs, [input.userId, 'new']);
      return withDb(pool, ctx, (db) =>
        db.transaction(async () => {
          const order = await db.query<{ id: string }>(
            `INSERT INTO orders (user_id, status) SELECT $1::int, $2::text${d.cond ? ` WHERE ${d.cond}` : ''} RETURNING id`,
            d.params,
          );
          const orderId = order.rows[0]?.id;
          if (orderId === undefined) throw new Error('INSERT INTO orders returned no id');
          const item = await db.query<{ unit_price_cents: number }>(
            'INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) ' +
              'SELECT $1::bigint, id, $3::int, price_cents FROM products WHERE id = $2 RETURNING unit_price_cents',
            [orderId, input.productId, input.quantity],
          );
          const price = item.rows[0]?.unit_price_cents;
          if (price === undefined) throw new HttpError(404, `no product ${input.productId}`);
          const sold = await db.query<{ units_sold: string }>(
            'UPDATE products SET units_sold = units_sold + $2 WHERE id = $1 RETURNING units_sold',
            [input.productId, input.quantity],
          );
          return {
            status: 201,
            body: {
              order_id: orderId,
              user_id: input.userId,
              product_id: input.productId,
              quantity: input.quantity,
              total_cents: price * input.quantity,
              product_units_sold: sold.rows[0]?.units_sold ?? null,
            },
          };
        }),
      );
    },

    async report(req, ctx, knobs) {
      const totals = ok(parseBoolParam(query(req), 'totals', true));
      const cfgText = await readTextFile(ctx, paths.reportConfig);
      const cfg = parseReportConfig(cfgText);
      if (!cfg.ok) throw new Error(`${paths.reportConfig}: ${cfg.error}`);
      const d = delay(knobs, [cfg.value.windowOrders, cfg.value.top]);
      const out = await withDb(pool, ctx, async (db) => {
        const top = await db.query<{ id: number; name: string; revenue_cents: string; units: number }>(
          'SELECT p.id, p.name, sum(oi.quantity * oi.unit_price_cents)::bigint AS revenue_cents, sum(oi.quantity)::int AS units ' +
            'FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id ' +
            `WHERE o.id > (SELECT max(id) FROM orders) - $1${d.cond ? ` AND ${d.cond}` : ''} ` +
            'GROUP BY p.id, p.name ORDER BY revenue_cents DESC, p.id LIMIT $2',
          d.params,
        );
        const sums = totals
          ? (
              await db.query<{ orders: number; customers: number }>(
                'SELECT count(*)::int AS orders, count(DISTINCT user_id)::int AS customers FROM orders WHERE id > (SELECT max(id) FROM orders) - $1',
                [cfg.value.windowOrders],
              )
            ).rows[0] ?? null
          : null;
        return { top: top.rows, totals: sums };
      });
      await appendLine(
        ctx,
        paths.reportLog,
        JSON.stringify({ ts: new Date().toISOString(), request_id: ctx.requestId, products: out.top.length, window_orders: cfg.value.windowOrders }),
      );
      return { body: { window_orders: cfg.value.windowOrders, ...out } };
    },

    async feed(req, ctx, knobs) {
      const items = ok(parseIntParam(query(req), 'items', FEED_ITEMS.min, FEED_ITEMS.max, FEED_ITEMS.default));
      const d = delay(knobs, [items]);
      return withDb(pool, ctx, async (db) => {
        const orders = await db.query<{ id: string; user_id: number; user_name: string; created_at: Date }>(
          'SELECT o.id, o.user_id, u.name AS user_name, o.created_at FROM orders o JOIN users u ON u.id = o.user_id' +
            `${d.cond ? ` WHERE ${d.cond}` : ''} ORDER BY o.id DESC LIMIT $1`,
          d.params,
        );
        const feed = [];
        // One query per order on purpose: this endpoint is the lab's N+1 pattern.
        for (const order of orders.rows) {
          const lines = await db.query<{ product_id: number; name: string; quantity: number; unit_price_cents: number }>(
            'SELECT oi.product_id, p.name, oi.quantity, oi.unit_price_cents FROM order_items oi ' +
              'JOIN products p ON p.id = oi.product_id WHERE oi.order_id = $1 ORDER BY oi.product_id',
            [order.id],
          );
          feed.push({ ...order, items: lines.rows });
        }
        return { body: { items: feed.length, feed } };
      });
    },
  };
}

function query(req: Request): Record<string, unknown> {
  return req.query as Record<string, unknown>;
}

function ok<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new HttpError(400, parsed.error);
  return parsed.value;
}

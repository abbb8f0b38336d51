import type { Parsed } from './knobs.ts';

/** Bounds match the seed (lab/db/seed.sql): 10,000 users and 1,000 products. */
export const ORDER_BOUNDS = {
  user_id: { min: 1, max: 10_000 },
  product_id: { min: 1, max: 1_000 },
  quantity: { min: 1, max: 100 },
} as const;

export interface OrderInput {
  readonly userId: number;
  readonly productId: number;
  readonly quantity: number;
}

/**
 * The POST /api/orders body: `{user_id?, product_id?, quantity?}`, whole numbers within
 * ORDER_BOUNDS. Missing ids are derived from the request id, so a load generator sending one
 * fixed empty body still spreads orders over users and products; quantity defaults to 1.
 */
export function parseOrderInput(body: unknown, requestId: string): Parsed<OrderInput> {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    return { ok: false, error: 'order body must be a JSON object like {"user_id":1,"product_id":2,"quantity":1}' };
  }
  const fields = (body ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!(key in ORDER_BOUNDS)) return { ok: false, error: `unknown order field '${key.slice(0, 40)}'` };
  }
  const derivedUser = 1 + (parseInt(requestId.slice(0, 8), 16) % ORDER_BOUNDS.user_id.max);
  const derivedProduct = 1 + (parseInt(requestId.slice(8, 16), 16) % ORDER_BOUNDS.product_id.max);
  const userId = field(fields, 'user_id', derivedUser);
  if (!userId.ok) return userId;
  const productId = field(fields, 'product_id', derivedProduct);
  if (!productId.ok) return productId;
  const quantity = field(fields, 'quantity', 1);
  if (!quantity.ok) return quantity;
  return { ok: true, value: { userId: userId.value, productId: productId.value, quantity: quantity.value } };
}

function field(fields: Record<string, unknown>, name: keyof typeof ORDER_BOUNDS, fallback: number): Parsed<number> {
  const v = fields[name];
  if (v === undefined) return { ok: true, value: fallback };
  const { min, max } = ORDER_BOUNDS[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    return { ok: false, error: `${name} must be a whole number from ${min} to ${max}` };
  }
  return { ok: true, value: v };
}

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
    const got = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    return { ok: false, error: `order body must be a JSON object like {"user_id":1,"product_id":2,"quantity":1}, got ${got}` };
  }
  const fields = (body ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    // Own properties only: 'constructor' or '__proto__' are in every object's prototype chain.
    if (!Object.hasOwn(ORDER_BOUNDS, key)) return { ok: false, error: `unknown order field '${clip(key)}'` };
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

/** The headers that decide whether a request's body can be read as an order. */
export interface BodyHeaders {
  readonly 'content-type'?: string | undefined;
  readonly 'content-encoding'?: string | undefined;
  readonly 'content-length'?: string | undefined;
  readonly 'transfer-encoding'?: string | undefined;
}

/**
 * Why POST /api/orders must refuse this body with 415 Unsupported Media Type, or null when it
 * can be read: only uncompressed `application/json` (any charset parameter) is an order; a
 * request without a body is one too (its fields are derived). Pure.
 */
export function orderBodyRefusal(headers: BodyHeaders): string | null {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    return `compressed order bodies are not accepted (Content-Encoding: ${clip(encoding)}): send the JSON uncompressed`;
  }
  const length = headers['content-length']?.trim();
  const hasBody = headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '' && length !== '0');
  if (!hasBody) return null;
  const type = headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') return null;
  return `order body must be application/json, got ${type ? `'${clip(type)}'` : 'no Content-Type'}`;
}

/** At most 40 printable ASCII characters of client input, for messages. */
function clip(s: string): string {
  const safe = s.replace(/[^\x20-\x7e]/g, '?');
  return safe.length > 40 ? `${safe.slice(0, 40)}...` : safe;
}

function field(fields: Record<string, unknown>, name: keyof typeof ORDER_BOUNDS, fallback: number): Parsed<number> {
  const v = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (v === undefined) return { ok: true, value: fallback };
  const { min, max } = ORDER_BOUNDS[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    return { ok: false, error: `${name} must be a whole number from ${min} to ${max}` };
  }
  return { ok: true, value: v };
}

/**
 * Weighted endpoint mixes for `lab load --mix NAME`, and the pure choice of the next request.
 * Targets follow lab/app/endpoints.ts (10,000 seeded users, 1,000 products).
 */
import type { MixName } from '../../shared/mixes.ts';

export type { MixName };
export type TargetName = 'users' | 'user' | 'user7' | 'orders' | 'report' | 'feed' | 'healthz';

/** One request to send. */
export interface LoadRequest {
  readonly target: TargetName;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** JSON body (POST only). */
  readonly body?: string;
}

/** Relative weights; a mix's weights need not sum to anything in particular. */
export type Mix = Readonly<Partial<Record<TargetName, number>>>;

/**
 * `default` leans on reads as a web API does: list and detail pages most, writes and the
 * heavier report/feed less, and a little health checking.
 */
export const MIX_TABLE: Readonly<Record<MixName, Mix>> = {
  default: { users: 25, user: 35, orders: 10, report: 10, feed: 10, healthz: 10 },
  users: { users: 50, user: 50 },
  /** One cached user, over and over: the lab's lightest request through every tier but the database. */
  light: { user7: 1 },
  orders: { orders: 1 },
  report: { report: 1 },
  feed: { feed: 1 },
  health: { healthz: 1 },
  all: { users: 1, user: 1, orders: 1, report: 1, feed: 1, healthz: 1 },
};

export const USER_IDS = 10_000;
export const PRODUCT_IDS = 1_000;
/** Detail requests draw from a hot set, so the app cache sees both hits and misses. */
export const HOT_USERS = 500;
export const FEED_ITEMS = 10;

/** Picks a target by weight; `r` is uniform in [0, 1). */
export function pickTarget(mix: Mix, r: number): TargetName {
  const entries = Object.entries(mix).filter(([, w]) => (w ?? 0) > 0) as [TargetName, number][];
  if (entries.length === 0) throw new Error('empty mix');
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = r * total;
  for (const [name, w] of entries) {
    if (x < w) return name;
    x -= w;
  }
  return (entries[entries.length - 1] as [TargetName, number])[0];
}

const between = (r: number, lo: number, hi: number): number => lo + Math.floor(r * (hi - lo + 1));

/** Builds the concrete request for a target; `rand` yields uniform numbers in [0, 1). */
export function buildRequest(target: TargetName, rand: () => number): LoadRequest {
  switch (target) {
    case 'users':
      return { target, method: 'GET', path: '/api/users' };
    case 'user':
      return { target, method: 'GET', path: `/api/users/${between(rand(), 1, HOT_USERS)}` };
    case 'user7':
      return { target, method: 'GET', path: '/api/users/7' };
    case 'orders':
      return {
        target,
        method: 'POST',
        path: '/api/orders',
        body: JSON.stringify({ user_id: between(rand(), 1, USER_IDS), product_id: between(rand(), 1, PRODUCT_IDS), quantity: between(rand(), 1, 3) }),
      };
    case 'report':
      return { target, method: 'GET', path: '/api/report' };
    case 'feed':
      return { target, method: 'GET', path: `/api/feed?items=${FEED_ITEMS}` };
    case 'healthz':
      return { target, method: 'GET', path: '/healthz' };
  }
}

/** Latency knobs (a query string such as `db_delay_ms=10`) added to one target's requests. */
export type TargetKnobs = Readonly<Partial<Record<TargetName, string>>>;

const TARGETS: readonly TargetName[] = ['users', 'user', 'orders', 'report', 'feed', 'healthz'];

/**
 * Parses `TARGET:QUERY[,TARGET:QUERY…]`, e.g. `users:db_delay_ms=10`; returns a one-line error
 * for an unknown target or a query that is not `name=value` pairs. Pure.
 */
export function parseTargetKnobs(text: string): TargetKnobs | string {
  const out: Partial<Record<TargetName, string>> = {};
  for (const part of text.split(',')) {
    const colon = part.indexOf(':');
    const target = part.slice(0, colon).trim() as TargetName;
    const query = part.slice(colon + 1).trim();
    if (colon === -1 || !TARGETS.includes(target)) return `--knob expects TARGET:QUERY with TARGET one of ${TARGETS.join(', ')}, got '${part}'`;
    if (!/^[a-z_]+=[0-9]+(?:&[a-z_]+=[0-9]+)*$/.test(query)) return `--knob ${target}: expects name=value pairs joined by &, e.g. db_delay_ms=10, got '${query}'`;
    if (target in out) return `--knob names ${target} twice`;
    out[target] = query;
  }
  return out;
}

/** `request` with its target's knob appended to the path. */
export function withKnob(request: LoadRequest, knobs: TargetKnobs): LoadRequest {
  const knob = knobs[request.target];
  return knob === undefined ? request : { ...request, path: `${request.path}${request.path.includes('?') ? '&' : '?'}${knob}` };
}

/** The next request of `mix`, with `knobs` applied. */
export function nextRequest(mix: Mix, rand: () => number, knobs: TargetKnobs = {}): LoadRequest {
  return withKnob(buildRequest(pickTarget(mix, rand()), rand), knobs);
}


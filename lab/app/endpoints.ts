/**
 * The app's endpoints and, per endpoint, exactly how much work a request does as a function of
 * its inputs: the one source of truth for tests, load mixes and the N+1 / query-count checks.
 */
import { ROUTES, type RouteName } from '../../shared/routes.ts';

/** Inputs that change an endpoint's work; omitted fields take the endpoint's defaults. */
export interface EndpointInput {
  /** GET /api/users/:id: the user was already in the app cache. */
  readonly cacheHit?: boolean;
  /** GET /api/feed: `items` (1..50). */
  readonly items?: number;
  /** GET /api/report: `totals` (default true). */
  readonly totals?: boolean;
  /** Any endpoint: the `io_kb` knob. */
  readonly ioKb?: number;
}

export type EndpointName = RouteName;

export interface EndpointSpec {
  readonly name: EndpointName;
  readonly method: 'GET' | 'POST';
  /** Express route pattern. */
  readonly route: string;
  /** A concrete request target for load generators. */
  readonly example: string;
  /** Example JSON body (POST only; every field optional). */
  readonly exampleBody?: Readonly<Record<string, number>>;
  /** pg round trips on the request's pool client, BEGIN and COMMIT included. */
  roundTrips(input?: EndpointInput): number;
  /** Statements pg_stat_statements counts (BEGIN/COMMIT are utility statements, not tracked). */
  statements(input?: EndpointInput): number;
  /** Files the request opens (each gets file_open / file_close probes). */
  fileOpens(input?: EndpointInput): number;
}

export const FEED_ITEMS = { min: 1, max: 50, default: 10 } as const;
export const USERS_LIMIT = { min: 1, max: 100, default: 20 } as const;
export const USERS_OFFSET = { min: 0, max: 10_000, default: 0 } as const;

const knobFiles = (input?: EndpointInput): number => ((input?.ioKb ?? 0) > 0 ? 1 : 0);

export const ENDPOINTS: readonly EndpointSpec[] = [
  {
    name: 'users',
    method: 'GET',
    route: ROUTES.users,
    example: '/api/users',
    roundTrips: () => 2,
    statements: () => 2,
    fileOpens: knobFiles,
  },
  {
    name: 'user',
    method: 'GET',
    route: ROUTES.user,
    example: '/api/users/42',
    roundTrips: (input) => (input?.cacheHit ? 0 : 1),
    statements: (input) => (input?.cacheHit ? 0 : 1),
    fileOpens: knobFiles,
  },
  {
    name: 'orders',
    method: 'POST',
    route: ROUTES.orders,
    example: '/api/orders',
    exampleBody: { user_id: 42, product_id: 7, quantity: 1 },
    roundTrips: () => 5,
    statements: () => 3,
    fileOpens: knobFiles,
  },
  {
    name: 'report',
    method: 'GET',
    route: ROUTES.report,
    example: '/api/report',
    roundTrips: (input) => (input?.totals === false ? 1 : 2),
    statements: (input) => (input?.totals === false ? 1 : 2),
    fileOpens: (input) => 2 + knobFiles(input),
  },
  {
    name: 'feed',
    method: 'GET',
    route: ROUTES.feed,
    example: '/api/feed?items=10',
    roundTrips: (input) => 1 + (input?.items ?? FEED_ITEMS.default),
    statements: (input) => 1 + (input?.items ?? FEED_ITEMS.default),
    fileOpens: knobFiles,
  },
  {
    name: 'health',
    method: 'GET',
    route: ROUTES.health,
    example: '/healthz',
    roundTrips: () => 0,
    statements: () => 0,
    fileOpens: knobFiles,
  },
];

/** The spec of one endpoint by name. */
export function endpoint(name: EndpointName): EndpointSpec {
  const spec = ENDPOINTS.find((e) => e.name === name);
  if (!spec) throw new Error(`unknown endpoint '${name}'`);
  return spec;
}

/**
 * The app's routes, by endpoint name: Express mounts them (lab/app/create-app.ts), the endpoint
 * specs describe them (lab/app/endpoints.ts), and traces name a request's route by them.
 */
export const ROUTES = {
  users: '/api/users',
  user: '/api/users/:id',
  orders: '/api/orders',
  report: '/api/report',
  feed: '/api/feed',
  health: '/healthz',
} as const;

export type RouteName = keyof typeof ROUTES;

/** Routes with a `:param` segment, as patterns matching one concrete path each. */
const PARAM_ROUTES: readonly { readonly route: string; readonly pattern: RegExp }[] = Object.values(ROUTES)
  .filter((r) => r.includes('/:'))
  .map((route) => ({ route, pattern: new RegExp(`^${route.replace(/:[^/]+/g, '[^/]+')}$`) }));

/** The route for a request target: `/api/users/42?x=1` → `/api/users/:id`; other paths lose only the query. Pure. */
export function routeOf(path: string): string {
  const p = path.split('?')[0] ?? path;
  return PARAM_ROUTES.find((r) => r.pattern.test(p))?.route ?? p;
}

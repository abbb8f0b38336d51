/** The endpoint template for a path: `/api/users/42?x=1` → `/api/users/:id`. Pure. */
export function routeOf(path: string): string {
  const p = path.split('?')[0] ?? path;
  if (/^\/api\/users\/[^/]+$/.test(p)) return '/api/users/:id';
  return p;
}

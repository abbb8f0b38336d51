import { describe, expect, it } from 'vitest';
import { ROUTES, routeOf } from './routes.ts';

describe('routeOf', () => {
  it('names the route of a path with a parameter', () => {
    expect(routeOf('/api/users/42')).toBe(ROUTES.user);
    expect(routeOf('/api/users/42?fresh=1')).toBe(ROUTES.user);
  });

  it('keeps other paths, without their query', () => {
    expect(routeOf('/api/feed?items=5')).toBe('/api/feed');
    expect(routeOf('/api/users')).toBe('/api/users');
    expect(routeOf('/api/users/42/orders')).toBe('/api/users/42/orders');
    expect(routeOf('/nowhere')).toBe('/nowhere');
  });

  it('maps every route to itself', () => {
    for (const r of Object.values(ROUTES)) expect(routeOf(r)).toBe(r);
  });
});

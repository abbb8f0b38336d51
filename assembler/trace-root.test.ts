import { describe, expect, it } from 'vitest';
import type { RequestFacts } from './app-facts.ts';
import { draftSpan } from './span-draft.ts';
import { markShed, rootNameAndTags } from './trace-root.ts';

const facts = (over: Partial<RequestFacts> = {}): RequestFacts =>
  ({ requestId: 'a'.repeat(32), reqStart: undefined, reqEnd: undefined, ...over }) as RequestFacts;

describe('rootNameAndTags', () => {
  it("names the root by the access log's method and route when the kernel kept no RequestStart", () => {
    const access = {
      requestId: 'a'.repeat(32),
      timeIso: '',
      method: 'GET',
      uri: '/api/users/7?x=1',
      status: 404,
      requestTime: 0.002,
      upstreamConnectTime: null,
      upstreamHeaderTime: null,
      upstreamResponseTime: null,
      upstreamAddr: null,
      connection: null,
      connectionRequests: null,
    };
    const { name, tags } = rootNameAndTags(facts(), access, undefined);
    expect(name).toBe('GET /api/users/:id');
    expect(tags).toEqual({
      'request.id': 'a'.repeat(32),
      'http.request.method': 'GET',
      'url.path': '/api/users/7',
      'http.route': '/api/users/:id',
      'http.response.status_code': 404,
      'nginx.request_time_ms': 2,
    });
  });

  it('falls back to UNKNOWN / with nothing to go by', () => {
    expect(rootNameAndTags(facts(), undefined, undefined).name).toBe('UNKNOWN /');
  });
});

describe('markShed', () => {
  it('tags a root that outlived a shed family, and leaves others alone', () => {
    const root = draftSpan('GET /', 'app', 100n, 200n);
    markShed(root, [{ family: 'sched', atNs: 150n, budgetPct: 3 }]);
    expect(root.tags['tracing.shed']).toBe('sched');
    expect(root.warnings).toHaveLength(1);
    const early = draftSpan('GET /', 'app', 100n, 140n);
    markShed(early, [{ family: 'sched', atNs: 150n, budgetPct: 3 }]);
    expect(early.tags).toEqual({});
  });
});

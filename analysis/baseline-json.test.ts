import { describe, expect, it } from 'vitest';
import { parseBaseline } from './baseline-json.ts';
import { normalWithBaseline } from './fixtures/detector-harness.ts';

describe('parseBaseline', () => {
  const { baseline } = normalWithBaseline();

  it('reads back what buildBaseline wrote', () => {
    expect(parseBaseline(JSON.stringify(baseline), 'b.json')).toEqual(baseline);
  });

  it('rejects bad files with a one-line reason naming the file', () => {
    expect(() => parseBaseline('{', 'b.json')).toThrow(/^b\.json is not JSON/);
    expect(() => parseBaseline('{"kind":"other"}', 'b.json')).toThrow('b.json is not a reqtrace baseline');
    expect(() => parseBaseline(JSON.stringify({ ...baseline, version: 2 }), 'b.json')).toThrow("b.json is baseline version 2; this build reads version 1 (rebuild it with 'lab baseline')");
    const broken = JSON.parse(JSON.stringify(baseline)) as { routes: Record<string, { latencyMs?: unknown }> };
    delete (broken.routes['GET /api/users'] as { latencyMs?: unknown }).latencyMs;
    expect(() => parseBaseline(JSON.stringify(broken), 'b.json')).toThrow("b.json: route 'GET /api/users' has no valid latencyMs");
  });
});

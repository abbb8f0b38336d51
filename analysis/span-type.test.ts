import { describe, expect, it } from 'vitest';
import type { Span, Trace } from '../assembler/span.ts';
import { collapsePath, localSpanType, normalizeStatement, routeOfTrace, spanTypeKeys, statementTable } from './span-type.ts';

function makeSpan(id: string, parentId: string | null, name: string, tags: Span['tags'] = {}): Span {
  return { id, parentId, name, tier: 'app', startNs: 0n, endNs: 1n, tags, logs: [], warnings: [] };
}

describe('span types', () => {
  it('drops the ordinal of DB queries and keys them by operation and normalized statement', () => {
    const q = (n: number, text: string) => makeSpan('q', 'r', `DB query ${n} (SELECT)`, { 'db.operation.name': 'SELECT', 'db.query.text': text });
    const a = localSpanType(q(3, 'SELECT id FROM users WHERE id = $1'));
    const b = localSpanType(q(1, 'SELECT  id FROM users\n WHERE id = $1'));
    expect(a).toEqual({ key: 'DB query (SELECT) SELECT id FROM users WHERE id = $1', label: 'DB query (SELECT … users)' });
    expect(b).toEqual(a);
  });

  it('normalizes literals, comments and value lists away', () => {
    expect(normalizeStatement("/*request_id='x'*/ SELECT * FROM t WHERE a = 'O''Brien' AND b IN (1, 2, 3) AND c > -4.5 -- tail")).toBe(
      'SELECT * FROM t WHERE a = ? AND b IN (…) AND c > ?',
    );
    expect(normalizeStatement('SELECT col1 FROM t2 WHERE x = $12')).toBe('SELECT col1 FROM t2 WHERE x = $12');
    expect(statementTable('INSERT INTO order_items (a) VALUES ($1)')).toBe('order_items');
  });

  it('keys files by path, syscall children by verb, orphans without their pid or fd', () => {
    expect(localSpanType(makeSpan('f', 'a', 'file read: report.json', { 'file.path': '/srv/lab/config/report.json' })).key).toBe('file read: /srv/lab/config/report.json');
    expect(localSpanType(makeSpan('k', 'f', 'read 2.0 KiB')).key).toBe('read');
    expect(localSpanType(makeSpan('o', 'r', 'orphan: PostgreSQL phases (pid 4302)')).key).toBe('orphan: PostgreSQL phases');
    expect(localSpanType(makeSpan('n', 'r', 'network: nginx → app')).key).toBe('network: nginx → app');
  });

  it('full keys are the path of local types below the root', () => {
    const trace: Trace = {
      traceId: 'a'.repeat(32),
      spans: [makeSpan('r', null, 'GET /api/users'), makeSpan('app', 'r', 'app processing'), makeSpan('q', 'app', 'DB query 2 (UPDATE)', { 'db.query.text': 'UPDATE t SET a = 1' }), makeSpan('e', 'q', 'execute')],
    };
    expect([...spanTypeKeys(trace).values()]).toEqual(['request', 'app processing', 'app processing › DB query (UPDATE) UPDATE t SET a = ?', 'app processing › DB query (UPDATE) UPDATE t SET a = ? › execute']);
  });

  it('the route is METHOD + http.route, else the path with ids collapsed', () => {
    const t = (tags: Span['tags']): Trace => ({ traceId: 'b'.repeat(32), spans: [makeSpan('r', null, 'GET /x', tags)] });
    expect(routeOfTrace(t({ 'http.request.method': 'POST', 'http.route': '/api/orders' }))).toBe('POST /api/orders');
    expect(routeOfTrace(t({ 'http.request.method': 'GET', 'url.path': '/api/items/42/comments/550e8400-e29b-41d4-a716-446655440000' }))).toBe('GET /api/items/:id/comments/:id');
    expect(collapsePath('/api/feed?items=3')).toBe('/api/feed');
  });
});

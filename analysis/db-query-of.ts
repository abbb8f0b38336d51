/** The DB query span a PostgreSQL phase span belongs to (its nearest `DB query` ancestor). */
import type { Span, Trace } from '../assembler/span.ts';

export function dbQueryOf(trace: Trace, span: Span): Span | undefined {
  const byId = new Map(trace.spans.map((s) => [s.id, s]));
  let cur: Span | undefined = span;
  while (cur) {
    if (cur.name.startsWith('DB query')) return cur;
    cur = cur.parentId === null ? undefined : byId.get(cur.parentId);
  }
  return undefined;
}

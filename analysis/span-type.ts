/**
 * Stable span types: what makes two spans "the same kind of work" across requests, so their
 * durations can be pooled into a baseline and aligned in comparisons. Ordinals and sizes in
 * span names are dropped ("DB query 3 (SELECT)" and "DB query 1 (SELECT)" running the same
 * statement are one type), and a request's route is its method plus endpoint template.
 */
import type { Span, Trace } from '../assembler/span.ts';

/** Separates the local types of a span and its ancestors in a full type key. */
export const TYPE_PATH_SEPARATOR = ' › ';

/**
 * A statement with literals, comments and whitespace runs normalized away: string and number
 * literals become `?`, value lists become `(…)`. Parameters (`$1`) are kept. No literal
 * value survives, so the result may be printed.
 */
export function normalizeStatement(sql: string): string {
  const hit = normalized.get(sql);
  if (hit !== undefined) return hit;
  const out = normalizeUncached(sql);
  // A capture holds few distinct statements; the bound only guards against literal-laden ones.
  if (normalized.size >= MAX_CACHED_STATEMENTS) normalized.clear();
  normalized.set(sql, out);
  return out;
}

const MAX_CACHED_STATEMENTS = 10_000;
const normalized = new Map<string, string>();

function normalizeUncached(sql: string): string {
  return sql
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/(?<![\w$.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])/gi, '?')
    .replace(/\(\s*(?:(?:\?|\$\d+)\s*,\s*)+(?:\?|\$\d+)\s*\)/g, '(…)')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The first table a statement names (after FROM, INTO, UPDATE or JOIN), or undefined. */
export function statementTable(statement: string): string | undefined {
  const m = /\b(?:FROM|INTO|UPDATE|JOIN)\s+("?[\w.]+"?)/i.exec(statement);
  return m?.[1]?.replace(/"/g, '');
}

const DB_QUERY = /^DB query \d+(?: \((\w+)\))?$/;
const IO_SYSCALL = /^(read|write) \d+(?:\.\d+)? (?:B|KiB|MiB|GiB)$/;
const ORPHAN = /^(orphan: [^(]+?) \((?:pid|fd) \d+\)$/;

const tagString = (span: Span, key: string): string | undefined => {
  const v = span.tags[key];
  return typeof v === 'string' ? v : undefined;
};

/** A span's own type, ignoring its ancestors: the key and a short label for reports. */
export interface LocalSpanType {
  readonly key: string;
  readonly label: string;
}

/** The type of one span on its own (the root's type is `request`). */
export function localSpanType(span: Span): LocalSpanType {
  if (span.parentId === null) return { key: 'request', label: 'request' };
  const db = DB_QUERY.exec(span.name);
  if (db) {
    const op = tagString(span, 'db.operation.name') ?? db[1];
    const text = tagString(span, 'db.query.text');
    const statement = text !== undefined ? normalizeStatement(text) : undefined;
    const table = statement !== undefined ? statementTable(statement) : undefined;
    const opPart = op ? ` (${op}${table ? ` … ${table}` : ''})` : table ? ` (… ${table})` : '';
    return { key: `DB query${op ? ` (${op})` : ''}${statement ? ` ${statement}` : ''}`, label: `DB query${opPart}` };
  }
  const path = tagString(span, 'file.path');
  if (path !== undefined && span.name.startsWith('file')) {
    const verb = span.name.split(':')[0] ?? 'file';
    return { key: `${verb}: ${path}`, label: span.name };
  }
  const io = IO_SYSCALL.exec(span.name);
  if (io) return { key: io[1] as string, label: io[1] as string };
  const orphan = ORPHAN.exec(span.name);
  if (orphan) return { key: orphan[1] as string, label: orphan[1] as string };
  return { key: span.name, label: span.name };
}

/** Per span id: the full type key (local types from below the root down to the span); `locals` may hold them precomputed. */
export function spanTypeKeys(trace: Trace, locals: ReadonlyMap<string, LocalSpanType> = new Map()): ReadonlyMap<string, string> {
  const keys = new Map<string, string>();
  for (const s of trace.spans) {
    if (s.parentId === null) {
      keys.set(s.id, 'request');
      continue;
    }
    const parent = keys.get(s.parentId);
    const local = (locals.get(s.id) ?? localSpanType(s)).key;
    keys.set(s.id, parent === undefined || parent === 'request' ? local : parent + TYPE_PATH_SEPARATOR + local);
  }
  return keys;
}

/** Numeric ids, UUIDs and long hex ids in a path become `:id`; the query string is dropped. */
export function collapsePath(path: string): string {
  const p = path.split('?')[0] ?? path;
  return p
    .split('/')
    .map((seg) => (/^\d+$/.test(seg) || /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(seg) || /^[0-9a-f]{16,}$/i.test(seg) ? ':id' : seg))
    .join('/');
}

/** The route of a trace: `METHOD http.route`, else `METHOD` + the path with ids collapsed. */
export function routeOfTrace(trace: Trace): string {
  const root = trace.spans[0];
  if (!root) return 'UNKNOWN /';
  const method = tagString(root, 'http.request.method') ?? (root.name.split(' ')[0] || 'UNKNOWN');
  const route = tagString(root, 'http.route');
  if (route !== undefined) return `${method} ${route}`;
  const path = tagString(root, 'url.path') ?? root.name.split(' ')[1] ?? '/';
  return `${method} ${collapsePath(path)}`;
}

/**
 * What the baseline and the detectors measure in one trace, computed once per trace: its route
 * and duration, per-type durations, the "components" its time divides into, DB query and file
 * I/O counts, and the kernel waits tagged on its spans.
 *
 *   GET /api/users                          root
 *   ├─ nginx processing                     component
 *   ├─ network: nginx → app                 component
 *   ├─ app processing                       (split into its children)
 *   │  ├─ handler setup, DB query 1, …      components
 *   ├─ network: app → nginx                 component
 *   └─ nginx response                       component
 *
 * Components do not overlap, so their excesses over their baselines add up to (most of) the
 * request's excess: that is how a slow request is explained.
 */
import { durationNs, type Span, type Trace } from '../assembler/span.ts';
import { localSpanType, routeOfTrace, spanTypeKeys, type LocalSpanType } from './span-type.ts';

export interface DbQueryFact {
  readonly span: Span;
  /** Full type key of the query span. */
  readonly typeKey: string;
  /** The statement's local key (operation + normalized text). */
  readonly statementKey: string;
  readonly label: string;
  readonly durationMs: number;
}

export interface TraceFacts {
  readonly traceId: string;
  readonly route: string;
  readonly root: Span;
  readonly rootMs: number;
  /** Full type key per span id. */
  readonly typeKeys: ReadonlyMap<string, string>;
  /** Duration per span id, ms. */
  readonly spanMs: ReadonlyMap<string, number>;
  /** Short label per full type key. */
  readonly labels: ReadonlyMap<string, string>;
  /** Sum of span durations per full type key, ms. */
  readonly typeTotalMs: ReadonlyMap<string, number>;
  /** Sum of component durations per full type key, ms. */
  readonly componentMs: ReadonlyMap<string, number>;
  readonly dbQueries: readonly DbQueryFact[];
  /** Executions per statement key. */
  readonly statementCounts: ReadonlyMap<string, number>;
  readonly fileOps: number;
  readonly fileBytesRead: number;
  readonly fileBytesWritten: number;
  /** Sum of `kernel.socket_buffer_wait_ns` over the trace's spans, ms. */
  readonly socketWaitMs: number;
  /** The app thread's run-queue delay while serving the request (`app processing`), ms. */
  readonly runqDelayMs: number;
}

/** Nanoseconds (bigint) to milliseconds. */
export const ms = (ns: bigint): number => Number(ns) / 1e6;

/** A numeric tag in ns, as ms (0 when absent). */
export function tagNsAsMs(span: Span, key: string): number {
  const v = span.tags[key];
  return typeof v === 'number' ? v / 1e6 : 0;
}

export function tagNumber(span: Span, key: string): number {
  const v = span.tags[key];
  return typeof v === 'number' ? v : 0;
}

const add = (m: Map<string, number>, k: string, v: number): void => {
  m.set(k, (m.get(k) ?? 0) + v);
};

const cache = new WeakMap<Trace, TraceFacts>();

/** The facts of one trace (memoized per trace object; traces are read-only). */
export function traceFacts(trace: Trace): TraceFacts {
  const hit = cache.get(trace);
  if (hit) return hit;
  const root = trace.spans[0];
  if (!root) throw new Error(`trace ${trace.traceId} has no spans`);
  const locals = new Map(trace.spans.map((s) => [s.id, localSpanType(s)]));
  const typeKeys = spanTypeKeys(trace, locals);
  const labels = new Map<string, string>();
  const spanMs = new Map<string, number>();
  const typeTotalMs = new Map<string, number>();
  const componentMs = new Map<string, number>();
  const statementCounts = new Map<string, number>();
  const dbQueries: DbQueryFact[] = [];
  const hasChildren = new Set(trace.spans.map((s) => s.parentId));
  const appIds = new Set(trace.spans.filter((s) => s.parentId === root.id && s.name === 'app processing' && hasChildren.has(s.id)).map((s) => s.id));
  let fileOps = 0;
  let fileBytesRead = 0;
  let fileBytesWritten = 0;
  let socketWaitMs = 0;
  let runqDelayMs = 0;
  for (const s of trace.spans) {
    const key = typeKeys.get(s.id) as string;
    const local = locals.get(s.id) as LocalSpanType;
    if (!labels.has(key)) labels.set(key, local.label);
    const d = ms(durationNs(s));
    spanMs.set(s.id, d);
    add(typeTotalMs, key, d);
    const isComponent = s.parentId !== null && ((s.parentId === root.id && !appIds.has(s.id)) || appIds.has(s.parentId));
    if (isComponent) add(componentMs, key, d);
    if (local.key.startsWith('DB query')) {
      dbQueries.push({ span: s, typeKey: key, statementKey: local.key, label: local.label, durationMs: d });
      add(statementCounts, local.key, 1);
    }
    if (typeof s.tags['file.path'] === 'string' && s.name.startsWith('file')) {
      fileOps++;
      fileBytesRead += tagNumber(s, 'file.bytes_read');
      fileBytesWritten += tagNumber(s, 'file.bytes_written');
    }
    socketWaitMs += tagNsAsMs(s, 'kernel.socket_buffer_wait_ns');
    if (s.name === 'app processing' && s.parentId === root.id) runqDelayMs += tagNsAsMs(s, 'kernel.runq_delay_ns');
  }
  const facts: TraceFacts = {
    traceId: trace.traceId,
    route: routeOfTrace(trace),
    root,
    rootMs: ms(durationNs(root)),
    typeKeys,
    spanMs,
    labels,
    typeTotalMs,
    componentMs,
    dbQueries,
    statementCounts,
    fileOps,
    fileBytesRead,
    fileBytesWritten,
    socketWaitMs,
    runqDelayMs,
  };
  cache.set(trace, facts);
  return facts;
}

/**
 * `lab compare` targets: `DIR@ID` (a request id or a unique prefix of at least 8 hex digits),
 * `DIR@slowest`, `DIR@median` (the route-typical trace), or a bare capture `DIR`. Pure.
 */
import { durationNs, type Span, type Trace } from '../assembler/span.ts';
import { routeOfTrace } from './span-type.ts';

export type TraceSelector = { readonly kind: 'id'; readonly id: string } | { readonly kind: 'slowest' } | { readonly kind: 'median' };

export interface CompareTarget {
  readonly dir: string;
  /** Absent: the whole capture. */
  readonly selector?: TraceSelector;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Parses one `lab compare` argument. A `/` after the last `@` means the `@` belongs to the path. */
export function parseCompareTarget(arg: string): Parsed<CompareTarget> {
  const at = arg.lastIndexOf('@');
  if (at === -1 || arg.slice(at + 1).includes('/')) {
    return arg.trim() === '' ? { ok: false, error: 'an empty capture directory was given' } : { ok: true, value: { dir: arg } };
  }
  const dir = arg.slice(0, at);
  const sel = arg.slice(at + 1);
  if (dir === '') return { ok: false, error: `'${arg}' names no capture directory before '@'` };
  if (sel === 'slowest' || sel === 'median') return { ok: true, value: { dir, selector: { kind: sel } } };
  const id = sel.toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{8,32}$/.test(id)) return { ok: false, error: `'${sel}' after '@' must be a request id (8 to 32 hex digits), 'slowest' or 'median'` };
  return { ok: true, value: { dir, selector: { kind: 'id', id } } };
}

/** Both arguments, which must be of one mode: two traces or two captures. */
export function parseCompareTargets(a: string, b: string): Parsed<readonly [CompareTarget, CompareTarget]> {
  const x = parseCompareTarget(a);
  if (!x.ok) return x;
  const y = parseCompareTarget(b);
  if (!y.ok) return y;
  if ((x.value.selector === undefined) !== (y.value.selector === undefined)) {
    return { ok: false, error: 'compare takes two traces (DIR@ID, DIR@slowest, DIR@median) or two capture directories, not one of each' };
  }
  return { ok: true, value: [x.value, y.value] };
}

const dur = (t: Trace): bigint => durationNs(t.spans[0] as Span);
const byDuration = (x: Trace, y: Trace): number => {
  const a = dur(x);
  const b = dur(y);
  return a !== b ? (a < b ? -1 : 1) : x.traceId < y.traceId ? -1 : 1;
};

/** The route with the most traces (ties: the first alphabetically). */
export function commonestRoute(traces: readonly Trace[]): string | undefined {
  const n = new Map<string, number>();
  for (const t of traces) n.set(routeOfTrace(t), (n.get(routeOfTrace(t)) ?? 0) + 1);
  return [...n].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0]?.[0];
}

/**
 * The trace `selector` names in `traces` (of capture `dir`). `slowest` and `median` look only at
 * `route` when given; `median` falls back to the commonest route. The median is the lower one.
 */
export function pickTrace(traces: readonly Trace[], selector: TraceSelector, dir: string, route?: string): Parsed<Trace> {
  if (traces.length === 0) return { ok: false, error: `${dir} holds no traced requests` };
  if (selector.kind === 'id') {
    const hits = traces.filter((t) => t.traceId.startsWith(selector.id));
    if (hits.length === 1) return { ok: true, value: hits[0] as Trace };
    return hits.length === 0
      ? { ok: false, error: `no request ${selector.id} in ${dir}` }
      : { ok: false, error: `'${selector.id}' matches ${hits.length} requests in ${dir}: give more digits` };
  }
  const r = route ?? (selector.kind === 'median' ? commonestRoute(traces) : undefined);
  const pool = r === undefined ? [...traces] : traces.filter((t) => routeOfTrace(t) === r);
  if (pool.length === 0) return { ok: false, error: `no ${r} request in ${dir}` };
  pool.sort(byDuration);
  const pick = selector.kind === 'slowest' ? pool[pool.length - 1] : pool[Math.ceil(pool.length / 2) - 1];
  return { ok: true, value: pick as Trace };
}

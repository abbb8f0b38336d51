/**
 * Comparisons: two traces span by span, or two captures route by route.
 *
 * Spans are aligned by their path of types: each span's path is its parent's path plus its own
 * type key and its occurrence among siblings of that type, so "DB query 2 (UPDATE)" in one
 * trace meets the same UPDATE in the other even when a query before it was added or removed.
 */
import { durationNs, type Span, type Trace } from '../assembler/span.ts';
import type { Baseline, RouteBaseline } from './build-baseline.ts';
import type { CountDistribution, Quantiles } from './quantiles.ts';
import { localSpanType, routeOfTrace } from './span-type.ts';
import { ms } from './trace-facts.ts';

export interface AlignedRow {
  /** Aligned path, e.g. `request#1/app processing#1/DB query (SELECT) …#2`. */
  readonly path: string;
  readonly depth: number;
  /** The span's name (A's when both sides have it). */
  readonly name: string;
  readonly aMs?: number;
  readonly bMs?: number;
  /** bMs − aMs, a missing side counting as 0. */
  readonly deltaMs: number;
  /** The delta not explained by the row's children, ms. */
  readonly selfDeltaMs: number;
  readonly highlight: boolean;
}

export interface TraceSide {
  readonly traceId: string;
  readonly route: string;
  readonly totalMs: number;
}

/** One of the differences the highlighted rows stand for, largest first. */
export interface Difference {
  /** The span's name, or for several spans of one type present on one side only, the type's label. */
  readonly name: string;
  /** How many spans: more than 1 when the difference is repeated spans (extra queries, say). */
  readonly count: number;
  /** Present on this side only, for a group of one-sided spans. */
  readonly onlyIn?: 'A' | 'B';
  readonly deltaMs: number;
}

export interface TraceComparison {
  readonly a: TraceSide;
  readonly b: TraceSide;
  /** A's spans depth-first, with B-only spans placed after their previous sibling in B. */
  readonly rows: readonly AlignedRow[];
  readonly differences: readonly Difference[];
}

export interface CompareTraceOptions {
  /** Most rows highlighted. */
  readonly maxHighlights?: number;
  /** A row is highlighted only if its own delta is ≥ this, ms … */
  readonly minHighlightMs?: number;
  /** … and ≥ this share of the whole trace's delta. */
  readonly minHighlightShare?: number;
}

interface PathedSpan {
  readonly span: Span;
  readonly path: string;
  readonly parentPath: string | null;
  readonly depth: number;
}

/** Picks the type key a span is aligned by (its own, or the other trace's for the same query). */
type KeyFor = (parentPath: string | null, span: Span, key: string, labelSlot: string) => string;

interface Pathed {
  readonly spans: PathedSpan[];
  /** `parentPath/key` of every span (no occurrence number). */
  readonly bases: ReadonlySet<string>;
  /** `parentPath/label#n` → the key of the n-th span of that label under that parent. */
  readonly keyByLabelSlot: ReadonlyMap<string, string>;
}

function pathed(trace: Trace, keyFor: KeyFor = (_p, _s, key) => key): Pathed {
  const pathOf = new Map<string, string>();
  const depthOf = new Map<string, number>();
  const seen = new Map<string, number>();
  const labelsSeen = new Map<string, number>();
  const spans: PathedSpan[] = [];
  const bases = new Set<string>();
  const keyByLabelSlot = new Map<string, string>();
  for (const s of trace.spans) {
    const parentPath = s.parentId === null ? null : (pathOf.get(s.parentId) ?? null);
    const local = localSpanType(s);
    const labelBase = `${parentPath ?? ''}/${local.label}`;
    const labelSlot = `${labelBase}#${(labelsSeen.get(labelBase) ?? 0) + 1}`;
    labelsSeen.set(labelBase, (labelsSeen.get(labelBase) ?? 0) + 1);
    const key = keyFor(parentPath, s, local.key, labelSlot);
    const base = `${parentPath ?? ''}/${key}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    bases.add(base);
    keyByLabelSlot.set(labelSlot, key);
    const path = `${base}#${n}`;
    const depth = s.parentId === null ? 0 : (depthOf.get(s.parentId) ?? 0) + 1;
    pathOf.set(s.id, path);
    depthOf.set(s.id, depth);
    spans.push({ span: s, path, parentPath, depth });
  }
  return { spans, bases, keyByLabelSlot };
}

/**
 * B's spans aligned to A's: a DB query whose statement A never ran under that parent (the same
 * query with one more condition, say) meets A's query of the same operation and table in the
 * same place among its siblings, unless B also ran A's statement there.
 */
function pathedAgainst(b: Trace, a: Pathed): PathedSpan[] {
  const keysUnder = new Map<string | null, Set<string>>();
  for (const s of b.spans) {
    const set = keysUnder.get(s.parentId) ?? new Set<string>();
    set.add(localSpanType(s).key);
    keysUnder.set(s.parentId, set);
  }
  return pathed(b, (parentPath, span, key, labelSlot) => {
    if (!key.startsWith('DB query') || a.bases.has(`${parentPath ?? ''}/${key}`)) return key;
    const theirs = a.keyByLabelSlot.get(labelSlot);
    if (theirs === undefined || !theirs.startsWith('DB query') || keysUnder.get(span.parentId)?.has(theirs)) return key;
    return theirs;
  }).spans;
}

/** Aligns the spans of `a` and `b` and marks the rows that differ most. Pure. */
export function compareTraces(a: Trace, b: Trace, options: CompareTraceOptions = {}): TraceComparison {
  const maxHighlights = options.maxHighlights ?? 3;
  const minMs = options.minHighlightMs ?? 0.1;
  const minShare = options.minHighlightShare ?? 0.1;
  const aPathed = pathed(a);
  const pa = aPathed.spans;
  const pb = pathedAgainst(b, aPathed);
  const byA = new Map(pa.map((p) => [p.path, p]));
  const byB = new Map(pb.map((p) => [p.path, p]));
  const order = pa.map((p) => p.path);
  let prevB: string | undefined;
  for (const p of pb) {
    if (!byA.has(p.path)) {
      // After the previous B span's row and that row's already placed B-only descendants.
      const at = prevB === undefined ? order.length - 1 : order.lastIndexOf(prevB);
      order.splice(at + 1, 0, p.path);
    }
    prevB = p.path;
  }
  const msOf = (p: PathedSpan | undefined): number | undefined => (p ? ms(durationNs(p.span)) : undefined);
  const delta = new Map<string, number>();
  for (const path of order) delta.set(path, (msOf(byB.get(path)) ?? 0) - (msOf(byA.get(path)) ?? 0));
  const childDelta = new Map<string, number>();
  for (const path of order) {
    const parent = byA.get(path)?.parentPath ?? byB.get(path)?.parentPath ?? null;
    if (parent !== null && !(byA.has(parent) !== byB.has(parent))) childDelta.set(parent, (childDelta.get(parent) ?? 0) + (delta.get(path) as number));
  }
  // A span on one side only counts as one difference, its whole duration, not via its children.
  const parentOf = (path: string): string | null => byA.get(path)?.parentPath ?? byB.get(path)?.parentPath ?? null;
  const oneSided = (path: string | null): boolean => path !== null && byA.has(path) !== byB.has(path);
  const selfDelta = new Map(order.map((path) => [path, oneSided(path) ? (delta.get(path) as number) : (delta.get(path) as number) - (childDelta.get(path) ?? 0)]));
  // Spans of one type under one parent on one side only (an N+1's extra queries) are one
  // difference together; every other row is a difference of its own.
  const groups = new Map<string, { paths: string[]; name: string; onlyIn: 'A' | 'B' }>();
  for (const path of order.filter((p) => !oneSided(parentOf(p)))) {
    const span = (byA.get(path) ?? byB.get(path)) as PathedSpan;
    const onlyIn = oneSided(path) ? (byA.has(path) ? 'A' : 'B') : undefined;
    const key = onlyIn ? `${parentOf(path)}\u0000${onlyIn}\u0000${localSpanType(span.span).label}` : path;
    const g = groups.get(key);
    if (g) g.paths.push(path);
    else groups.set(key, { paths: [path], name: onlyIn ? localSpanType(span.span).label : span.span.name, onlyIn: onlyIn ?? 'A' });
  }
  const candidates = [...groups.values()].map((g) => ({
    ...g,
    deltaMs: g.paths.reduce((sum, p) => sum + (selfDelta.get(p) as number), 0),
    first: order.indexOf(g.paths[0] as string),
  }));
  const totalDelta = Math.abs(delta.get(order[0] ?? '') ?? 0);
  const chosen = candidates
    .filter((c) => Math.abs(c.deltaMs) >= Math.max(minMs, minShare * totalDelta))
    .sort((x, y) => Math.abs(y.deltaMs) - Math.abs(x.deltaMs) || x.first - y.first)
    .slice(0, maxHighlights);
  const highlighted = new Set(chosen.flatMap((c) => c.paths));
  const differences: Difference[] = chosen.map((c) =>
    c.paths.length > 1 ? { name: c.name, count: c.paths.length, onlyIn: c.onlyIn, deltaMs: c.deltaMs } : { name: ((byA.get(c.paths[0] as string) ?? byB.get(c.paths[0] as string)) as PathedSpan).span.name, count: 1, deltaMs: c.deltaMs },
  );
  const rows: AlignedRow[] = order.map((path) => {
    const x = byA.get(path);
    const y = byB.get(path);
    const aMs = msOf(x);
    const bMs = msOf(y);
    return {
      path,
      depth: (x ?? y)?.depth ?? 0,
      name: ((x ?? y) as PathedSpan).span.name,
      ...(aMs !== undefined ? { aMs } : {}),
      ...(bMs !== undefined ? { bMs } : {}),
      deltaMs: delta.get(path) as number,
      selfDeltaMs: selfDelta.get(path) as number,
      highlight: highlighted.has(path),
    };
  });
  const side = (t: Trace): TraceSide => ({ traceId: t.traceId, route: routeOfTrace(t), totalMs: ms(durationNs(t.spans[0] as Span)) });
  return { a: side(a), b: side(b), rows, differences };
}

export interface TypeDelta {
  readonly typeKey: string;
  readonly label: string;
  /** Per-request time in this span type, ms (absent when the side never had it). */
  readonly a?: Quantiles;
  readonly b?: Quantiles;
  readonly p50DeltaMs: number;
  readonly p99DeltaMs: number;
}

export interface RouteComparison {
  readonly route: string;
  readonly aRequests: number;
  readonly bRequests: number;
  readonly a: Quantiles;
  readonly b: Quantiles;
  readonly p99DeltaMs: number;
  /** Relative change of p99, percent (Infinity when A's p99 is 0). */
  readonly p99ChangePct: number;
  readonly verdict: 'rose' | 'fell' | 'steady';
  /** The component types whose p99 moved the same way most (at most 2). */
  readonly drivers: readonly TypeDelta[];
  /** Every component type, largest |p99 delta| first. */
  readonly types: readonly TypeDelta[];
  readonly aDbQueries: CountDistribution;
  readonly bDbQueries: CountDistribution;
}

export interface CaptureComparison {
  readonly aSource: string;
  readonly bSource: string;
  readonly routes: readonly RouteComparison[];
  readonly onlyInA: readonly string[];
  readonly onlyInB: readonly string[];
}

export interface CompareBaselineOptions {
  /** A p99 change smaller than this share of A's p99 … */
  readonly steadyShare?: number;
  /** … or than this many ms is "steady". */
  readonly steadyMs?: number;
}

function compareRoute(route: string, a: RouteBaseline, b: RouteBaseline, steadyShare: number, steadyMs: number): RouteComparison {
  const keys = [...new Set([...a.components, ...b.components])];
  const types: TypeDelta[] = keys.map((k) => {
    const x = a.spanTypes[k];
    const y = b.spanTypes[k];
    const xa = x?.perRequestMs;
    const yb = y?.perRequestMs;
    return {
      typeKey: k,
      label: x?.label ?? y?.label ?? k,
      ...(xa ? { a: xa } : {}),
      ...(yb ? { b: yb } : {}),
      p50DeltaMs: (yb?.p50 ?? 0) - (xa?.p50 ?? 0),
      p99DeltaMs: (yb?.p99 ?? 0) - (xa?.p99 ?? 0),
    };
  });
  types.sort((x, y) => Math.abs(y.p99DeltaMs) - Math.abs(x.p99DeltaMs) || (x.typeKey < y.typeKey ? -1 : 1));
  const d = b.latencyMs.p99 - a.latencyMs.p99;
  const steady = Math.abs(d) < steadyMs || Math.abs(d) < steadyShare * a.latencyMs.p99;
  const verdict = steady ? 'steady' : d > 0 ? 'rose' : 'fell';
  const drivers = verdict === 'steady' ? [] : types.filter((t) => (verdict === 'rose' ? t.p99DeltaMs > 0 : t.p99DeltaMs < 0)).slice(0, 2);
  return {
    route,
    aRequests: a.requests,
    bRequests: b.requests,
    a: a.latencyMs,
    b: b.latencyMs,
    p99DeltaMs: d,
    p99ChangePct: a.latencyMs.p99 > 0 ? (d / a.latencyMs.p99) * 100 : d === 0 ? 0 : Infinity,
    verdict,
    drivers,
    types,
    aDbQueries: a.dbQueries,
    bDbQueries: b.dbQueries,
  };
}

/** Route by route: latency quantiles and per-span-type p50/p99 of two baselines. Pure. */
export function compareBaselines(a: Baseline, b: Baseline, options: CompareBaselineOptions = {}): CaptureComparison {
  const steadyShare = options.steadyShare ?? 0.05;
  const steadyMs = options.steadyMs ?? 0.5;
  const routes: RouteComparison[] = [];
  for (const route of Object.keys(a.routes).sort()) {
    const rb = b.routes[route];
    if (rb) routes.push(compareRoute(route, a.routes[route] as RouteBaseline, rb, steadyShare, steadyMs));
  }
  return {
    aSource: a.source,
    bSource: b.source,
    routes,
    onlyInA: Object.keys(a.routes).filter((r) => !b.routes[r]).sort(),
    onlyInB: Object.keys(b.routes).filter((r) => !a.routes[r]).sort(),
  };
}

/**
 * Run against run: did B get slower than A, and where? Per route, the requests' latencies are
 * compared with Mann-Whitney U and Kolmogorov-Smirnov, and so is the per-request time in each
 * span type of the route. Every p-value of every comparison is one family for the
 * Benjamini-Hochberg correction. Effect sizes: Cliff's delta, and the shift of p50 and p99 with
 * bootstrap confidence intervals. A route's shift is split among its span types by their shift
 * in mean per-request time: components do not overlap, so those shifts add up to the route's.
 *
 * Span types are compared by label path ("app processing › DB query (SELECT … users)"), not by
 * statement text: a knob or a code change that adds a condition to a statement keeps its type.
 */
import type { Trace } from '../assembler/span.ts';
import { benjaminiHochberg } from './stats/benjamini-hochberg.ts';
import { bootstrapQuantileShift, type ShiftInterval } from './stats/bootstrap-quantile-shift.ts';
import { cliffsDelta } from './stats/cliffs-delta.ts';
import { kolmogorovSmirnov } from './stats/kolmogorov-smirnov.ts';
import { mannWhitneyU } from './stats/mann-whitney-u.ts';
import { TYPE_PATH_SEPARATOR } from './span-type.ts';
import { traceFacts } from './trace-facts.ts';

export interface CompareRunsOptions {
  /** False discovery rate the q-values are held to. */
  readonly alpha?: number;
  /** Below this many requests on either side a comparison is not tested. */
  readonly minSamples?: number;
  /**
   * A significant result must also move Cliff's delta at least this far from 0 (Romano's
   * "negligible" band ends at 0.147): with thousands of requests, a 1% shift is "significant".
   */
  readonly minAbsDelta?: number;
  readonly bootstrapReplicates?: number;
  readonly seed?: number;
}

export interface SampleComparison {
  readonly nA: number;
  readonly nB: number;
  readonly meanA: number;
  readonly meanB: number;
  readonly mannWhitneyP: number;
  readonly mannWhitneyMethod: 'exact' | 'normal';
  readonly ksD: number;
  readonly ksP: number;
  /** Benjamini-Hochberg q-values of the two tests. */
  readonly mannWhitneyQ: number;
  readonly ksQ: number;
  /** P(B > A) − P(B < A): positive when B is slower. */
  readonly cliffsDelta: number;
  /** ms, B − A, with 95% bootstrap intervals. */
  readonly p50Shift: ShiftInterval;
  readonly p99Shift: ShiftInterval;
  /** A test's q ≤ alpha and |δ| ≥ minAbsDelta. */
  readonly significant: boolean;
  readonly direction: 'slower' | 'faster' | 'unchanged';
}

export interface SpanTypeShift extends SampleComparison {
  /** Label path of the component type. */
  readonly type: string;
  /** Mean per-request shift of this type over the route's mean latency shift (may be negative or > 1). */
  readonly shareOfShift: number;
  readonly meanShiftMs: number;
}

export interface RouteRunComparison {
  readonly route: string;
  readonly latency: SampleComparison;
  readonly meanShiftMs: number;
  /** Every compared span type, largest |mean shift| first. */
  readonly types: readonly SpanTypeShift[];
  /** Significant types that moved the way the route did, most of the shift first (at most 3). */
  readonly contributors: readonly SpanTypeShift[];
  /** Types with too few requests on a side to be tested. */
  readonly untested: readonly string[];
}

export interface RunComparison {
  readonly aSource: string;
  readonly bSource: string;
  readonly alpha: number;
  readonly minAbsDelta: number;
  /** p-values in the Benjamini-Hochberg family (two per comparison). */
  readonly tests: number;
  readonly routes: readonly RouteRunComparison[];
  readonly significantRoutes: readonly string[];
  /** Routes with fewer than minSamples requests on a side. */
  readonly untestedRoutes: readonly string[];
  readonly onlyInA: readonly string[];
  readonly onlyInB: readonly string[];
}

interface RequestSample {
  readonly latencyMs: number;
  /** Per component label path, ms. */
  readonly types: ReadonlyMap<string, number>;
}

/** A component's label path: its parent's label (below the root) and its own. */
function labelPath(typeKey: string, labels: ReadonlyMap<string, string>): string {
  const parts = typeKey.split(TYPE_PATH_SEPARATOR);
  if (parts.length === 1) return labels.get(typeKey) ?? typeKey;
  return [...parts.slice(0, -1), labels.get(typeKey) ?? (parts.at(-1) as string)].join(TYPE_PATH_SEPARATOR);
}

function samplesByRoute(traces: readonly Trace[]): Map<string, RequestSample[]> {
  const out = new Map<string, RequestSample[]>();
  for (const t of traces) {
    const f = traceFacts(t);
    const types = new Map<string, number>();
    for (const [key, v] of f.componentMs) {
      const label = labelPath(key, f.labels);
      types.set(label, (types.get(label) ?? 0) + v);
    }
    const list = out.get(f.route);
    const s = { latencyMs: f.rootMs, types };
    if (list) list.push(s);
    else out.set(f.route, [s]);
  }
  return out;
}

const mean = (v: readonly number[]): number => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : 0);

interface Raw {
  readonly a: readonly number[];
  readonly b: readonly number[];
  readonly mwP: number;
  readonly mwMethod: 'exact' | 'normal';
  readonly ksD: number;
  readonly ksP: number;
  readonly delta: number;
}

function test(a: readonly number[], b: readonly number[]): Raw {
  const mw = mannWhitneyU(a, b);
  const ks = kolmogorovSmirnov(a, b);
  return { a, b, mwP: mw.p, mwMethod: mw.method, ksD: ks.d, ksP: ks.p, delta: cliffsDelta(mw) };
}

/** Compares two runs' traces route by route and span type by span type. Pure; seeded. */
export function compareRuns(a: readonly Trace[], b: readonly Trace[], aSource: string, bSource: string, options: CompareRunsOptions = {}): RunComparison {
  const alpha = options.alpha ?? 0.05;
  const minSamples = options.minSamples ?? 10;
  const minAbsDelta = options.minAbsDelta ?? 0.147;
  const replicates = options.bootstrapReplicates ?? 1000;
  const seed = options.seed ?? 1;
  const sa = samplesByRoute(a);
  const sb = samplesByRoute(b);
  const shared = [...sa.keys()].filter((r) => sb.has(r)).sort();
  const untestedRoutes = shared.filter((r) => (sa.get(r) as RequestSample[]).length < minSamples || (sb.get(r) as RequestSample[]).length < minSamples);
  const tested = shared.filter((r) => !untestedRoutes.includes(r));

  interface Pending {
    readonly route: string;
    readonly latency: Raw;
    readonly types: ReadonlyArray<{ readonly type: string; readonly raw: Raw }>;
    readonly untested: readonly string[];
  }
  const pending: Pending[] = tested.map((route) => {
    const ra = sa.get(route) as RequestSample[];
    const rb = sb.get(route) as RequestSample[];
    const typeNames = [...new Set([...ra.flatMap((s) => [...s.types.keys()]), ...rb.flatMap((s) => [...s.types.keys()])])].sort();
    const types: { type: string; raw: Raw }[] = [];
    const untested: string[] = [];
    for (const type of typeNames) {
      // A request without the type spent 0 ms in it, but a type almost no request has is noise.
      const has = (list: readonly RequestSample[]): number => list.filter((s) => s.types.has(type)).length;
      if (has(ra) < minSamples && has(rb) < minSamples) {
        untested.push(type);
        continue;
      }
      types.push({ type, raw: test(ra.map((s) => s.types.get(type) ?? 0), rb.map((s) => s.types.get(type) ?? 0)) });
    }
    return { route, latency: test(ra.map((s) => s.latencyMs), rb.map((s) => s.latencyMs)), types, untested };
  });

  const family = pending.flatMap((p) => [p.latency, ...p.types.map((t) => t.raw)]).flatMap((r) => [r.mwP, r.ksP]);
  const q = benjaminiHochberg(family);
  let next = 0;
  let bootSeed = seed;
  const finish = (r: Raw): SampleComparison => {
    const mwQ = q[next++] as number;
    const ksQ = q[next++] as number;
    const significant = Math.min(mwQ, ksQ) <= alpha && Math.abs(r.delta) >= minAbsDelta;
    return {
      nA: r.a.length,
      nB: r.b.length,
      meanA: mean(r.a),
      meanB: mean(r.b),
      mannWhitneyP: r.mwP,
      mannWhitneyMethod: r.mwMethod,
      ksD: r.ksD,
      ksP: r.ksP,
      mannWhitneyQ: mwQ,
      ksQ,
      cliffsDelta: r.delta,
      p50Shift: bootstrapQuantileShift(r.a, r.b, 0.5, { replicates, seed: bootSeed++ }),
      p99Shift: bootstrapQuantileShift(r.a, r.b, 0.99, { replicates, seed: bootSeed++ }),
      significant,
      direction: !significant ? 'unchanged' : r.delta > 0 ? 'slower' : 'faster',
    };
  };
  const routes: RouteRunComparison[] = pending.map((p) => {
    const latency = finish(p.latency);
    const meanShiftMs = latency.meanB - latency.meanA;
    const types: SpanTypeShift[] = p.types.map(({ type, raw }) => {
      const c = finish(raw);
      const shift = c.meanB - c.meanA;
      return { ...c, type, meanShiftMs: shift, shareOfShift: meanShiftMs !== 0 ? shift / meanShiftMs : 0 };
    });
    types.sort((x, y) => Math.abs(y.meanShiftMs) - Math.abs(x.meanShiftMs) || (x.type < y.type ? -1 : 1));
    const contributors = latency.significant ? types.filter((t) => t.significant && t.direction === latency.direction).slice(0, 3) : [];
    return { route: p.route, latency, meanShiftMs, types, contributors, untested: p.untested };
  });
  return {
    aSource,
    bSource,
    alpha,
    minAbsDelta,
    tests: family.length,
    routes,
    significantRoutes: routes.filter((r) => r.latency.significant).map((r) => r.route),
    untestedRoutes,
    onlyInA: [...sa.keys()].filter((r) => !sb.has(r)).sort(),
    onlyInB: [...sb.keys()].filter((r) => !sa.has(r)).sort(),
  };
}

/**
 * Run against run: did B get slower than A, and where? Per route, the requests' latencies are
 * compared with Mann-Whitney U and Kolmogorov-Smirnov, and so is the per-request time in each
 * span type of the route. Every p-value of every comparison is one family for the
 * Benjamini-Hochberg correction. Effect sizes: Cliff's delta, and the shift of p50 and p99 with
 * bootstrap confidence intervals. A route's shift is split among its span types by their shift
 * in mean per-request time: components do not overlap, so those shifts add up to the route's.
 *
 * Two runs on a shared machine differ as a whole: when the machine is busier during B, every
 * route is slower by about the same factor, and thousands of requests make that "significant"
 * everywhere. So by default B's times are first divided by the run-wide factor, the median over
 * routes of their p50 ratio B/A, and each route is tested against the others: a change of one
 * route (or a few) stands out, a change of the whole run is reported as the factor itself,
 * which two runs alone cannot tell from a busier machine. `adjustRunWide: false` tests the
 * times as measured.
 *
 * Requests close in time share the machine's moment, so each side's values (in start order)
 * are serially correlated: both tests count n / (1 + ρ)/(1 − ρ) requests per side, ρ the lag-1
 * autocorrelation of its ranks (stats/serial-correlation.ts).
 *
 * Span types are compared by label path ("app processing › DB query (SELECT … users)"), not by
 * statement text: a knob or a code change that adds a condition to a statement keeps its type.
 */
import type { Trace } from '../assembler/span.ts';
import { quantilesOf } from './quantiles.ts';
import { benjaminiHochberg } from './stats/benjamini-hochberg.ts';
import { bootstrapQuantileShift, type ShiftInterval } from './stats/bootstrap-quantile-shift.ts';
import { cliffsDelta } from './stats/cliffs-delta.ts';
import { kolmogorovSmirnov } from './stats/kolmogorov-smirnov.ts';
import { mannWhitneyU } from './stats/mann-whitney-u.ts';
import { varianceInflation } from './stats/serial-correlation.ts';
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
  /**
   * … and move the median or the mean by at least this many ms: a 1 ms route that got 0.4 ms
   * slower between two runs on a busy machine is noise, as the detectors' absolute minimums say.
   */
  readonly minShiftMs?: number;
  readonly bootstrapReplicates?: number;
  readonly seed?: number;
  /** Divide B's times by the run-wide factor before testing (default true; needs 3 routes). */
  readonly adjustRunWide?: boolean;
}

export interface SampleComparison {
  readonly nA: number;
  readonly nB: number;
  readonly meanA: number;
  readonly meanB: number;
  /** Nearest-rank quantiles of each side, ms. */
  readonly p50A: number;
  readonly p50B: number;
  readonly p99A: number;
  readonly p99B: number;
  readonly mannWhitneyP: number;
  readonly mannWhitneyMethod: 'exact' | 'normal';
  /** Variance inflation from each side's serial correlation (1: independent). */
  readonly inflationA: number;
  readonly inflationB: number;
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
  /** A test's q ≤ alpha, |δ| ≥ minAbsDelta, and |Δp50| or |Δmean| ≥ minShiftMs. */
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
  readonly minShiftMs: number;
  /**
   * Median over tested routes of p50(B)/p50(A): how much slower (> 1) or faster B ran as a whole.
   * null with fewer than 3 routes to take it from.
   */
  readonly runFactor: number | null;
  /** Whether B's times were divided by runFactor before the tests (all B figures are then adjusted). */
  readonly runAdjusted: boolean;
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
  readonly startNs: bigint;
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

/** Every time of `samples` divided by `factor`. */
function scaled(samples: readonly RequestSample[], factor: number): RequestSample[] {
  return samples.map((s) => ({ startNs: s.startNs, latencyMs: s.latencyMs / factor, types: new Map([...s.types].map(([k, v]) => [k, v / factor])) }));
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
    const s = { startNs: f.root.startNs, latencyMs: f.rootMs, types };
    if (list) list.push(s);
    else out.set(f.route, [s]);
  }
  for (const list of out.values()) list.sort((x, y) => (x.startNs < y.startNs ? -1 : x.startNs > y.startNs ? 1 : 0));
  return out;
}

/** The median, the mean of the two middle values for an even count. */
function medianOf(v: readonly number[]): number {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
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
  readonly inflationA: number;
  readonly inflationB: number;
}

/** Both tests of `a` against `b`, each in time order. */
function test(a: readonly number[], b: readonly number[]): Raw {
  const inflation = { inflationA: varianceInflation(a), inflationB: varianceInflation(b) };
  const mw = mannWhitneyU(a, b, inflation);
  const ks = kolmogorovSmirnov(a, b, inflation);
  return { a, b, mwP: mw.p, mwMethod: mw.method, ksD: ks.d, ksP: ks.p, delta: cliffsDelta(mw), ...inflation };
}

/** Compares two runs' traces route by route and span type by span type. Pure; seeded. */
export function compareRuns(a: readonly Trace[], b: readonly Trace[], aSource: string, bSource: string, options: CompareRunsOptions = {}): RunComparison {
  const alpha = options.alpha ?? 0.05;
  const minSamples = options.minSamples ?? 10;
  const minAbsDelta = options.minAbsDelta ?? 0.147;
  const minShiftMs = options.minShiftMs ?? 1;
  const replicates = options.bootstrapReplicates ?? 1000;
  const seed = options.seed ?? 1;
  const sa = samplesByRoute(a);
  const measured = samplesByRoute(b);
  const shared = [...sa.keys()].filter((r) => measured.has(r)).sort();
  const untestedRoutes = shared.filter((r) => (sa.get(r) as RequestSample[]).length < minSamples || (measured.get(r) as RequestSample[]).length < minSamples);
  const tested = shared.filter((r) => !untestedRoutes.includes(r));
  const p50 = (list: readonly RequestSample[]): number => quantilesOf(list.map((s) => s.latencyMs)).p50;
  const ratios = tested.map((r) => p50(measured.get(r) as RequestSample[]) / p50(sa.get(r) as RequestSample[])).filter((x) => Number.isFinite(x) && x > 0);
  const runFactor = ratios.length >= 3 ? Math.exp(medianOf(ratios.map(Math.log))) : null;
  const runAdjusted = (options.adjustRunWide ?? true) && runFactor !== null;
  const sb = runAdjusted ? new Map([...measured].map(([route, list]) => [route, scaled(list, runFactor as number)])) : measured;

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
    const qa = quantilesOf(r.a);
    const qb = quantilesOf(r.b);
    const moved = Math.max(Math.abs(qb.p50 - qa.p50), Math.abs(mean(r.b) - mean(r.a))) >= minShiftMs;
    const significant = Math.min(mwQ, ksQ) <= alpha && Math.abs(r.delta) >= minAbsDelta && moved;
    return {
      nA: r.a.length,
      nB: r.b.length,
      meanA: mean(r.a),
      meanB: mean(r.b),
      p50A: qa.p50,
      p50B: qb.p50,
      p99A: qa.p99,
      p99B: qb.p99,
      mannWhitneyP: r.mwP,
      mannWhitneyMethod: r.mwMethod,
      inflationA: r.inflationA,
      inflationB: r.inflationB,
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
    minShiftMs,
    runFactor,
    runAdjusted,
    tests: family.length,
    routes,
    significantRoutes: routes.filter((r) => r.latency.significant).map((r) => r.route),
    untestedRoutes,
    onlyInA: [...sa.keys()].filter((r) => !sb.has(r)).sort(),
    onlyInB: [...sb.keys()].filter((r) => !sa.has(r)).sort(),
  };
}

/**
 * Changes within one long capture: per route, where its latency, or one layer's share of it,
 * moved to a new level and stayed there. Requests are ordered by start time; Pettitt's test
 * finds the most likely change, and binary segmentation looks again on each side of every
 * change it accepts. A change must be significant and large enough to matter: a capture of
 * 100,000 requests makes a 0.1 ms drift "significant".
 */
import type { Trace } from '../assembler/span.ts';
import { rootOf } from '../assembler/span.ts';
import { layerTimes, LAYERS, type Layer } from './layer-times.ts';
import { quantileOfSorted } from './quantiles.ts';
import { routeOfTrace } from './span-type.ts';
import { pettittChangepoint } from './stats/pettitt-changepoint.ts';

export type ChangeSeries = 'latency' | `share:${Layer}`;

export interface Changepoint {
  readonly route: string;
  readonly series: ChangeSeries;
  /** Requests of the route before the change, in start order. */
  readonly index: number;
  readonly requests: number;
  /** Start of the first request after the change, CLOCK_MONOTONIC ns (decimal string). */
  readonly atNs: string;
  /** The same, seconds after the capture's first request. */
  readonly atOffsetS: number;
  /** Wall time of the change, when the capture's clock mapping was given. */
  readonly atIso?: string;
  /** Medians of the segment before and after: ms for latency, a share 0…1 for a layer. */
  readonly before: number;
  readonly after: number;
  readonly shift: number;
  /** Pettitt's p-value within the segment searched. */
  readonly p: number;
}

export interface ChangepointOptions {
  /** Fewest requests on either side of a change. */
  readonly minSegment?: number;
  readonly alpha?: number;
  /** Smallest latency change of the medians, ms … */
  readonly minShiftMs?: number;
  /** … and as a share of the earlier median. */
  readonly minShiftRatio?: number;
  /** Smallest change of a layer's share (0.05 = 5 points). */
  readonly minShareShift?: number;
  /** Most changes per series. */
  readonly maxPerSeries?: number;
  /** Add to CLOCK_MONOTONIC ns for wall time (AssembledCapture.wallOffsetNs). */
  readonly wallOffsetNs?: bigint;
}

const median = (v: readonly number[]): number => quantileOfSorted([...v].sort((a, b) => a - b), 0.5);

interface Point {
  readonly startNs: bigint;
  readonly latencyMs: number;
  readonly shares: Readonly<Record<Layer, number>>;
}

/** Change points per route and series, by route, then series, then time. Pure. */
export function detectChangepoints(traces: Iterable<Trace>, options: ChangepointOptions = {}): Changepoint[] {
  const minSegment = options.minSegment ?? 30;
  const alpha = options.alpha ?? 0.001;
  const minShiftMs = options.minShiftMs ?? 1;
  const minShiftRatio = options.minShiftRatio ?? 0.1;
  const minShareShift = options.minShareShift ?? 0.05;
  const maxPerSeries = options.maxPerSeries ?? 3;
  const byRoute = new Map<string, Point[]>();
  let firstNs: bigint | null = null;
  for (const t of traces) {
    const root = rootOf(t);
    if (firstNs === null || root.startNs < firstNs) firstNs = root.startNs;
    const lt = layerTimes(t);
    const total = lt.totalMs > 0 ? lt.totalMs : 1;
    const shares = Object.fromEntries(LAYERS.map((l) => [l, lt.ms[l] / total])) as Record<Layer, number>;
    const route = routeOfTrace(t);
    const list = byRoute.get(route) ?? [];
    list.push({ startNs: root.startNs, latencyMs: lt.totalMs, shares });
    byRoute.set(route, list);
  }
  if (firstNs === null) return [];
  const origin = firstNs;
  const out: Changepoint[] = [];
  for (const route of [...byRoute.keys()].sort()) {
    const points = [...(byRoute.get(route) as Point[])].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    const series: Array<[ChangeSeries, number[]]> = [['latency', points.map((p) => p.latencyMs)], ...LAYERS.map((l): [ChangeSeries, number[]] => [`share:${l}`, points.map((p) => p.shares[l])])];
    for (const [name, values] of series) {
      const big = (before: number, after: number): boolean =>
        name === 'latency' ? Math.abs(after - before) >= Math.max(minShiftMs, minShiftRatio * before) : Math.abs(after - before) >= minShareShift;
      const found: Array<{ index: number; p: number }> = [];
      const search = (lo: number, hi: number): void => {
        if (found.length >= maxPerSeries) return;
        const r = pettittChangepoint(values.slice(lo, hi), minSegment);
        if (!r || r.p >= alpha) return;
        const k = lo + r.k;
        if (!big(median(values.slice(lo, k)), median(values.slice(k, hi)))) return;
        found.push({ index: k, p: r.p });
        search(lo, k);
        search(k, hi);
      };
      search(0, values.length);
      const cuts = [0, ...found.map((f) => f.index).sort((a, b) => a - b), values.length];
      for (const f of [...found].sort((a, b) => a.index - b.index)) {
        const at = cuts.indexOf(f.index);
        const before = median(values.slice(cuts[at - 1] as number, f.index));
        const after = median(values.slice(f.index, cuts[at + 1] as number));
        const atNs = (points[f.index] as Point).startNs;
        out.push({
          route,
          series: name,
          index: f.index,
          requests: values.length,
          atNs: atNs.toString(),
          atOffsetS: Number(atNs - origin) / 1e9,
          ...(options.wallOffsetNs !== undefined ? { atIso: new Date(Number((atNs + options.wallOffsetNs) / 1_000_000n)).toISOString() } : {}),
          before,
          after,
          shift: after - before,
          p: f.p,
        });
      }
    }
  }
  return out;
}

/** One line per change, e.g. `GET /api/users latency 12.0ms → 25.1ms (+13.1ms) at +30.2 s (request 400 of 800), p 1e-40`. Pure. */
export function renderChangepoints(changes: readonly Changepoint[]): string {
  if (changes.length === 0) return 'No route changed level during the capture.\n';
  const lines = changes.map((c) => {
    const v = (x: number): string => (c.series === 'latency' ? `${x.toFixed(1)}ms` : `${(x * 100).toFixed(0)}%`);
    const d = c.series === 'latency' ? `${c.shift >= 0 ? '+' : '-'}${Math.abs(c.shift).toFixed(1)}ms` : `${c.shift >= 0 ? '+' : '-'}${Math.abs(c.shift * 100).toFixed(0)} points`;
    const what = c.series === 'latency' ? 'latency' : `${c.series.slice(6)} share`;
    return `${c.route} ${what} ${v(c.before)} → ${v(c.after)} (${d}) at +${c.atOffsetS.toFixed(1)} s${c.atIso ? ` (${c.atIso})` : ''}, request ${c.index + 1} of ${c.requests}, p ${c.p < 0.001 ? c.p.toExponential(0) : c.p.toFixed(3)}`;
  });
  return lines.join('\n') + '\n';
}

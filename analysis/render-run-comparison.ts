/** The text form of a run comparison (`lab compare A B` on two captures). Pure. */
import type { RouteRunComparison, RunComparison, SampleComparison, SpanTypeShift } from './compare-runs.ts';
import { fmtMs } from './finding.ts';
import type { ShiftInterval } from './stats/bootstrap-quantile-shift.ts';

const MAX_TYPE = 46;
const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const signed = (v: number): string => `${v >= 0 ? '+' : '-'}${fmtMs(Math.abs(v))}`;
const num = (v: number): string => (Math.abs(v) >= 0.1 || v === 0 ? v.toFixed(1) : v.toFixed(2));
/** A shift with its interval: `+10.2ms [8.1, 12.0]`. */
export const fmtShift = (s: ShiftInterval): string => `${signed(s.shift)} [${num(s.low)}, ${num(s.high)}]`;
/** A q- or p-value in a few characters. */
export const fmtP = (p: number): string => (p >= 0.001 ? p.toFixed(3) : p === 0 ? '<1e-300' : p.toExponential(0));
const fmtDelta = (d: number): string => `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;

function verdict(c: SampleComparison): string {
  return c.direction === 'unchanged' ? 'unchanged' : c.direction === 'slower' ? 'SLOWER' : 'FASTER';
}

function routeBlock(r: RouteRunComparison, maxTypes: number): string[] {
  const l = r.latency;
  const lines = [
    `${r.route}: ${verdict(l)} (${l.nA} → ${l.nB} requests)  p50 ${fmtShift(l.p50Shift)}  p99 ${fmtShift(l.p99Shift)}  δ ${fmtDelta(l.cliffsDelta)}  q ${fmtP(l.mannWhitneyQ)} (MW) ${fmtP(l.ksQ)} (KS)`,
  ];
  if (r.contributors.length > 0) {
    const parts = r.contributors.map((t: SpanTypeShift) => `${t.type} ${signed(t.meanShiftMs)} mean (${Math.round(t.shareOfShift * 100)}% of ${signed(r.meanShiftMs)}), p50 ${fmtShift(t.p50Shift)}`);
    lines.push(`  shift comes from: ${parts.join('; ')}`);
  }
  const rows = r.types.slice(0, maxTypes);
  if (rows.length > 0) {
    const w = Math.max(9, ...rows.map((t) => cut(t.type, MAX_TYPE).length));
    lines.push(`  ${'span type'.padEnd(w)}  ${'mean A'.padStart(8)}  ${'mean B'.padStart(8)}  ${'Δmean'.padStart(8)}  ${'Δp50 [95% CI]'.padEnd(24)}  ${'δ'.padStart(5)}  ${'q'.padStart(7)}`);
    for (const t of rows) {
      const mark = t.significant ? '*' : ' ';
      lines.push(
        `${mark} ${cut(t.type, MAX_TYPE).padEnd(w)}  ${fmtMs(t.meanA).padStart(8)}  ${fmtMs(t.meanB).padStart(8)}  ${signed(t.meanShiftMs).padStart(8)}  ${fmtShift(t.p50Shift).padEnd(24)}  ${fmtDelta(t.cliffsDelta).padStart(5)}  ${fmtP(Math.min(t.mannWhitneyQ, t.ksQ)).padStart(7)}`,
      );
    }
    if (r.types.length > maxTypes) lines.push(`  … ${r.types.length - maxTypes} more span type(s) (--json lists all)`);
  }
  return lines;
}

/** What the run-wide factor was and whether B's times were divided by it. */
export function runWideLine(c: RunComparison): string {
  if (c.runFactor === null) return 'Run-wide factor: fewer than 3 routes to take it from; times compared as measured.';
  const f = `×${c.runFactor.toFixed(2)}`;
  return c.runAdjusted
    ? `Run-wide factor ${f} (median over routes of p50 B/A): B's times are divided by it, so each route is judged against the run as a whole (--raw: as measured).`
    : `Run-wide factor ${f} (median over routes of p50 B/A); times compared as measured.`;
}

/** Per route: verdict, shifts with intervals, effect size and q-values, then its span types. */
export function renderRunComparison(c: RunComparison, options: { readonly maxTypes?: number } = {}): string {
  const maxTypes = options.maxTypes ?? 6;
  const lines = [
    `A: ${c.aSource}`,
    `B: ${c.bSource}`,
    `${c.tests} p-values (Mann-Whitney U and Kolmogorov-Smirnov per route and per span type), Benjamini-Hochberg at FDR ${Math.round(c.alpha * 100)}%;`,
    `a change is significant at q ≤ ${c.alpha} with |Cliff's δ| ≥ ${c.minAbsDelta} and a median or mean shift ≥ ${c.minShiftMs}ms.`,
    'Shifts are B − A with 95% bootstrap intervals; * marks significant span types.',
    runWideLine(c),
    '',
  ];
  for (const r of c.routes) lines.push(...routeBlock(r, maxTypes), '');
  if (c.untestedRoutes.length) lines.push(`Too few requests to test: ${c.untestedRoutes.join(', ')}`);
  if (c.onlyInA.length) lines.push(`Routes only in A: ${c.onlyInA.join(', ')}`);
  if (c.onlyInB.length) lines.push(`Routes only in B: ${c.onlyInB.join(', ')}`);
  const sig = c.routes.filter((r) => r.latency.significant);
  lines.push(
    sig.length === 0
      ? `No route changed significantly (FDR ${Math.round(c.alpha * 100)}%).`
      : `Changed: ${sig.map((r) => `${r.route} ${r.latency.direction} (p50 ${signed(r.latency.p50Shift.shift)})`).join(', ')}`,
  );
  return lines.join('\n') + '\n';
}

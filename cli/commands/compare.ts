/**
 * `lab compare A B [--json] [--alpha Q]`: two traces (`DIR@ID`, `DIR@slowest`, `DIR@median`)
 * side by side, or two capture directories (runs): significance tests per route and span type,
 * then the per-route quantile report.
 */
import { loadTraces, stderrLine } from '../../assembler/load-traces.ts';
import type { Trace } from '../../assembler/span.ts';
import { buildBaseline } from '../../analysis/build-baseline.ts';
import { compareBaselines, compareTraces } from '../../analysis/compare-traces.ts';
import { compareRuns } from '../../analysis/compare-runs.ts';
import { parseCompareTargets, pickTrace, type CompareTarget } from '../../analysis/pick-trace.ts';
import { renderCaptureComparison, renderTraceComparison } from '../../analysis/render-comparison.ts';
import { renderRunComparison } from '../../analysis/render-run-comparison.ts';
import { routeOfTrace } from '../../analysis/span-type.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const parsed = parseCompareTargets(inv.positionals.a as string, inv.positionals.b as string);
  if (!parsed.ok) {
    stderrLine(`lab compare: ${parsed.error}`);
    return 2;
  }
  const [ta, tb] = parsed.value;
  const json = inv.options.json === true;
  const loaded = new Map<string, readonly Trace[]>();
  for (const dir of new Set([ta.dir, tb.dir])) loaded.set(dir, (await loadTraces(dir, stderrLine)).assembled.traces);
  const tracesOf = (t: CompareTarget): readonly Trace[] => loaded.get(t.dir) as readonly Trace[];

  if (ta.selector === undefined || tb.selector === undefined) {
    for (const t of [ta, tb]) {
      if (tracesOf(t).length === 0) {
        stderrLine(`lab compare: ${t.dir} holds no traced requests`);
        return 1;
      }
    }
    const alpha = typeof inv.options.alpha === 'number' ? inv.options.alpha : 0.05;
    const runs = compareRuns(tracesOf(ta), tracesOf(tb), ta.dir, tb.dir, { alpha, adjustRunWide: inv.options.raw !== true });
    const c = compareBaselines(buildBaseline(tracesOf(ta), ta.dir), buildBaseline(tracesOf(tb), tb.dir));
    process.stdout.write(json ? JSON.stringify({ runs, quantiles: c }, null, 2) + '\n' : `${renderRunComparison(runs)}\nQuantiles by span type:\n\n${renderCaptureComparison(c)}`);
    return 0;
  }
  // A median pick is typical of the other side's route, so that side is picked first.
  const medianA = ta.selector.kind === 'median' && tb.selector.kind !== 'median';
  const first = medianA ? tb : ta;
  const second = medianA ? ta : tb;
  const p1 = pickTrace(tracesOf(first), first.selector as NonNullable<CompareTarget['selector']>, first.dir);
  if (!p1.ok) {
    stderrLine(`lab compare: ${p1.error}`);
    return 1;
  }
  const p2 = pickTrace(tracesOf(second), second.selector as NonNullable<CompareTarget['selector']>, second.dir, routeOfTrace(p1.value));
  if (!p2.ok) {
    stderrLine(`lab compare: ${p2.error}`);
    return 1;
  }
  const [a, b] = medianA ? [p2.value, p1.value] : [p1.value, p2.value];
  const comparison = compareTraces(a, b);
  process.stdout.write(json ? JSON.stringify(comparison, null, 2) + '\n' : renderTraceComparison(comparison));
  return 0;
}

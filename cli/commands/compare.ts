/**
 * `lab compare A B`: two traces (`DIR@ID`, `DIR@slowest`, `DIR@median`) side by side, or two
 * capture directories as a per-route regression report.
 */
import { loadTraces, stderrLine } from '../../assembler/load-traces.ts';
import type { Trace } from '../../assembler/span.ts';
import { buildBaseline } from '../../analysis/build-baseline.ts';
import { compareBaselines, compareTraces } from '../../analysis/compare-traces.ts';
import { parseCompareTargets, pickTrace, type CompareTarget } from '../../analysis/pick-trace.ts';
import { renderCaptureComparison, renderTraceComparison } from '../../analysis/render-comparison.ts';
import { routeOfTrace } from '../../analysis/span-type.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const parsed = parseCompareTargets(inv.positionals.a as string, inv.positionals.b as string);
  if (!parsed.ok) {
    stderrLine(`lab compare: ${parsed.error}`);
    return 2;
  }
  const [ta, tb] = parsed.value;
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
    const c = compareBaselines(buildBaseline(tracesOf(ta), ta.dir), buildBaseline(tracesOf(tb), tb.dir));
    process.stdout.write(renderCaptureComparison(c));
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
  process.stdout.write(renderTraceComparison(compareTraces(a, b)));
  return 0;
}

/** `lab analyze DIR [--baseline F] [--json]`: anomalies of every request, explained. */
import { readFileSync } from 'node:fs';
import { stderrLine, streamTraces } from '../../assembler/load-traces.ts';
import { analyzeCapture } from '../../analysis/analyze-capture.ts';
import { parseBaseline } from '../../analysis/baseline-json.ts';
import { buildBaseline } from '../../analysis/build-baseline.ts';
import { renderAnalysis } from '../../analysis/render-analysis.ts';
import { DEFAULT_THRESHOLDS } from '../../analysis/thresholds.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const dir = inv.positionals.dir as string;
  const file = typeof inv.options.baseline === 'string' ? inv.options.baseline : undefined;
  let text: string | undefined;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      stderrLine(`lab analyze: cannot read baseline ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      return 1;
    }
  }
  const baselineFromFile = text !== undefined && file !== undefined ? parseBaseline(text, file) : undefined;
  // Traces are assembled on each pass over them (the baseline, the CPU work, the detectors) and
  // never all held.
  const { traces } = await streamTraces(dir, stderrLine);
  if (traces[Symbol.iterator]().next().done) {
    stderrLine(`lab analyze: ${dir} holds no traced requests`);
    return 1;
  }
  const baseline = baselineFromFile ?? buildBaseline(traces, dir);
  if (!baselineFromFile) stderrLine('no --baseline: the baseline is the capture itself');
  const report = analyzeCapture(traces, baseline, DEFAULT_THRESHOLDS, { baselineIsSelf: !baselineFromFile });
  for (const r of report.routesWithoutBaseline) stderrLine(`warning: route ${r} is not in the baseline: its requests were not analyzed`);
  process.stdout.write(inv.options.json === true ? JSON.stringify(report, null, 2) + '\n' : renderAnalysis(report));
  return 0;
}

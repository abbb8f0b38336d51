/**
 * `lab report DIR [--baseline CAPTURE_DIR|BASELINE_FILE] [--out DIR]`: an incident report in
 * Markdown and as one self-contained HTML page, with the worst traces' waterfalls as SVG.
 * A baseline capture gives the statistical run comparison; a baseline file, quantiles only.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTraces, stderrLine } from '../../assembler/load-traces.ts';
import { analyzeCapture } from '../../analysis/analyze-capture.ts';
import { parseBaseline } from '../../analysis/baseline-json.ts';
import { buildBaseline, type Baseline } from '../../analysis/build-baseline.ts';
import { buildIncidentReport, type BaselineSection } from '../../analysis/build-incident-report.ts';
import { compareBaselines } from '../../analysis/compare-traces.ts';
import { compareRuns } from '../../analysis/compare-runs.ts';
import { detectChangepoints } from '../../analysis/detect-changepoints.ts';
import { REPORT_HTML, reportFiles } from '../../analysis/report-files.ts';
import { DEFAULT_THRESHOLDS } from '../../analysis/thresholds.ts';
import { CAPTURE_FILES } from '../../tracer/read-capture.ts';
import type { Invocation } from '../parse-args.ts';

export async function run(inv: Invocation): Promise<number> {
  const started = process.hrtime.bigint();
  const dir = inv.positionals.dir as string;
  const baselineArg = typeof inv.options.baseline === 'string' ? inv.options.baseline : undefined;
  const outDir = resolve(typeof inv.options.out === 'string' ? inv.options.out : join(dir, 'report'));
  const { capture, assembled } = await loadTraces(dir, stderrLine);
  const traces = assembled.traces;
  if (traces.length === 0) {
    stderrLine(`lab report: ${dir} holds no traced requests`);
    return 1;
  }

  let baseline: Baseline = buildBaseline(traces, dir);
  let section: BaselineSection | null = null;
  if (baselineArg !== undefined && existsSync(join(baselineArg, CAPTURE_FILES.meta))) {
    const other = (await loadTraces(baselineArg, stderrLine)).assembled.traces;
    if (other.length === 0) {
      stderrLine(`lab report: the baseline capture ${baselineArg} holds no traced requests`);
      return 1;
    }
    baseline = buildBaseline(other, baselineArg);
    section = { kind: 'capture', source: baselineArg, runs: compareRuns(other, traces, baselineArg, dir) };
  } else if (baselineArg !== undefined) {
    let text: string;
    try {
      text = readFileSync(baselineArg, 'utf8');
    } catch (e) {
      stderrLine(`lab report: cannot read baseline ${baselineArg}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      return 1;
    }
    baseline = parseBaseline(text, baselineArg);
    section = { kind: 'baseline-file', source: baselineArg, quantiles: compareBaselines(baseline, buildBaseline(traces, dir)) };
  }
  const analysis = analyzeCapture(traces, baseline, DEFAULT_THRESHOLDS, { baselineIsSelf: section === null });
  const report = buildIncidentReport({
    capture: { dir, meta: capture.meta, clientRequests: capture.client.length, proxyRequests: capture.nginx.length, warnings: assembled.warnings },
    traces,
    analysis,
    baseline: section,
    changepoints: detectChangepoints(traces, { wallOffsetNs: assembled.wallOffsetNs }),
  });
  mkdirSync(outDir, { recursive: true });
  const files = reportFiles(report, traces);
  for (const [name, text] of files) writeFileSync(join(outDir, name), text);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  stderrLine(`report of ${traces.length} request(s), ${report.groups.length} finding group(s), ${files.size} file(s) written in ${ms.toFixed(0)} ms`);
  process.stdout.write(`${join(outDir, REPORT_HTML)}\n`);
  return 0;
}

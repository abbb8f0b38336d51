/** The text form of an analysis report (`lab analyze` without --json). Pure. */
import { terminalSafe } from '../tracer/terminal-safe.ts';
import type { AnalysisReport } from './analyze-capture.ts';
import { fmtMs } from './finding.ts';

export interface RenderAnalysisOptions {
  /** Most findings listed (the rest are counted). */
  readonly maxFindings?: number;
}

export function renderAnalysis(r: AnalysisReport, options: RenderAnalysisOptions = {}): string {
  const max = options.maxFindings ?? 50;
  const lines: string[] = [];
  lines.push(
    r.baselineIsSelf
      ? `Baseline: the capture itself (${r.baselineSource}); each request is compared with a population that includes it.`
      : `Baseline: ${r.baselineSource}`,
  );
  lines.push(`${r.traces} request(s), ${r.findings.length} finding(s)`);
  lines.push('');
  lines.push('Routes:');
  const width = Math.max(5, ...r.routes.map((x) => x.route.length));
  for (const x of r.routes) {
    const q = x.baselineLatencyMs;
    const lat = q ? `p50 ${fmtMs(q.p50)}  p99 ${fmtMs(q.p99)}  max ${fmtMs(q.max)}${r.routesWithoutBaseline.includes(x.route) ? ' (too few to judge by)' : ''}` : 'not in the baseline';
    lines.push(`  ${x.route.padEnd(width)}  ${String(x.requests).padStart(6)} req  ${lat}  ${x.requestsWithFindings} with findings, ${x.slowRequests} slow`);
  }
  if (r.routesWithoutBaseline.length > 0) {
    lines.push('');
    lines.push(
      `No baseline to judge ${r.routesWithoutBaseline.join(', ')} (not in it, or too few requests there): only lock, retransmit, socket-buffer, run-queue, disk and pool waits, queuing and connection setup are reported for them, when large in absolute terms (≥ ${r.thresholds.absolute.minMs} ms, or ≥ ${Math.round(r.thresholds.absolute.requestShare * 100)}% of the request).`,
    );
  }
  const kinds = Object.entries(r.countsByKind).filter(([, n]) => n > 0);
  lines.push('');
  lines.push(`Findings by kind: ${kinds.length ? kinds.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
  if (r.findings.length > 0) {
    lines.push('');
    lines.push('Findings (largest excess first):');
    for (const f of r.findings.slice(0, max)) {
      lines.push(`  [${f.severity}] ${f.requestId} ${f.route} ${f.kind} +${fmtMs(f.excessMs)}`);
      lines.push(`      ${f.message}`);
    }
    if (r.findings.length > max) lines.push(`  … ${r.findings.length - max} more (--json lists all)`);
  }
  return terminalSafe(lines.join('\n') + '\n', true);
}

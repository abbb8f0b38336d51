/** The files of an incident report: report.md, report.html and one SVG waterfall per evidence. Pure. */
import { renderWaterfallSvg } from '../assembler/render-waterfall-svg.ts';
import type { Trace } from '../assembler/span.ts';
import type { IncidentReport } from './build-incident-report.ts';
import { renderReportHtml } from './render-report-html.ts';
import { renderReportMarkdown } from './render-report-markdown.ts';

export const REPORT_MARKDOWN = 'report.md';
export const REPORT_HTML = 'report.html';

/** File name → contents. */
export function reportFiles(report: IncidentReport, traces: readonly Trace[]): Map<string, string> {
  const byId = new Map(traces.map((t) => [t.traceId, t]));
  const svgs = new Map<string, string>();
  for (const e of [...report.groups.map((g) => g.evidence), ...(report.worst ? [report.worst] : [])]) {
    const t = byId.get(e.traceId);
    if (t && !svgs.has(e.waterfallFile)) svgs.set(e.waterfallFile, renderWaterfallSvg(t));
  }
  return new Map([[REPORT_MARKDOWN, renderReportMarkdown(report)], [REPORT_HTML, renderReportHtml(report, svgs)], ...svgs]);
}

/** An incident report as Markdown, with the waterfalls as SVG files beside it. Pure. */
import type { BaselineSection, Evidence, FindingGroup, IncidentReport } from './build-incident-report.ts';
import { renderChangepoints } from './detect-changepoints.ts';
import { fmtMs } from './finding.ts';
import { fmtP, fmtShift, runWideLine } from './render-run-comparison.ts';

const cell = (s: string): string => s.replace(/\|/g, '\\|');
const signed = (v: number): string => `${v >= 0 ? '+' : '-'}${fmtMs(Math.abs(v))}`;

export function kernelWaitsText(e: Evidence): string {
  const k = e.kernelWaits;
  return `socket-buffer wait ${fmtMs(k.socketBufferWaitMs)}, run-queue delay ${fmtMs(k.runqueueDelayMs)}, ${k.tcpRetransmits} TCP retransmit(s)`;
}

function evidenceLines(e: Evidence): string[] {
  return [
    `**Worst request** \`${e.traceId}\` (${e.route}, ${fmtMs(e.totalMs)}): ${e.message}`,
    '',
    '| span | tier | starts at | duration |',
    '|---|---|---:|---:|',
    ...e.spanTimings.map((s) => `| ${'&nbsp;&nbsp;'.repeat(s.depth)}${s.onPath ? '**' : ''}${cell(s.name)}${s.onPath ? '**' : ''} | ${s.tier} | ${fmtMs(s.startMs)} | ${fmtMs(s.durationMs)} |`),
    '',
    `Kernel waits: ${kernelWaitsText(e)}.`,
    '',
    'Timeline:',
    '',
    '```text',
    e.timeline.trimEnd(),
    '```',
    '',
    `![waterfall of ${e.traceId}](${e.waterfallFile})`,
  ];
}

function groupLines(g: FindingGroup, i: number): string[] {
  return [
    `### ${i + 1}. ${g.kind} on ${g.route}: ${g.subject}`,
    '',
    `${g.requests} request(s), ${fmtMs(g.costMs)} over normal in all; severity ${g.severity}.`,
    `Trace ids: ${g.traceIds.map((id) => `\`${id}\``).join(', ')}`,
    '',
    ...evidenceLines(g.evidence),
    '',
  ];
}

export function baselineLines(b: BaselineSection): string[] {
  if (b.kind === 'baseline-file') {
    return [
      `Baseline file ${b.source} (quantiles only: no significance test without the baseline's requests).`,
      '',
      '| route | p99 baseline | p99 now | change | driven by |',
      '|---|---:|---:|---:|---|',
      ...b.quantiles.routes.map((r) => `| ${r.route} | ${fmtMs(r.a.p99)} | ${fmtMs(r.b.p99)} | ${signed(r.p99DeltaMs)} (${r.verdict}) | ${cell(r.drivers.map((d) => `${d.label} ${signed(d.p99DeltaMs)}`).join(', '))} |`),
    ];
  }
  const c = b.runs;
  return [
    `Baseline capture ${b.source}. ${c.tests} p-values (Mann-Whitney U and Kolmogorov-Smirnov per route and span type), Benjamini-Hochberg at FDR ${Math.round(c.alpha * 100)}%; significant at q ≤ ${c.alpha} with |Cliff's δ| ≥ ${c.minAbsDelta} and a median or mean shift ≥ ${c.minShiftMs}ms. Shifts are now − baseline, with 95% bootstrap intervals.`,
    '',
    runWideLine(c),
    '',
    '| route | verdict | requests | p50 shift | p99 shift | Cliff\'s δ | q (MW / KS) | shift comes from |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...c.routes.map((r) => {
      const l = r.latency;
      const from = r.contributors.map((t) => `${t.type} ${signed(t.meanShiftMs)} (${Math.round(t.shareOfShift * 100)}%)`).join('; ');
      return `| ${r.route} | ${l.direction} | ${l.nA} → ${l.nB} | ${fmtShift(l.p50Shift)} | ${fmtShift(l.p99Shift)} | ${l.cliffsDelta.toFixed(2)} | ${fmtP(l.mannWhitneyQ)} / ${fmtP(l.ksQ)} | ${cell(from)} |`;
    }),
    ...(c.onlyInA.length ? ['', `Routes only in the baseline: ${c.onlyInA.join(', ')}`] : []),
    ...(c.onlyInB.length ? ['', `Routes only in this capture: ${c.onlyInB.join(', ')}`] : []),
  ];
}

export function renderReportMarkdown(r: IncidentReport): string {
  const lines = [
    `# Incident report: ${r.dir}`,
    '',
    `Captured ${r.createdAt}${r.durationS !== null ? `, ${r.durationS.toFixed(1)} s traced` : ''}; ${r.traces} traced request(s).`,
    '',
    '## Summary',
    '',
    ...r.summary.map((s) => `- ${s}`),
    '',
    '## Routes',
    '',
    '| route | requests | p50 | p90 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.routes.map((x) => `| ${x.route} | ${x.requests} | ${fmtMs(x.latencyMs.p50)} | ${fmtMs(x.latencyMs.p90)} | ${fmtMs(x.latencyMs.p99)} | ${fmtMs(x.latencyMs.max)} |`),
    '',
    '## Findings, by the time they cost',
    '',
  ];
  if (r.groups.length === 0) lines.push('No detector fired.', '');
  r.groups.forEach((g, i) => lines.push(...groupLines(g, i)));
  if (r.groups.length > 0 && r.findingsTotal > r.groups.reduce((n, g) => n + g.requests, 0)) lines.push(`(${r.findingsTotal} finding(s) in all; \`lab analyze --json\` lists every one.)`, '');
  if (r.worst) lines.push('## Slowest request', '', ...evidenceLines(r.worst), '');
  lines.push('## Comparison with the baseline', '', ...(r.baseline ? baselineLines(r.baseline) : ['No baseline given (`lab report DIR --baseline CAPTURE_DIR|BASELINE_FILE`).']), '');
  lines.push('## Changes within the capture', '', r.changepoints.length ? '```text\n' + renderChangepoints(r.changepoints).trimEnd() + '\n```' : 'No route changed level during the capture.', '');
  lines.push('## What this capture could not see', '', ...(r.blindSpots.length ? r.blindSpots.map((s) => `- ${s}`) : ['- Nothing known: every request was traced, every probe family ran, no record was lost.']), '');
  return lines.join('\n');
}

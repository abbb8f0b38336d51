/**
 * An incident report as one self-contained HTML page: CSS inline, waterfalls as inline SVG, no
 * script and no URL outside the page, so it opens from a ticket attachment without a network.
 * Pure: the waterfalls' SVG text comes in by file name.
 */
import { escapeXml } from '../assembler/render-waterfall-svg.ts';
import type { BaselineSection, Evidence, FindingGroup, IncidentReport } from './build-incident-report.ts';
import { renderChangepoints } from './detect-changepoints.ts';
import { fmtMs } from './finding.ts';
import { kernelWaitsText } from './render-report-markdown.ts';
import { fmtP, fmtShift, runWideLine } from './render-run-comparison.ts';

const h = escapeXml;
const signed = (v: number): string => `${v >= 0 ? '+' : '-'}${fmtMs(Math.abs(v))}`;

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2328; margin: 2em auto; max-width: 1260px; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0; } th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.path td:first-child { font-weight: bold; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: 12px; }
code { font-size: 12px; } .sev-critical { color: #cf222e; } .sev-warning { color: #9a6700; }
figure.waterfall { margin: 1em 0; overflow-x: auto; } figure.waterfall svg { max-width: 100%; height: auto; }
.finding { border-left: 4px solid #d0d7de; padding-left: 1em; margin: 1.5em 0; }
`;

/** The SVG element of a standalone SVG document; HTML needs neither its XML declaration nor its namespace. */
export function inlineSvg(svg: string): string {
  return svg
    .replace(/^<\?xml[^>]*\?>\s*/, '')
    .replace(/^<svg xmlns="[^"]*"/, '<svg')
    .trim();
}

function table(head: readonly string[], rows: readonly (readonly string[])[], numeric: ReadonlySet<number> = new Set(), rowClass: (i: number) => string = () => ''): string {
  const th = head.map((c, i) => `<th${numeric.has(i) ? ' class="n"' : ''}>${h(c)}</th>`).join('');
  const body = rows.map((r, ri) => `<tr${rowClass(ri) ? ` class="${rowClass(ri)}"` : ''}>${r.map((c, i) => `<td${numeric.has(i) ? ' class="n"' : ''}>${h(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function evidenceHtml(e: Evidence, svgs: ReadonlyMap<string, string>): string {
  const svg = svgs.get(e.waterfallFile);
  return [
    `<p><strong>Worst request</strong> <code>${h(e.traceId)}</code> (${h(e.route)}, ${h(fmtMs(e.totalMs))}): ${h(e.message)}</p>`,
    table(
      ['span', 'tier', 'starts at', 'duration'],
      e.spanTimings.map((s) => [`${'\u00a0\u00a0'.repeat(s.depth)}${s.name}`, s.tier, fmtMs(s.startMs), fmtMs(s.durationMs)]),
      new Set([2, 3]),
      (i) => (e.spanTimings[i]?.onPath ? 'path' : ''),
    ),
    `<p>Kernel waits: ${h(kernelWaitsText(e))}.</p>`,
    svg ? `<figure class="waterfall" data-trace="${h(e.traceId)}">${inlineSvg(svg)}<figcaption>Waterfall of ${h(e.traceId)}</figcaption></figure>` : '',
    `<details><summary>Timeline</summary><pre>${h(e.timeline.trimEnd())}</pre></details>`,
  ].join('\n');
}

function groupHtml(g: FindingGroup, i: number, svgs: ReadonlyMap<string, string>): string {
  return [
    `<section class="finding" id="finding-${i + 1}">`,
    `<h3>${i + 1}. ${h(g.kind)} on ${h(g.route)}: ${h(g.subject)}</h3>`,
    `<p>${g.requests} request(s), <strong>${h(fmtMs(g.costMs))}</strong> over normal in all; severity <span class="sev-${g.severity}">${g.severity}</span>.</p>`,
    `<p>Trace ids: ${g.traceIds.map((id) => `<code>${h(id)}</code>`).join(', ')}</p>`,
    evidenceHtml(g.evidence, svgs),
    '</section>',
  ].join('\n');
}

function baselineHtml(b: BaselineSection): string {
  if (b.kind === 'baseline-file') {
    return [
      `<p>Baseline file ${h(b.source)} (quantiles only: no significance test without the baseline's requests).</p>`,
      table(
        ['route', 'p99 baseline', 'p99 now', 'change', 'driven by'],
        b.quantiles.routes.map((r) => [r.route, fmtMs(r.a.p99), fmtMs(r.b.p99), `${signed(r.p99DeltaMs)} (${r.verdict})`, r.drivers.map((d) => `${d.label} ${signed(d.p99DeltaMs)}`).join(', ')]),
        new Set([1, 2, 3]),
      ),
    ].join('\n');
  }
  const c = b.runs;
  return [
    `<p>Baseline capture ${h(b.source)}. ${c.tests} p-values (Mann-Whitney U and Kolmogorov-Smirnov per route and span type), Benjamini-Hochberg at FDR ${Math.round(c.alpha * 100)}%; significant at q ≤ ${c.alpha} with |Cliff's δ| ≥ ${c.minAbsDelta} and a median or mean shift ≥ ${c.minShiftMs}ms. Shifts are now − baseline, with 95% bootstrap intervals.</p>`,
    `<p>${h(runWideLine(c))}</p>`,
    table(
      ['route', 'verdict', 'requests', 'p50 shift', 'p99 shift', "Cliff's δ", 'q (MW / KS)', 'shift comes from'],
      c.routes.map((r) => {
        const l = r.latency;
        return [r.route, l.direction, `${l.nA} → ${l.nB}`, fmtShift(l.p50Shift), fmtShift(l.p99Shift), l.cliffsDelta.toFixed(2), `${fmtP(l.mannWhitneyQ)} / ${fmtP(l.ksQ)}`, r.contributors.map((t) => `${t.type} ${signed(t.meanShiftMs)} (${Math.round(t.shareOfShift * 100)}%)`).join('; ')];
      }),
      new Set([2, 3, 4, 5, 6]),
    ),
  ].join('\n');
}

/** The page; `svgs` maps each evidence's waterfall file name to its SVG text. */
export function renderReportHtml(r: IncidentReport, svgs: ReadonlyMap<string, string>): string {
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>Incident report: ${h(r.dir)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>Incident report: ${h(r.dir)}</h1>`,
    `<p>Captured ${h(r.createdAt)}${r.durationS !== null ? `, ${r.durationS.toFixed(1)} s traced` : ''}; ${r.traces} traced request(s).</p>`,
    '<h2>Summary</h2>',
    `<ul>${r.summary.map((s) => `<li>${h(s)}</li>`).join('')}</ul>`,
    '<h2>Routes</h2>',
    table(['route', 'requests', 'p50', 'p90', 'p99', 'max'], r.routes.map((x) => [x.route, String(x.requests), fmtMs(x.latencyMs.p50), fmtMs(x.latencyMs.p90), fmtMs(x.latencyMs.p99), fmtMs(x.latencyMs.max)]), new Set([1, 2, 3, 4, 5])),
    '<h2>Findings, by the time they cost</h2>',
    r.groups.length ? r.groups.map((g, i) => groupHtml(g, i, svgs)).join('\n') : '<p>No detector fired.</p>',
    ...(r.worst ? ['<h2>Slowest request</h2>', `<section class="finding" id="slowest">${evidenceHtml(r.worst, svgs)}</section>`] : []),
    '<h2>Comparison with the baseline</h2>',
    r.baseline ? baselineHtml(r.baseline) : '<p>No baseline given (<code>lab report DIR --baseline CAPTURE_DIR|BASELINE_FILE</code>).</p>',
    '<h2>Changes within the capture</h2>',
    r.changepoints.length ? `<pre>${h(renderChangepoints(r.changepoints).trimEnd())}</pre>` : '<p>No route changed level during the capture.</p>',
    '<h2>What this capture could not see</h2>',
    `<ul>${(r.blindSpots.length ? r.blindSpots : ['Nothing known: every request was traced, every probe family ran, no record was lost.']).map((s) => `<li>${h(s)}</li>`).join('')}</ul>`,
    '</body></html>',
  ];
  return parts.join('\n') + '\n';
}

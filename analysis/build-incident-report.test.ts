import { describe, expect, it } from 'vitest';
import type { Trace } from '../assembler/span.ts';
import { analyzeCapture } from './analyze-capture.ts';
import { buildBaseline } from './build-baseline.ts';
import { buildIncidentReport, waterfallFileOf, type CaptureFacts } from './build-incident-report.ts';
import { compareRuns } from './compare-runs.ts';
import { ANALYSIS_SCENARIOS, ANOMALY, normalPopulation, type Scenario } from './fixtures/populations.ts';
import { REPORT_HTML, REPORT_MARKDOWN, reportFiles } from './report-files.ts';
import { DEFAULT_THRESHOLDS } from './thresholds.ts';

const normal = normalPopulation();
const blocked = (ANALYSIS_SCENARIOS['blocked-event-loop'] as () => Scenario)();

function report(s: Scenario, facts: Partial<CaptureFacts> = {}, meta: Partial<CaptureFacts['meta']> = {}) {
  const baseline = buildBaseline(normal.traces, 'normal');
  return buildIncidentReport({
    capture: { dir: 'captures/blocked', meta: { ...s.capture.meta, ...meta }, clientRequests: s.traces.length, proxyRequests: s.traces.length, warnings: [], ...facts },
    traces: s.traces,
    analysis: analyzeCapture(s.traces, baseline, DEFAULT_THRESHOLDS, { baselineIsSelf: false }),
    baseline: { kind: 'capture', source: 'captures/normal', runs: compareRuns(normal.traces, s.traces, 'captures/normal', 'captures/blocked') },
    changepoints: [],
  });
}

describe('buildIncidentReport', () => {
  const r = report(blocked);

  it('ranks finding groups by the time they cost, each with its worst request as evidence', () => {
    expect(r.groups.length).toBeGreaterThan(0);
    const costs = r.groups.map((g) => g.costMs);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    const wait = r.groups.find((g) => g.kind === 'socket-buffer-wait');
    expect(wait?.route).toBe('GET /api/users');
    expect(wait?.traceIds).toContain(ANOMALY.blocked);
    expect(wait?.evidence.traceId).toBe(ANOMALY.blocked);
    expect(wait?.evidence.kernelWaits.socketBufferWaitMs).toBeGreaterThanOrEqual(40);
    expect(wait?.evidence.timeline).toMatch(new RegExp(`^Request ${ANOMALY.blocked}: GET /api/users`));
    expect(wait?.evidence.spanTimings[0]).toMatchObject({ depth: 0, startMs: 0, onPath: true });
    expect(wait?.evidence.spanTimings.filter((s) => s.onPath).length).toBeGreaterThanOrEqual(2);
    expect(r.worst?.traceId).toBe(ANOMALY.blocked);
    expect(r.summary[0]).toMatch(/^\d+ traced request\(s\) over 4 route\(s\); \d+ finding\(s\) in \d+ request\(s\)\.$/);
    expect(r.summary.some((s) => s.startsWith('Against captures/normal:'))).toBe(true);
  });

  it('says what the capture could not see: sampling, a shed family, drops, repaired traces', () => {
    expect(report(blocked).blindSpots.filter((s) => /Sampling|shed|lost/.test(s))).toEqual([]);
    const partial = report(blocked, { proxyRequests: blocked.traces.length * 4 }, { sample: 0.25, hooks: { ...blocked.capture.meta.hooks, sched: 'shed' }, drops: { ringbuf: 12 } });
    expect(partial.blindSpots).toContain(`Sampling: 25% of requests were traced in full; the proxy logged ${blocked.traces.length * 4} request(s), ${blocked.traces.length} have a trace. Findings and quantiles describe the traced ones.`);
    expect(partial.blindSpots).toContain('The sched probe family was shed (shed): no run-queue delays from then on.');
    expect(partial.blindSpots).toContain('Records lost: ringbuf=12; traces near those losses may lack spans.');
    expect(report(blocked, {}, { drops: {} }).blindSpots).toContain('Drop counters are unknown (the loader gave no summary): records may be missing.');
  });
});

describe('report files', () => {
  const r = report(blocked);
  const files = reportFiles(r, blocked.traces as readonly Trace[]);

  it('writes Markdown with every section and a waterfall SVG beside each evidence', () => {
    const md = files.get(REPORT_MARKDOWN) as string;
    for (const h of ['## Summary', '## Routes', '## Findings, by the time they cost', '## Slowest request', '## Comparison with the baseline', '## Changes within the capture', '## What this capture could not see']) {
      expect(md).toContain(`\n${h}\n`);
    }
    expect(md).toContain(`![waterfall of ${ANOMALY.blocked}](${waterfallFileOf(ANOMALY.blocked)})`);
    expect(files.get(waterfallFileOf(ANOMALY.blocked))).toMatch(/^<\?xml/);
    expect(md).toContain('| GET /api/users | unchanged |');
  });

  it('writes one self-contained HTML page: SVG inline, no script, no link, no URL', () => {
    const html = files.get(REPORT_HTML) as string;
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(`<figure class="waterfall" data-trace="${ANOMALY.blocked}"><svg width=`);
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\(|https?:\/\//i);
    expect(html).not.toContain('<?xml');
  });
});

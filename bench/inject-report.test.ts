import { describe, expect, it } from 'vitest';
import { renderInjectSvg } from './inject-chart.ts';
import { renderInjectMarkdown, summaryLine, type InjectReport } from './inject-report.ts';
import type { RequestVerdict } from './inject-verdict.ts';

const request = (id: string, measuredMs: number, pass: boolean): RequestVerdict => ({
  requestId: id.repeat(32).slice(0, 32),
  role: 'injected',
  location: 'db-execute',
  basis: 'injected',
  expectedMs: 100,
  measuredMs,
  toleranceMs: 10,
  pass,
  failures: pass ? [] : [`${measuredMs.toFixed(1)} ms at db-execute, expected 100.0 ± 10.0 ms`],
  where: ['DB query 1 (SELECT) › DB processing › execute'],
  clientExcessMs: measuredMs + 1,
  topComponent: { label: 'DB query (SELECT … users)', excessMs: measuredMs + 0.5 },
  retransmits: 0,
  detector: { expected: ['slow-span on DB query 1'], fired: pass ? ['slow-request', 'slow-span'] : [], ok: pass },
});

const REPORT: InjectReport = {
  measuredAt: '2026-12-06T06:00:00.000Z',
  settings: { quick: true, repeats: 2, layers: ['db', 'disk'] },
  machine: { cpus: 2, kernel: '6.18.0', node: 'v20.20.2', loadavgAtStart: [1.5, 1, 0.5], loadavgAtEnd: [2, 1.2, 0.6] },
  methods: [{ layer: 'db', method: 'db_delay_ms knob (pg_sleep in the first statement)' }],
  skipped: [{ layer: 'disk', reason: 'no cgroup io throttling: no cgroup v2 mount and no v1 blkio hierarchy' }],
  baseline: { capture: 'captures/00-baseline', requests: 300 },
  experiments: [
    {
      name: 'db 100ms',
      layer: 'db',
      injected: 'db_delay_ms=100: pg_sleep(0.1) in the first statement',
      method: 'db_delay_ms knob (pg_sleep in the first statement)',
      capture: 'captures/01-db-100ms',
      missing: [],
      durationS: 4.2,
      summary: {
        parts: [{ role: 'injected', location: 'PostgreSQL › execute of DB query 1', basis: 'injected', expectedMs: 100, measuredMs: { median: 101.5, min: 101.5, max: 130 }, toleranceMs: 10, passed: 1, total: 2 }],
        passed: 1,
        total: 2,
        detectorsOk: 1,
        pass: false,
      },
      verdict: {
        requests: [request('a', 101.5, true), request('b', 130, false)],
        controls: { sent: 6, traced: 6 },
        falseAlarms: [{ requestId: 'c'.repeat(32), kind: 'slow-request', excessMs: 25, message: 'This request took …' }],
      },
      validation: [
        { name: 'root span not longer than the client saw', tolerance: '', compared: 8, within: 8, share: 1, worst: [] },
        { name: 'DB execute mean vs pg_stat_statements mean_exec_time', tolerance: '', compared: 0, within: 0, share: 0, worst: [] },
      ],
      faultNotes: [],
    },
  ],
  accuracy: { passed: 1, total: 2, share: 0.5 },
  detectors: { ok: 1, total: 2 },
  falseAlarms: { requests: 1, normalRequests: 6, significantMs: 20 },
  durationS: 31.6,
  cleanupFailures: [],
  warnings: [],
};

describe('renderInjectMarkdown', () => {
  const md = renderInjectMarkdown(REPORT);

  it('leads with the accuracy and one row per experiment', () => {
    expect(md).toContain('**Attribution accuracy: 1 of 2 injected requests (50.0%)**');
    expect(md).toContain('| db 100ms | db_delay_ms=100: pg_sleep(0.1) in the first statement | PostgreSQL › execute of DB query 1 | 101.5 (101.5..130.0) | 100.0 | ±10.0 | FAIL 1/2 |');
  });

  it("tells lab analyze's verdict and the false alarms on normal requests", () => {
    expect(md).toContain('| db 100ms | slow-span on DB query 1 | 1/2 | slow-request, slow-span | 1 of 6: slow-request up to +25.0 ms |');
    expect(md).toContain('1 of the 6 normal requests drew a finding of 20 ms or more.');
  });

  it("shows lab validate's checks that compared something", () => {
    expect(md).toContain('| experiment | root ≤ client | execute vs pg_stat_statements |');
    expect(md).toContain('| db 100ms | 8/8 | – |');
  });

  it('lists every request with why it failed, the methods and the skipped layers with their reasons', () => {
    expect(md).toContain('| bbbbbbbb | injected | 130.0 | 100.0 ±10.0 | 131.0 | DB query (SELECT … users) +130.5 | DB query 1 (SELECT) › DB processing › execute | – | FAIL: 130.0 ms at db-execute, expected 100.0 ± 10.0 ms |');
    expect(md).toContain('- **db**: db_delay_ms knob (pg_sleep in the first statement)');
    expect(md).toContain('- **disk**: no cgroup io throttling: no cgroup v2 mount and no v1 blkio hierarchy');
  });
});

describe('a row with several parts', () => {
  it('gives each part its role, one line per part', () => {
    const e = REPORT.experiments[0] as InjectReport['experiments'][number];
    const blocker = { ...(e.summary.parts[0] as InjectReport['experiments'][number]['summary']['parts'][number]), role: 'blocker' as const, location: 'app › handler setup', expectedMs: 200 };
    const queued = { ...blocker, role: 'queued' as const, location: 'kernel › socket buffer wait', expectedMs: 150, basis: 'blocker-loop' as const };
    const md = renderInjectMarkdown({ ...REPORT, experiments: [{ ...e, summary: { ...e.summary, parts: [blocker, queued] } }] });
    expect(md).toContain("| blocker: app › handler setup<br>queued: kernel › socket buffer wait | blocker: 101.5 (101.5..130.0)<br>queued: 101.5 (101.5..130.0) | blocker: 200.0<br>queued: 150.0 (blocker's loop) |");
  });
});

describe('summaryLine', () => {
  it('says pass or FAIL, the measured and expected amounts and where, and the detector', () => {
    expect(summaryLine('db 100ms', (REPORT.experiments[0] as InjectReport['experiments'][number]).summary)).toBe(
      'db 100ms: FAIL 1/2, 101.5 ms (expected 100.0 ± 10.0) at PostgreSQL › execute of DB query 1; detector 1/2',
    );
  });
});

describe('renderInjectSvg', () => {
  const svg = renderInjectSvg(REPORT);

  it('draws a row per experiment with a dot per injected request, coloured by its verdict', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('fill="#2e8b57"');
    expect(svg).toContain('fill="#d62728"');
    expect(svg).toContain('attribution accuracy 1/2 (50.0%)');
    expect(renderInjectSvg({ ...REPORT, accuracy: { passed: 214, total: 215, share: 214 / 215 } })).toContain('attribution accuracy 214/215 (99.5%)');
  });

  it('escapes text and says when nothing ran', () => {
    const empty = renderInjectSvg({ ...REPORT, experiments: [] });
    expect(empty).toContain('no experiment ran');
    expect(renderInjectSvg({ ...REPORT, experiments: [{ ...(REPORT.experiments[0] as InjectReport['experiments'][number]), name: 'a<b>&' }] })).toContain('a&lt;b&gt;&amp;');
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliSync } from '../test/run-cli.ts';
import { writeCaptureDir } from '../assembler/fixtures/write-capture-dir.ts';
import { parseBaseline } from './baseline-json.ts';
import type { AnalysisReport } from './analyze-capture.ts';
import type { RunComparison } from './compare-runs.ts';
import { ANALYSIS_SCENARIOS, ANOMALY, normalPopulation } from './fixtures/populations.ts';

const tmp = mkdtempSync(join(tmpdir(), 'reqtrace-analysis-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const normalDir = join(tmp, 'normal');
const blockedDir = join(tmp, 'blocked');
writeCaptureDir(normalDir, normalPopulation().capture);
writeCaptureDir(blockedDir, (ANALYSIS_SCENARIOS['blocked-event-loop'] as () => { capture: Parameters<typeof writeCaptureDir>[1] })().capture);

function lab(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = runCliSync(args, { env: { NO_COLOR: '1' } });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') };
}
const lastLine = (s: string): string => s.trim().split('\n').at(-1) ?? '';

describe('lab baseline / analyze / compare', { timeout: 120_000 }, () => {
  const baselineFile = join(tmp, 'normal.baseline.json');

  it('baseline --out writes a baseline file that reads back', () => {
    const r = lab('baseline', normalDir, '--out', baselineFile);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(lastLine(r.stderr)).toBe(`baseline of 400 request(s) over 3 route(s): GET /api/feed (100), GET /api/users (200), POST /api/orders (100) written to ${baselineFile}`);
    expect(Object.keys(parseBaseline(readFileSync(baselineFile, 'utf8'), baselineFile).routes)).toEqual(['GET /api/feed', 'GET /api/users', 'POST /api/orders']);
  });

  it('analyze --baseline F: text report naming the blocked request and who blocked it', () => {
    const r = lab('analyze', blockedDir, '--baseline', baselineFile);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`Baseline: ${normalDir}`);
    expect(r.stdout).toContain(`CPU work of concurrent requests then: GET /api/report ${ANOMALY.blocker.slice(0, 8)} (business logic, 40.0ms)`);
    expect(r.stderr).toContain('warning: route GET /api/report is not in the baseline');
  });

  it('analyze --json without a baseline says the baseline is the capture itself', () => {
    const r = lab('analyze', blockedDir, '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as AnalysisReport;
    expect(report.baselineIsSelf).toBe(true);
    expect(report.findings.some((f) => f.requestId === ANOMALY.blocked && f.kind === 'socket-buffer-wait')).toBe(true);
    expect(r.stderr).toContain('no --baseline: the baseline is the capture itself');
  });

  it('analyze fails in one line on an unreadable or foreign baseline', () => {
    const missing = lab('analyze', blockedDir, '--baseline', join(tmp, 'nope.json'));
    expect(missing.status).toBe(1);
    expect(lastLine(missing.stderr)).toMatch(/^lab analyze: cannot read baseline .*nope\.json: ENOENT/);
    const foreign = lab('analyze', blockedDir, '--baseline', join(normalDir, 'meta.json'));
    expect(foreign.status).toBe(1);
    expect(lastLine(foreign.stderr)).toBe(`lab: ${join(normalDir, 'meta.json')} is not a reqtrace baseline (no "kind": "reqtrace-baseline")`);
  });

  it('compare DIR@ID DIR@median: the blocked request against a typical one of its route', () => {
    const r = lab('compare', `${blockedDir}@${ANOMALY.blocked.slice(0, 8)}`, `${normalDir}@median`);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^A: ${ANOMALY.blocked} GET /api/users 47\\.\\dms$`));
    expect(lines[1]).toMatch(/^B: [0-9a-f]{32} GET \/api\/users 7\.\dms \(-40\.\dms, ×0\.15\)$/);
    expect(r.stdout).toContain('>>     socket buffer wait         40.0ms          —    -40.0ms  only A');
  });

  it('compare DIR DIR: a per-route report', () => {
    const r = lab('compare', normalDir, blockedDir);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('p99 of GET /api/users held steady');
    expect(r.stdout).toContain('Routes only in B: GET /api/report');
  });

  it('compare DIR DIR --json: the run comparison (tests, q-values, shifts) and the quantile report', () => {
    const r = lab('compare', normalDir, blockedDir, '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { runs: RunComparison; quantiles: { onlyInB: string[] } };
    expect(out.runs.routes.map((x) => x.route)).toEqual(['GET /api/feed', 'GET /api/users', 'POST /api/orders']);
    expect(out.runs.significantRoutes).toEqual([]);
    expect(out.runs.onlyInB).toEqual(['GET /api/report']);
    expect(out.runs.tests).toBeGreaterThan(6);
    expect(out.quantiles.onlyInB).toEqual(['GET /api/report']);
    const text = lab('compare', normalDir, blockedDir);
    expect(text.stdout).toContain('No route changed significantly (FDR 5%).');
    expect(text.stdout).toContain('Quantiles by span type:');
  });

  it('report DIR --baseline CAPTURE --out D: Markdown, HTML and waterfalls, the HTML path on stdout', () => {
    const out = join(tmp, 'report');
    const r = lab('report', blockedDir, '--baseline', normalDir, '--out', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${join(out, 'report.html')}\n`);
    expect(lastLine(r.stderr)).toMatch(/^report of 402 request\(s\), \d+ finding group\(s\), \d+ file\(s\) written in \d+ ms$/);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`Baseline capture ${normalDir}.`);
    expect(md).toContain(`![waterfall of ${ANOMALY.blocked}](waterfall-${ANOMALY.blocked.slice(0, 12)}.svg)`);
    expect(readFileSync(join(out, `waterfall-${ANOMALY.blocked.slice(0, 12)}.svg`), 'utf8')).toContain('<svg');
    const withFile = lab('report', blockedDir, '--baseline', baselineFile, '--out', join(tmp, 'report-file'));
    expect(withFile.status).toBe(0);
    expect(readFileSync(join(tmp, 'report-file', 'report.md'), 'utf8')).toContain('(quantiles only: no significance test');
  });

  it('compare rejects mixed or malformed targets with exit status 2', () => {
    const mixed = lab('compare', `${normalDir}@slowest`, blockedDir);
    expect(mixed.status).toBe(2);
    expect(lastLine(mixed.stderr)).toBe('lab compare: compare takes two traces (DIR@ID, DIR@slowest, DIR@median) or two capture directories, not one of each');
    const bad = lab('compare', `${normalDir}@xyz`, `${normalDir}@slowest`);
    expect(bad.status).toBe(2);
    expect(lastLine(bad.stderr)).toBe("lab compare: 'xyz' after '@' must be a request id (8 to 32 hex digits), 'slowest' or 'median'");
  });
});

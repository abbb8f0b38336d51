/**
 * The report's HTML page in a real browser: Debian's headless Chromium loads it from file://
 * with the network off and prints the DOM it rendered, which must hold the waterfall SVGs with
 * a bar per span. Under CI=true a missing chromium fails instead of skipping.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeIfPresent } from '../test/require-built.ts';
import { runCliSync } from '../test/run-cli.ts';
import { writeCaptureDir } from '../assembler/fixtures/write-capture-dir.ts';
import { ANALYSIS_SCENARIOS, ANOMALY, normalPopulation, type Scenario } from './fixtures/populations.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const tmp = mkdtempSync(join(tmpdir(), 'reqtrace-report-html-'));
const children = new Set<ReturnType<typeof spawn>>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** Chromium's rendered DOM of `url`, killed after `timeoutMs`. */
function dumpDom(url: string, timeoutMs = 60_000): Promise<{ code: number | null; dom: string; stderr: string }> {
  return new Promise((resolveDom, reject) => {
    const child = spawn(
      CHROMIUM as string,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${join(tmp, 'profile')}`, '--dump-dom', url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    let dom = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (dom += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolveDom({ code, dom, stderr });
    });
  });
}

describeIfPresent(CHROMIUM !== undefined)('lab report HTML in headless Chromium', () => {
  it('renders the waterfall of the worst request with a bar for each of its spans', async () => {
    if (!CHROMIUM) throw new Error('chromium is not installed (scripts/setup.sh installs it)');
    const normalDir = join(tmp, 'normal');
    const blockedDir = join(tmp, 'blocked');
    writeCaptureDir(normalDir, normalPopulation().capture);
    const blocked = (ANALYSIS_SCENARIOS['blocked-event-loop'] as () => Scenario)();
    writeCaptureDir(blockedDir, blocked.capture);
    const out = join(tmp, 'report');
    const r = runCliSync(['report', blockedDir, '--baseline', normalDir, '--out', out], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const page = r.stdout.trim();

    const { code, dom, stderr } = await dumpDom(pathToFileURL(page).href);
    expect(code, stderr.slice(-500)).toBe(0);
    const figure = new RegExp(`<figure class="waterfall" data-trace="${ANOMALY.blocked}">(<svg[\\s\\S]*?</svg>)`).exec(dom);
    expect(figure).not.toBeNull();
    const svg = (figure as RegExpExecArray)[1] as string;
    const trace = blocked.traces.find((t) => t.traceId === ANOMALY.blocked);
    const spans = trace?.spans.length ?? 0;
    expect(spans).toBeGreaterThan(10);
    // One bar per span, each in a <g> with its tooltip, and the span names as row labels.
    expect(svg.match(/<g><title>/g)?.length).toBe(spans);
    expect(svg).toContain(`Request ${ANOMALY.blocked}: GET /api/users`);
    for (const name of ['nginx processing', 'socket buffer wait', 'DB query 1 (SELECT)', 'nginx response']) expect(svg).toContain(`>${name}</text>`);
    expect(svg).toContain(`${spans} spans`);
    expect(dom).toContain('<h2>What this capture could not see</h2>');
  });
});

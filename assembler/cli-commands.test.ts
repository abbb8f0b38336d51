import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliSync } from '../test/run-cli.ts';
import { writeCaptureDir } from './fixtures/write-capture-dir.ts';
import { IDS, SCENARIOS } from './fixtures/scenarios.ts';
import type { JaegerDocument } from './to-jaeger-trace.ts';
import type { ChromeTrace } from './to-chrome-trace.ts';

const tmp = mkdtempSync(join(tmpdir(), 'reqtrace-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'keepalive');
writeCaptureDir(dir, (SCENARIOS['keepalive-reuse'] as () => Parameters<typeof writeCaptureDir>[1])());

function lab(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = runCliSync(args, { env: { NO_COLOR: '1' } });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') };
}

describe('lab show / lab export on a capture directory', { timeout: 60_000 }, () => {
  it('show --id prints that trace as a text tree, progress on stderr', () => {
    const r = lab('show', dir, '--id', IDS.ka2, '--waterfall');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Request ${IDS.ka2}: GET /api/users/:id \\(total: \\d+\\.\\dms\\)`));
    expect(r.stdout).toContain('├─ nginx processing:');
    expect(r.stdout).toContain('▓ nginx');
    expect(r.stderr).toMatch(/assembled 3 trace\(s\)/);
  });

  it('show fails with a one-line reason for an unknown id and for a directory without a capture', () => {
    const unknown = lab('show', dir, '--id', '0123456789abcdef0123456789abcdef');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trim().split('\n').at(-1)).toBe(`lab show: no request 0123456789abcdef0123456789abcdef in ${dir}`);
    const empty = mkdtempSync(join(tmp, 'empty-'));
    const r = lab('show', empty);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/has no meta\.json/);
  });

  it('show fails when the capture holds no events', () => {
    const bare = join(tmp, 'bare');
    writeCaptureDir(bare, { ...(SCENARIOS['keepalive-reuse'] as () => Parameters<typeof writeCaptureDir>[1])(), events: [] });
    const r = lab('show', bare);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/holds no events/);
  });

  it('export --format jaeger --slowest 2 writes Jaeger JSON to --out', () => {
    const out = join(tmp, 'j.json');
    const r = lab('export', dir, '--format', 'jaeger', '--slowest', '2', '--out', out);
    expect(r.status).toBe(0);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as JaegerDocument;
    expect(doc.data.map((t) => t.traceID)).toEqual([IDS.ka2, IDS.ka1]);
    expect(r.stdout).toBe('');
  });

  it('export --format chrome and svg go to stdout', () => {
    const chrome = JSON.parse(lab('export', dir, '--format', 'chrome').stdout) as ChromeTrace;
    expect(chrome.traceEvents.filter((e) => e.ph === 'X').length).toBeGreaterThan(10);
    const svg = lab('export', dir, '--format', 'svg').stdout;
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('export --format otlp without --endpoint is a usage error', () => {
    const r = lab('export', dir, '--format', 'otlp');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/needs --endpoint/);
  });

  it('export reads a corrupt events line as a warning and still exports the rest', () => {
    const broken = join(tmp, 'broken');
    writeCaptureDir(broken, (SCENARIOS['users-two-queries'] as () => Parameters<typeof writeCaptureDir>[1])());
    writeFileSync(join(broken, 'events.jsonl'), readFileSync(join(broken, 'events.jsonl'), 'utf8') + '{"kind":\n');
    const r = lab('export', broken, '--format', 'text');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/warning: .*events\.jsonl/);
    expect(r.stdout).toContain(`Request ${IDS.users}`);
  });
});

describe('hostile capture content', { timeout: 60_000 }, () => {
  const hostile = join(tmp, 'hostile');
  const scenario = (SCENARIOS['users-two-queries'] as () => Parameters<typeof writeCaptureDir>[1])();
  // A request path with a screen-clearing escape, a NUL and a bidirectional override; 50,000 junk access-log lines.
  const events = scenario.events.map((e) => ('path' in e && e.kind === 1 ? { ...e, path: '/api/users\x1b[2J\x00\u202e' } : e));
  writeCaptureDir(hostile, { ...scenario, events });
  const junk = Array.from({ length: 50_000 }, (_, i) => `junk \x1b]0;title\x07 ${i}\n`).join('');
  writeFileSync(join(hostile, 'nginx-access.jsonl'), readFileSync(join(hostile, 'nginx-access.jsonl'), 'utf8') + junk);

  it.each([
    ['show', ['show', hostile, '--slowest', '1', '--waterfall']],
    ['export --format text', ['export', hostile, '--format', 'text']],
    ['analyze', ['analyze', hostile]],
    ['validate', ['validate', hostile]],
  ])('%s prints no control character from the capture, and five warnings of the 50,000 junk lines', (_name, args) => {
    const r = lab(...args);
    expect(r.status, r.stderr.slice(-500)).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f\u202e]/);
    expect(r.stderr.match(/nginx-access\.jsonl line \d+: not JSON/g)).toHaveLength(5);
    expect(r.stderr).toContain('… and 49,995 more like this (nginx-access.jsonl line #: not JSON)');
    expect(r.stderr).toContain('junk \\x1b]0;title\\x07 0');
  });

  it('show shows the hostile path with visible escapes', () => {
    expect(lab('show', hostile, '--slowest', '1').stdout).toContain('\\x1b[2J\\x00\\u202e');
  });
});

/**
 * The recording and alert rules in lab/prometheus/, checked by Debian's promtool (`check rules`,
 * and `test rules` on rules.test.yml), and the metric names they use checked against what
 * `lab trace --metrics-port` serves. Skipped only when promtool is missing outside CI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeIfPresent } from '../test/require-built.ts';
import { LiveMetrics } from './live-metrics.ts';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
const here = join(import.meta.dirname, '..', 'lab', 'prometheus');
const RULE_FILES = ['recording-rules.yml', 'alert-rules.yml'];

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(PROMTOOL as string, args, { cwd: here, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describeIfPresent(PROMTOOL !== undefined)('Prometheus rules (promtool)', () => {
  it('pass promtool check rules', () => {
    if (!PROMTOOL) throw new Error('promtool is not installed (scripts/setup.sh installs the prometheus package)');
    const r = promtool('check', 'rules', ...RULE_FILES);
    expect(r.out).toMatch(/SUCCESS: 5 rules found[\s\S]*SUCCESS: 4 rules found/);
    expect(r.status, r.out).toBe(0);
  });

  it('pass their unit tests: a regression at 90m alerts by 100m, a steady route never does', () => {
    if (!PROMTOOL) throw new Error('promtool is not installed (scripts/setup.sh installs the prometheus package)');
    const r = promtool('test', 'rules', 'rules.test.yml');
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });
});

describe('rule metric names', () => {
  it('every reqtrace_* metric a rule reads is one lab trace --metrics-port serves', () => {
    const served = new Set(new LiveMetrics().families().flatMap((f) => (f.type === 'histogram' ? [`${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`] : [f.name])));
    const used = new Set(RULE_FILES.flatMap((f) => [...readFileSync(join(here, f), 'utf8').matchAll(/(?<![:\w])reqtrace_[a-z_]+/g)].map((m) => m[0])));
    expect(used.size).toBeGreaterThan(4);
    expect([...used].filter((n) => !served.has(n))).toEqual([]);
  });
});

/**
 * build/probe-cost --stats-cost, as the overhead bench runs it: what bpf_stats adds to a hook run
 * is timed by switching kernel.bpf_stats_enabled on and off, and the sysctl is left as it was found,
 * on or off. Real BPF: fails, never skips, where BPF cannot load.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProbeCostJson } from '../lab/doctor/parse-doctor-inputs.ts';
import { buildProbes, PROBES_DIR } from '../test/run-loader.ts';

const PROBE_COST = join(PROBES_DIR, 'build/probe-cost');
const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
const stats = (): string => readFileSync(SYSCTL, 'utf8').trim();

let found: string;

beforeAll(() => {
  buildProbes();
  found = stats();
});

afterAll(() => {
  writeFileSync(SYSCTL, found);
});

describe('probe-cost --stats-cost', () => {
  for (const before of ['0', '1']) {
    it(`times bpf_stats' own cost per run and leaves the sysctl at ${before}`, () => {
      writeFileSync(SYSCTL, before);
      const r = spawnSync(PROBE_COST, ['-r', '5', '--stats-cost'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(stats()).toBe(before);
      const costs = parseProbeCostJson(r.stdout);
      if (typeof costs === 'string') throw new Error(`${costs}: ${r.stdout}`);
      expect(costs.tracepointStatsAddedNs).toBeDefined();
      expect(costs.usdtStatsAddedNs).toBeDefined();
      // Two clock reads and a per-CPU add: more than nothing, far less than a trap.
      expect(costs.tracepointStatsAddedNs!).toBeGreaterThan(0);
      expect(costs.usdtStatsAddedNs!).toBeLessThan(costs.nop5Ns);
      // With stats on while the hooks ran, the empty programs were timed; with them off, not.
      if (before === '1') expect(costs.tracepointStatsNs).toBeGreaterThan(0);
      else expect(costs.tracepointStatsNs).toBe(0);
    });
  }

  it('without --stats-cost leaves the sysctl alone and prints no stats cost', () => {
    writeFileSync(SYSCTL, '0');
    const r = spawnSync(PROBE_COST, ['-r', '3'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(stats()).toBe('0');
    expect(r.stdout).not.toContain('stats_added');
  });
});

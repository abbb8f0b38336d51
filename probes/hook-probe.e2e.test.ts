/**
 * build/hook-probe against what the machine says through other channels: the PMUs and tracefs
 * entries the kernel exposes, its BTF, and bpftrace's own feature probe. Real BPF: fails, never
 * skips, where BPF cannot load.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProbes, PROBES_DIR } from '../test/run-loader.ts';

const HOOK_PROBE = join(PROBES_DIR, 'build/hook-probe');
const KINDS = ['tracepoint', 'tp_btf', 'raw_tracepoint', 'uprobe', 'usdt', 'fentry', 'kprobe', 'iterator'] as const;

interface HookProbeJson {
  readonly root: boolean;
  readonly tracefs: string;
  readonly errors: Readonly<Record<string, string>>;
  readonly [kind: string]: unknown;
}

/** What the machine exposes, found without loading any BPF of ours. */
function independentFacts(): Record<'tracepoint' | 'tp_btf' | 'uprobe' | 'usdt' | 'fentry' | 'kprobe', boolean> {
  const info = spawnSync('bpftrace', ['--info'], { encoding: 'utf8', timeout: 30_000 });
  const kfunc = /^\s*kfunc:\s*(yes|no)\s*$/m.exec(`${info.stdout}${info.stderr}`)?.[1];
  if (!kfunc) throw new Error(`bpftrace --info did not say whether kfunc (fentry) works: ${info.stderr}`);
  const uprobePmu = existsSync('/sys/bus/event_source/devices/uprobe');
  return {
    tracepoint: existsSync('/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id'),
    tp_btf: existsSync('/sys/kernel/btf/vmlinux'),
    uprobe: uprobePmu,
    usdt: uprobePmu,
    fentry: kfunc === 'yes',
    // Without the kprobe PMU and kprobe_events there is nothing a kprobe could attach through.
    kprobe: existsSync('/sys/bus/event_source/devices/kprobe') || existsSync('/sys/kernel/tracing/kprobe_events'),
  };
}

let report: HookProbeJson;

beforeAll(() => {
  buildProbes();
  const out = execFileSync(HOOK_PROBE, ['--json'], { encoding: 'utf8', timeout: 60_000 });
  report = JSON.parse(out) as HookProbeJson;
});

describe('hook-probe --json', () => {
  it('names every kind with a boolean, and a reason for each one that does not work', () => {
    for (const kind of KINDS) {
      expect(typeof report[kind], kind).toBe('boolean');
      if (report[kind] === false) expect(report.errors[kind], kind).toMatch(/\S/);
      else expect(report.errors[kind], kind).toBeUndefined();
    }
    expect(report.root).toBe(process.getuid?.() === 0);
    expect(['present', 'mounted']).toContain(report.tracefs);
  });

  it('agrees with what the kernel exposes and with bpftrace', () => {
    const facts = independentFacts();
    for (const [kind, expected] of Object.entries(facts)) expect(report[kind], kind).toBe(expected);
  });

  it('explains fentry and kprobe failures with the errno and the step', () => {
    if (report.fentry === false) expect(report.errors.fentry).toMatch(/^E[A-Z]+ at (load|attach): /);
    if (report.kprobe === false) expect(report.errors.kprobe).toMatch(/^E[A-Z]+ at (load|attach): /);
  });

  it('prints a table by default and exits 0', () => {
    const r = spawnSync(HOOK_PROBE, [], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => KINDS.some((k) => l.startsWith(`${k} `)));
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual([...KINDS]);
    for (const row of rows) {
      const [kind, works] = row.split(/\s+/);
      expect(works, row).toBe(report[kind as string] ? 'yes' : 'no');
    }
  });

  it('rejects an unknown option', () => {
    const r = spawnSync(HOOK_PROBE, ['--bogus'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bogus/);
  });

  it('says so when not run as root, and still answers', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', HOOK_PROBE, '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/not running as root/);
    const unprivileged = JSON.parse(r.stdout) as HookProbeJson;
    expect(unprivileged.root).toBe(false);
    expect(unprivileged.tracepoint).toBe(false);
    expect(unprivileged.errors.tracepoint).toMatch(/EPERM|EACCES/);
  });
});

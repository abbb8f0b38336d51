/**
 * `lab bench inject --quick` against a real lab (nginx, the app with its USDT addon, PostgreSQL)
 * traced with the real loader: every layer runs its experiment or is skipped with its reason,
 * every injected request's time lands where it was injected (attribution accuracy 100%), the
 * results folder holds the report and the raw captures, and nothing the faults made is left
 * behind — also when the run is interrupted. Run as root. Under CI=true a missing loader build
 * fails instead of skipping.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { detectIoController } from '../lab/faults/io-throttle.ts';
import { removeStaleFaults } from '../lab/faults/stale-faults.ts';
import { appPid } from '../lab/lifecycle/app-tier.ts';
import { processEnv } from '../lab/lifecycle/processes.ts';
import { type CliRun, type RunningLab, runLabCli, startLab, testPortBase } from '../test/lab-fixture.ts';
import { describeBuilt, requireBuilt } from '../test/require-built.ts';
import { INJECT_LAYERS } from './inject-matrix.ts';
import { LOCKED_PRODUCT } from './inject-plan.ts';
import type { InjectReport } from './inject-report.ts';

const PORT_BASE = testPortBase(25300);
/** Layers that need nothing of the host beyond the lab itself: they must run everywhere. */
const ALWAYS: readonly string[] = ['app', 'event-loop', 'db', 'lock', 'file', 'pool'];

const out = mkdtempSync(join(tmpdir(), 'lab-inject-e2e-'));
const lastLine = (r: CliRun): string => r.stderr.trim().split('\n').at(-1) ?? '';

/** What the faults could leave behind, as lines (empty: nothing). */
function leftovers(): string[] {
  const found: string[] = [];
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  found.push(...netns.split('\n').filter((l) => l.startsWith('reqtrace-inj-')).map((l) => `netns ${l}`));
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  found.push(...[...links.matchAll(/^\d+: (rti\d+[hn])[@:]/gm)].map((m) => `veth ${m[1]}`));
  const rules = spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout ?? '';
  found.push(...rules.split('\n').filter((l) => /NFQUEUE/.test(l)).map((l) => `host rule ${l}`));
  for (const root of ['/sys/fs/cgroup/blkio', '/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (!existsSync(root)) continue;
    found.push(...readdirSync(root).filter((n) => n.startsWith('reqtrace-inj-')).map((n) => `cgroup ${join(root, n)}`));
  }
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  found.push(...ps.split('\n').filter((l) => /nfq-fault|pg-relay-main|readline'\)\.createInterface/.test(l)).map((l) => `process ${l.trim()}`));
  return found;
}

describeBuilt('lab bench inject --quick (BPF)', () => {
  let lab: RunningLab;
  let run: CliRun;
  let report: InjectReport;
  let staleNetns = '';
  const dir = join(out, 'results');

  beforeAll(async () => {
    requireBuilt();
    lab = await startLab({ portBase: PORT_BASE, stateDir: join(tmpdir(), `lab-inject-e2e-${PORT_BASE}`), usdt: 'native' });
    // A namespace a killed run left behind: named for a process that is gone.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    staleNetns = `reqtrace-inj-${gone}`;
    execFileSync('ip', ['netns', 'add', staleNetns]);
    run = await runLabCli(lab, ['bench', 'inject', '--quick', '--out', dir], { timeoutMs: 300_000 });
    report = JSON.parse(readFileSync(join(dir, 'inject.json'), 'utf8')) as InjectReport;
  }, 330_000);

  afterAll(async () => {
    spawnSync('ip', ['netns', 'del', staleNetns]);
    // A run killed at its timeout leaves what a killed run leaves: the next run's cleanup removes it.
    if (lab) await removeStaleFaults(lab.config, detectIoController());
    await lab?.stop();
    rmSync(out, { recursive: true, force: true });
    rmSync(join(tmpdir(), `lab-inject-e2e-${PORT_BASE}`), { recursive: true, force: true });
  });

  it('exits 0 with the results folder on stdout and the accuracy on its last stderr line', () => {
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(run.stdout.trim()).toBe(dir);
    expect(lastLine(run)).toMatch(/^lab bench inject: attribution accuracy (\d+)\/\1 \(100\.0%\); \d+ layer\(s\) skipped; \d+ s$/);
    expect(run.stderr).toContain(`removed network namespace ${staleNetns} left by a run that is gone`);
  });

  it('runs one experiment per layer, or says why a layer cannot run here', () => {
    const ran = report.experiments.map((e) => e.layer);
    const skipped = report.skipped.map((s) => s.layer);
    expect([...ran, ...skipped].sort()).toEqual([...INJECT_LAYERS].sort());
    for (const s of report.skipped) expect(s.reason.length, s.layer).toBeGreaterThan(10);
    for (const l of ALWAYS) expect(ran, l).toContain(l);
    for (const m of report.methods) expect(m.method.length).toBeGreaterThan(10);
  });

  it('puts every injected request’s time where it was injected: attribution accuracy 100%', () => {
    const failed = report.experiments.flatMap((e) => e.verdict.requests.filter((q) => !q.pass).map((q) => `${e.name} ${q.requestId.slice(0, 8)}: ${q.failures.join('; ')}`));
    expect(failed).toEqual([]);
    expect(report.accuracy.share).toBe(1);
    expect(report.accuracy.total).toBeGreaterThanOrEqual(2 * report.experiments.length);
    for (const e of report.experiments) {
      expect(e.verdict.controls.traced, e.name).toBe(e.verdict.controls.sent);
      expect(e.missing, e.name).toEqual([]);
    }
  });

  it('finds the injected amounts where they belong, as the experiments measure them', () => {
    const exp = (layer: string): InjectReport['experiments'][number] => report.experiments.find((e) => e.layer === layer) as InjectReport['experiments'][number];
    expect(exp('db').verdict.requests.every((q) => q.where.includes('DB query 1 (SELECT) › DB processing › execute') && q.measuredMs >= 95)).toBe(true);
    expect(exp('lock').verdict.requests.every((q) => q.where.some((w) => /^DB query \d \(UPDATE\) › .*lock wait$/.test(w)) && q.measuredMs >= 150 - 15)).toBe(true);
    const queued = exp('event-loop').verdict.requests.filter((q) => q.role === 'queued');
    expect(queued.length).toBe(2 * 3);
    expect(queued.every((q) => q.location === 'socket-wait-to-app' && q.measuredMs > 80)).toBe(true);
    const pool = exp('pool').verdict.requests;
    expect(pool.filter((q) => q.role === 'waiting').every((q) => q.measuredMs > 100)).toBe(true);
    expect(pool.filter((q) => q.role === 'first-wave').every((q) => Math.abs(q.measuredMs) < 10)).toBe(true);
    const loss = report.experiments.find((e) => e.layer === 'net-loss');
    if (loss) {
      for (const q of loss.verdict.requests) expect(q.retransmits, q.requestId).toBeGreaterThanOrEqual(1);
    }
  });

  it("lab analyze names the faults that its detectors are for, and validate's checks are in the report", () => {
    for (const layer of ['db', 'lock', 'event-loop']) {
      const e = report.experiments.find((x) => x.layer === layer) as InjectReport['experiments'][number];
      expect(e.summary.detectorsOk, `${layer}: ${JSON.stringify(e.verdict.requests.map((q) => q.detector))}`).toBe(e.summary.total);
    }
    const loss = report.experiments.find((e) => e.layer === 'net-loss');
    if (loss) expect(loss.verdict.requests.every((q) => q.detector.fired.includes('tcp-retransmit'))).toBe(true);
    for (const e of report.experiments) {
      const names = e.validation.map((c) => c.name);
      expect(names, e.name).toContain('root span not longer than the client saw');
      expect(names, e.name).toContain('root span vs nginx request_time');
    }
  });

  it('keeps the raw captures, readable by lab validate, and writes the Markdown and the chart', async () => {
    for (const e of [{ capture: report.baseline.capture }, ...report.experiments]) {
      for (const f of ['meta.json', 'events.bin', 'nginx-access.jsonl', 'pg-stat-statements.json']) expect(existsSync(join(dir, e.capture, f)), `${e.capture}/${f}`).toBe(true);
    }
    const db = report.experiments.find((e) => e.layer === 'db') as InjectReport['experiments'][number];
    const v = await runLabCli(lab, ['validate', join(dir, db.capture), '--json'], { timeoutMs: 60_000 });
    expect(v.code).toBe(0);
    expect((JSON.parse(v.stdout) as { traces: number }).traces).toBeGreaterThanOrEqual(8);
    const md = readFileSync(join(dir, 'inject.md'), 'utf8');
    expect(md).toMatch(/\*\*Attribution accuracy: (\d+) of \1 injected requests \(100%\)\*\*/);
    for (const e of report.experiments) expect(md).toContain(`| ${e.name} | `);
    const svg = readFileSync(join(dir, 'inject.svg'), 'utf8');
    expect(svg.match(/<circle /g)?.length).toBe(report.accuracy.total);
  });

  it('keeps client identifiers and SQL values out of what it writes', () => {
    const json = readFileSync(join(dir, 'inject.json'), 'utf8');
    expect(json).not.toMatch(/request_id='|traceparent|password/i);
    expect(json).not.toMatch(/"user_id"|"product_id"/);
    // Statements appear only as lab validate shows them: normalized, parameters as $n.
    expect(json).not.toMatch(new RegExp(`WHERE id = ${LOCKED_PRODUCT}\\b|'[^']*@[^']*'`));
  });

  it('leaves nothing behind, and the app as it was', () => {
    expect(leftovers()).toEqual([]);
    const pid = appPid(lab.config) as number;
    expect(pid).not.toBeNull();
    expect([processEnv(pid, 'LAB_PG_HOST'), processEnv(pid, 'LAB_PG_POOL'), processEnv(pid, 'LAB_INJECT_OWNER')]).toEqual([null, null, null]);
  });

  it('refuses bad input in one line, with status 2', async () => {
    for (const [args, msg] of [
      [['--only', 'network'], /^lab bench inject: --only: unknown layer 'network' \(layers: app, event-loop,/],
      [['--rounds', '3'], /^lab bench inject: --rounds is an option of lab bench overhead$/],
      [['--repeats', '0'], /^lab: --repeats must be between 1 and 50, got 0$/],
    ] as const) {
      const r = await runLabCli(lab, ['bench', 'inject', ...args], { timeoutMs: 30_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(msg);
    }
  });

  it('slows the disk by a preloaded fsync delay where no cgroup is used, and restarts PostgreSQL without it after', async () => {
    const preloaded = join(out, 'preload');
    const r = await runLabCli(lab, ['bench', 'inject', '--quick', '--only', 'disk', '--disk-method', 'preload', '--repeats', '1', '--out', preloaded], { timeoutMs: 150_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const rep = JSON.parse(readFileSync(join(preloaded, 'inject.json'), 'utf8')) as InjectReport;
    expect(rep.methods).toEqual([{ layer: 'disk', method: 'PostgreSQL restarted with fsync-delay.so preloaded: each fsync waits 1000/IOPS ms more' }]);
    const [commit] = rep.experiments[0]?.verdict.requests ?? [];
    // 10 IOPS: each flush waits 100 ms more, and the COMMIT with it, as PostgreSQL logged it.
    expect(commit).toMatchObject({ location: 'commit', basis: 'pg-log', pass: true });
    expect(commit?.measuredMs).toBeGreaterThanOrEqual(100);
    expect(r.stderr).toContain('postgres: restarting without fsync-delay.so');
    const pgPid = Number(readFileSync(join(lab.config.stateDir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect([processEnv(pgPid, 'LD_PRELOAD'), processEnv(pgPid, 'LAB_INJECT_OWNER')]).toEqual([null, null]);
    expect(leftovers()).toEqual([]);
  }, 170_000);

  it('interrupted (Ctrl-C) in the middle of a network fault: undoes everything, writes what it has, exits 130', async () => {
    const partial = join(out, 'interrupted');
    let child: ChildProcess | null = null;
    let sent = false;
    const r = await runLabCli(lab, ['bench', 'inject', '--quick', '--only', 'net-delay,pool', '--out', partial], {
      timeoutMs: 150_000,
      processGroup: true,
      onSpawn: (c) => {
        child = c;
      },
      onStderr: (text) => {
        // The app runs through the namespace and the trace has started: the link is in use.
        const pid = (child as ChildProcess | null)?.pid;
        if (!sent && pid !== undefined && /net-delay 25ms: every[\s\S]*tracing the traffic sent/.test(text)) {
          sent = true;
          setTimeout(() => process.kill(-pid, 'SIGINT'), 800);
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr.slice(-2000)).toBe(130);
    expect(r.stderr).toContain('SIGINT: finishing the current experiment');
    expect(r.stderr).toContain('app: restarting with its own settings');
    const partialReport = JSON.parse(readFileSync(join(partial, 'inject.json'), 'utf8')) as InjectReport;
    expect(partialReport.experiments.map((e) => e.layer)).not.toContain('pool');
    expect(partialReport.warnings).toContain('interrupted by a signal: fewer experiments than asked for');
    expect(partialReport.cleanupFailures).toEqual([]);
    expect(leftovers()).toEqual([]);
    const pid = appPid(lab.config) as number;
    expect(processEnv(pid, 'LAB_PG_HOST')).toBeNull();
    const health = await fetch(lab.url('/api/users'), { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(200);
  }, 170_000);
});

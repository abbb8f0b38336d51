/**
 * `lab bench inject`: a traced baseline of normal requests, then each experiment of the matrix
 * in a capture of its own — normal requests, the injected ones with the fault on, normal
 * requests again — judged by where its traces put the injected time (bench/inject-verdict.ts),
 * by `lab analyze` against the baseline and by `lab validate`. Writes inject.json, inject.md and
 * inject.svg into the results folder, the captures under captures/; progress goes to `say`.
 *
 * The app is restarted when an experiment needs other settings (PostgreSQL through the run's
 * network namespace, a small pool) and restored at the end; every fault is undone as its phase
 * ends, and whatever is still made when the run stops (a signal, an error) is undone by the
 * cleanup stack the caller holds.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, release } from 'node:os';
import { join, relative } from 'node:path';
import { analyzeCapture } from '../analysis/analyze-capture.ts';
import { buildBaseline, type Baseline } from '../analysis/build-baseline.ts';
import { DEFAULT_THRESHOLDS } from '../analysis/thresholds.ts';
import { loadTraces } from '../assembler/load-traces.ts';
import { appBackend } from '../tracer/app-backend.ts';
import { recordCapture, traceProgress, type RecordOutcome } from '../tracer/record-capture.ts';
import { recordOptions, type RecordOptions } from '../tracer/record-options.ts';
import { validateCapture } from '../assembler/validate-capture.ts';
import type { LabConfig } from '../lab/config.ts';
import { pgPaths } from '../lab/db/postgres-cluster.ts';
import { readAppSettings, restartApp, type AppSettings } from '../lab/faults/app-settings.ts';
import { POOL_SIZE } from '../lab/app/server-env.ts';
import type { CleanupStack } from '../lab/faults/cleanup-stack.ts';
import { restartPostgresWithFsyncDelay, type PreloadedFsyncDelay } from '../lab/faults/fsync-delay.ts';
import { detectIoController } from '../lab/faults/io-throttle.ts';
import { createNetnsLink, deleteNetnsLink, netnsLinkFor, type NetnsLink } from '../lab/faults/netns-link.ts';
import { startPgRelay } from '../lab/faults/pg-relay.ts';
import { removeStaleFaults } from '../lab/faults/stale-faults.ts';
import { labStatus } from '../lab/lifecycle/lab-status.ts';
import { isAlive } from '../lab/lifecycle/processes.ts';
import { markFile, readAppendedLines } from '../tracer/snapshots.ts';
import { prepareCaptureDir, writeJsonLines } from '../tracer/write-capture.ts';
import { CAPTURE_FILES } from '../tracer/read-capture.ts';
import { openBenchLab } from './bench-lab.ts';
import { driveExperiment, type Driven } from './drive-inject-experiment.ts';
import { renderInjectSvg } from './inject-chart.ts';
import { probeHostFacts } from './inject-host-facts.ts';
import { describeInjection, type Experiment, type InjectLayer } from './inject-matrix.ts';
import { chooseMethods, type DiskMethod, type HostFacts, type LayerMethod } from './inject-methods.ts';
import { planExperiment } from './inject-plan.ts';
import { parsePgDurations } from './pg-log-durations.ts';
import { renderInjectMarkdown, summaryLine, type InjectExperimentResult, type InjectReport } from './inject-report.ts';
import { clientObservation, sendUnplanned } from './inject-traffic.ts';
import { attributionAccuracy, judgeExperiment, summarizeVerdict, type ExperimentVerdict } from './inject-verdict.ts';

export interface InjectBenchOptions {
  readonly experiments: readonly Experiment[];
  readonly quick: boolean;
  readonly repeats: number;
  readonly layers: readonly InjectLayer[];
  readonly diskMethod: DiskMethod;
  readonly outDir: string;
  /** Normal requests traced for the detectors' baseline. */
  readonly baselineRequests: number;
  readonly cleanup: CleanupStack;
  /** Set by a signal handler: finish the current experiment, then stop. */
  readonly interrupted: () => boolean;
}

export interface InjectBenchResult {
  readonly report: InjectReport;
  /** Every selected experiment ran (none was cut short or failed to trace). */
  readonly complete: boolean;
}

/** Findings on normal requests that cost at least this much count as false alarms, ms. */
export const SIGNIFICANT_MS = 20;
/** Longest a fault's helper process may live, s (each one ends itself then). */
const HELPER_SECONDS = 1800;
/** The baseline's load: about as concurrent as the experiments' own traffic. */
const BASELINE_CONNECTIONS = 2;
/** Bound on one experiment's trace, s: the loader stops itself after it. */
const EXPERIMENT_TRACE_S = 600;

const slug = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const sameSettings = (a: AppSettings, b: AppSettings): boolean => a.LAB_PG_HOST === b.LAB_PG_HOST && a.LAB_PG_POOL === b.LAB_PG_POOL;

/** Where injected time lands inside PostgreSQL (execute, lock wait) is read off its phases: the
 * experiments trace them, whatever they cost (the postgres family is opt-in in `lab trace`). */
const PG_PHASES = '+postgres';

function traceOpts(extra: Readonly<Record<string, string | number | boolean>>, traffic?: () => Promise<void>): RecordOptions {
  const o = recordOptions(extra);
  if (typeof o === 'string') throw new Error(o);
  return traffic ? { ...o, traffic } : o;
}

/** Traces into `dir` on the lab as it runs now (its app may have been restarted since the last trace). */
async function trace(cfg: LabConfig, dir: string, opts: RecordOptions): Promise<RecordOutcome> {
  const status = labStatus(cfg, () => null);
  if (status.app.pid === null || status.postgres.pid === null || status.proxy.pid === null) throw new Error('the lab is not running (a tier stopped)');
  const backend = appBackend(status.app.pid, cfg);
  if (backend.kind !== 'native') throw new Error(`the app's probes are '${backend.kind}', not the native USDT addon`);
  const outcome = await recordCapture(prepareCaptureDir(dir), cfg, status, backend, opts, null, traceProgress);
  if (!outcome.started) throw new Error(outcome.summary.replace(/^lab trace: /, ''));
  return outcome;
}

/**
 * After the app restarted: many requests at once through the proxy, so nginx drops the upstream
 * connections the old app closed; then as many DB requests at once as the pool holds, so every
 * pool connection is open (opening one — TCP and SCRAM — would otherwise look like a wait).
 */
async function warmRestartedApp(baseUrl: URL, poolSize: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    await Promise.all(Array.from({ length: 24 }, () => sendUnplanned(baseUrl, '/healthz', agent)));
    await Promise.all(Array.from({ length: poolSize }, () => sendUnplanned(baseUrl, '/api/users?db_delay_ms=50', agent)));
  } finally {
    agent.destroy();
  }
}

export async function runInjectBench(opts: InjectBenchOptions, say: (line: string) => void): Promise<InjectBenchResult> {
  const started = Date.now();
  const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const warnings: string[] = [];
  const nonce = Math.floor(Math.random() * 2 ** 32).toString(16);
  const capturesDir = join(opts.outDir, 'captures');
  if (existsSync(capturesDir)) {
    say(`replacing the captures of the previous run in ${capturesDir}`);
    rmSync(capturesDir, { recursive: true, force: true });
  }
  mkdirSync(capturesDir, { recursive: true });

  const lab = await openBenchLab(say);
  opts.cleanup.push('the lab (down only if this run brought it up)', () => lab.close());
  const cfg = lab.cfg;
  const baseUrl = new URL(lab.url);
  for (const line of await removeStaleFaults(cfg, detectIoController())) say(line);

  const original = readAppSettings(labStatus(cfg, () => null).app.pid as number);
  if (original.owner !== null && original.owner !== process.pid && isAlive(original.owner)) {
    throw new Error(`another lab bench inject (pid ${original.owner}) is changing this lab's app: wait for it, or use another LAB_PORT_BASE`);
  }
  const layers = [...new Set(opts.experiments.map((e) => e.injection.layer))];
  const facts: HostFacts = probeHostFacts(cfg, { pgUsdt: lab.status.postgres.usdt !== false, tryNet: layers.some((l) => l.startsWith('net-')) });
  const methods = new Map(chooseMethods(facts, layers, opts.diskMethod).map((m) => [m.layer, m]));
  for (const m of methods.values()) say('skip' in m ? `${m.layer}: skipped: ${m.skip}` : `${m.layer}: ${m.method}`);

  say(`baseline: ${opts.baselineRequests} normal requests (default mix)`);
  const baselineDir = join(opts.outDir, 'captures', '00-baseline');
  await trace(cfg, baselineDir, traceOpts({ requests: opts.baselineRequests, connections: BASELINE_CONNECTIONS, mix: 'default', families: PG_PHASES }));
  const baselineTraces = (await loadTraces(baselineDir, () => {})).assembled.traces;
  const baseline: Baseline = buildBaseline(baselineTraces, baselineDir);

  let current: AppSettings = original.settings;
  let link: NetnsLink | null = null;
  const settingsFor = async (e: Experiment): Promise<AppSettings> => {
    const i = e.injection;
    if (i.layer === 'pool') return { ...original.settings, LAB_PG_POOL: String(i.poolSize) };
    if (i.layer !== 'net-delay' && i.layer !== 'net-loss') return original.settings;
    if (!link) {
      const made = netnsLinkFor(process.pid);
      createNetnsLink(made);
      opts.cleanup.push(`network namespace ${made.netns}`, () => deleteNetnsLink(made));
      const relay = await startPgRelay(cfg, made, HELPER_SECONDS);
      opts.cleanup.push(`PostgreSQL relay in ${made.netns}`, async () => void (await relay.stop()));
      say(`network: PostgreSQL reached through ${made.netns} (${made.hostAddr} → ${made.nsAddr}:${cfg.pgPort}, relay pid ${relay.pid})`);
      link = made;
    }
    return { ...original.settings, LAB_PG_HOST: link.nsAddr };
  };
  let fsyncDelay: PreloadedFsyncDelay | null = null;
  let restorePostgres: (() => Promise<void>) | null = null;
  /** PostgreSQL with the fsync delay preloaded for the preload disk method, as it was otherwise. */
  const applyPostgres = async (preload: boolean): Promise<void> => {
    if (preload && !fsyncDelay) {
      say('postgres: restarting with fsync-delay.so preloaded');
      const made = await restartPostgresWithFsyncDelay(cfg, process.pid);
      fsyncDelay = made;
      restorePostgres = opts.cleanup.push('PostgreSQL without the fsync delay', async () => {
        say('postgres: restarting without fsync-delay.so');
        await made.restore();
        fsyncDelay = null;
        await warmRestartedApp(baseUrl, Number(current.LAB_PG_POOL ?? POOL_SIZE.default));
      });
      await warmRestartedApp(baseUrl, Number(current.LAB_PG_POOL ?? POOL_SIZE.default));
    } else if (!preload && restorePostgres) {
      await restorePostgres();
      restorePostgres = null;
    }
  };
  let restoreApp: (() => Promise<void>) | null = null;
  const applySettings = async (wanted: AppSettings): Promise<void> => {
    if (sameSettings(wanted, current)) return;
    const changed = !sameSettings(wanted, original.settings);
    say(`app: restarting with ${Object.entries(wanted).map(([k, v]) => `${k}=${v}`).join(' ') || 'its own settings'}`);
    await restartApp(cfg, wanted, changed ? process.pid : null);
    current = wanted;
    await warmRestartedApp(baseUrl, Number(wanted.LAB_PG_POOL ?? POOL_SIZE.default));
    if (changed && !restoreApp) {
      restoreApp = opts.cleanup.push("the app's own settings", async () => {
        if (sameSettings(current, original.settings)) return;
        say('app: restarting with its own settings');
        await restartApp(cfg, original.settings, null);
        current = original.settings;
      });
    }
  };

  const results: InjectExperimentResult[] = [];
  const skipped: { layer: InjectLayer; reason: string }[] = [];
  const ran: { layer: InjectLayer; method: string }[] = [];
  let complete = true;
  let index = 0;
  for (const e of opts.experiments) {
    const m = methods.get(e.injection.layer) as LayerMethod;
    if ('skip' in m) {
      if (!skipped.some((s) => s.layer === m.layer)) skipped.push({ layer: m.layer, reason: m.skip });
      continue;
    }
    if (opts.interrupted()) {
      complete = false;
      break;
    }
    if (!ran.some((r) => r.layer === m.layer)) ran.push({ layer: m.layer, method: m.method });
    index++;
    const t0 = Date.now();
    say(`${e.name}: ${describeInjection(e.injection)}`);
    try {
      await applySettings(await settingsFor(e));
      await applyPostgres(e.injection.layer === 'disk' && m.disk === 'preload');
      const status = labStatus(cfg, () => null);
      const dir = join(opts.outDir, 'captures', `${String(index).padStart(2, '0')}-${slug(e.name)}`);
      const plan = planExperiment(e, nonce);
      const pgLog = markFile(pgPaths(cfg).log);
      let driven: Driven | null = null;
      let sending: Promise<void> = Promise.resolve();
      const ctx = {
        cfg,
        baseUrl,
        appPid: status.app.pid as number,
        pgPid: status.postgres.pid as number,
        facts,
        method: m,
        link,
        fsyncDelay,
        cleanup: opts.cleanup,
        helperSeconds: HELPER_SECONDS,
        stop: opts.interrupted,
      };
      const outcome = await trace(
        cfg,
        dir,
        traceOpts({ 'no-load': true, duration: EXPERIMENT_TRACE_S, families: e.injection.layer === 'file' ? `${PG_PHASES},files` : PG_PHASES }, () => {
          sending = driveExperiment(e, plan, ctx).then((d) => {
            driven = d;
          });
          return sending;
        }),
      );
      // A signal ends the trace at once; the traffic stops at its next request and undoes its fault.
      await sending.catch(() => {});
      const d = driven as Driven | null;
      if (!d) throw new Error(`no traffic was sent (${outcome.completeness.missing.map((g) => g.message).join('; ') || 'interrupted'})`);
      writeJsonLines(join(dir, CAPTURE_FILES.client), d.sent.map(clientObservation));
      const { capture, assembled } = await loadTraces(dir, () => {});
      const findings = analyzeCapture(assembled.traces, baseline, DEFAULT_THRESHOLDS, { baselineIsSelf: false }).findings;
      const verdict: ExperimentVerdict = judgeExperiment({
        sent: d.sent,
        traces: new Map(assembled.traces.map((t) => [t.traceId, t])),
        findings,
        significantMs: SIGNIFICANT_MS,
        pgDurations: parsePgDurations(readAppendedLines(pgLog).text),
      });
      const summary = summarizeVerdict(verdict);
      results.push({
        name: e.name,
        layer: e.injection.layer,
        injected: describeInjection(e.injection),
        method: m.method,
        capture: relative(opts.outDir, dir),
        missing: outcome.completeness.missing.map((g) => g.message),
        durationS: (Date.now() - t0) / 1000,
        summary,
        verdict,
        validation: await validateCapture(dir, capture, assembled.traces),
        faultNotes:
          e.injection.layer === 'net-loss'
            ? [...d.faultNotes, `the injected requests' traces show ${verdict.requests.reduce((n, q) => n + q.retransmits, 0)} TCP retransmit(s)`]
            : d.faultNotes,
      });
      say(summaryLine(e.name, summary));
      for (const q of verdict.requests.filter((x) => !x.pass)) say(`  ${q.requestId.slice(0, 8)} ${q.role}: ${q.failures.join('; ')}`);
      if (outcome.interrupted) complete = false;
    } catch (err) {
      complete = false;
      warnings.push(`${e.name}: ${(err as Error).message.split('\n')[0]}`);
      say(`${e.name}: failed: ${warnings.at(-1)}`);
    }
  }
  if (restorePostgres) await (restorePostgres as () => Promise<void>)();
  if (restoreApp) await (restoreApp as () => Promise<void>)();
  if (opts.interrupted()) warnings.push('interrupted by a signal: fewer experiments than asked for');

  const verdicts = results.map((r) => r.verdict);
  const report: InjectReport = {
    measuredAt: new Date().toISOString(),
    settings: { quick: opts.quick, repeats: opts.repeats, layers: opts.layers },
    machine: { cpus: cpus().length, kernel: release(), node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    methods: ran,
    skipped,
    baseline: { capture: relative(opts.outDir, baselineDir), requests: baselineTraces.length },
    experiments: results,
    accuracy: attributionAccuracy(verdicts),
    detectors: { ok: verdicts.flatMap((v) => v.requests).filter((q) => q.detector.ok).length, total: verdicts.flatMap((v) => v.requests).length },
    falseAlarms: { requests: verdicts.reduce((n, v) => n + new Set(v.falseAlarms.map((f) => f.requestId)).size, 0), normalRequests: verdicts.reduce((n, v) => n + v.controls.sent, 0), significantMs: SIGNIFICANT_MS },
    durationS: (Date.now() - started) / 1000,
    cleanupFailures: [],
    warnings,
  };
  return { report, complete };
}

/** Writes inject.json, inject.md and inject.svg; returns their paths. */
export function writeInjectResults(outDir: string, report: InjectReport): string[] {
  const files = [join(outDir, 'inject.json'), join(outDir, 'inject.md'), join(outDir, 'inject.svg')];
  writeFileSync(files[0] as string, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(files[1] as string, renderInjectMarkdown(report));
  writeFileSync(files[2] as string, renderInjectSvg(report));
  return files;
}

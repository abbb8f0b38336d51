/**
 * Recording a capture, as a library: `lab trace`, `lab bench` and the tests call it. It starts
 * the loader (or follows the app's probe file), runs the load, and writes the capture directory.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { clearProbeSampling, waitProbeSamplingSeen, writeProbeSampling } from '../lab/app/probe-sampling.ts';
import type { LabConfig } from '../lab/config.ts';
import { pgAdminConnectionConfig } from '../lab/db/postgres-cluster.ts';
import { measureHookCosts } from '../lab/doctor/collect-doctor-report.ts';
import type { LabStatus } from '../lab/lifecycle/lab-status.ts';
import { isAlive } from '../lab/lifecycle/processes.ts';
import { labPaths } from '../lab/lifecycle/state-paths.ts';
import { formatLoadFailures, loadFailures } from '../lab/load/load-failures.ts';
import { runLoad, type LoadSummary } from '../lab/load/run-load.ts';
import type { AppBackend } from './app-backend.ts';
import { CAPTURE_VERSION, type CaptureCompleteness, type CaptureLoad, type CaptureMeta, type LoaderReport, type Tier } from '../shared/capture-types.ts';
import { captureCompleteness, unfinishedCompleteness, type CompletenessFacts, type LoaderEnd } from './capture-completeness.ts';
import { captureAccessEntry, KEPT_QUERY_PARAMETERS, reduceQuery } from './capture-privacy.ts';
import { clockToMeta, sampleClock } from './clock.ts';
import { startMachineSampling } from './machine-sample.ts';
import { captureCoverage } from './capture-coverage.ts';
import { EventKind } from '../shared/event-types.ts';
import { CAPTURE_FILES, readCapture } from './read-capture.ts';
import type { RecordOptions } from './record-options.ts';
import { accessLogSince, markFile, readAppendedLines, resetPgStatStatements, snapshotPgStatStatements, snapshotSs, type FileMark } from './snapshots.ts';
import { terminalSafe } from './terminal-safe.ts';
import { LoaderError, spawnLoader, type LoaderHandle } from './spawn-loader.ts';
import { loaderArgs } from './loader-args.ts';
import { formatCaptureSummary, UNFINISHED, writeFileAtomic, writeJsonLines, writeMeta } from './write-capture.ts';

/** Progress of a recording on stderr, as `lab trace` prints it. */
export function traceProgress(line: string): void {
  process.stderr.write(`lab trace: ${terminalSafe(line)}\n`);
}

/** Time for the last events to leave ring buffers, the app's file buffer and the access log. */
const SETTLE_MS = 300;

/** Live metrics of a recording (`lab trace --metrics-port`): told what to follow, and the loader's losses at its end. */
export interface RecordingObserver {
  follow(targets: {
    readonly eventsPath: string;
    readonly accessLogPath: string;
    readonly accessOffset: number;
    readonly loaderPid: number | null;
    readonly pids: Partial<Record<Tier, number[]>>;
  }): void;
  loaderReported(drops: Readonly<Record<string, number>>): void;
}

export interface RecordOutcome {
  /** False when tracing never started (nothing was captured). */
  readonly started: boolean;
  readonly completeness: CaptureCompleteness;
  readonly interrupted: boolean;
  readonly summary: string;
  /** `--json` output. */
  readonly json: Readonly<Record<string, unknown>>;
}

/**
 * Traces into `dir` (new and empty) until the load, the duration or `opts.traffic` ends, or a
 * signal; writes the capture. Progress lines go to `say`.
 */
export async function recordCapture(
  dir: string,
  cfg: LabConfig,
  status: LabStatus,
  backend: Extract<AppBackend, { kind: 'native' | 'file' }>,
  opts: RecordOptions,
  metrics: RecordingObserver | null,
  say: (line: string) => void,
): Promise<RecordOutcome> {
  const warnings: string[] = [];
  if (status.postgres.usdt === false) {
    warnings.push('this PostgreSQL server has no USDT probes (embedded): no parse/plan/execute spans inside the database');
  }
  const paths = labPaths(cfg);
  const proxyKind = status.proxy.kind ?? 'nginx';
  const nginxPids = proxyKind === 'nginx' && status.proxy.pid !== null ? [status.proxy.pid, ...status.proxy.workers] : [];
  const pids: Partial<Record<Tier, number[]>> = {
    app: [status.app.pid as number],
    postgres: [status.postgres.pid as number],
    ...(proxyKind === 'nginx' ? { nginx: nginxPids } : {}),
  };
  const load: CaptureLoad | null = opts.noLoad
    ? null
    : {
        ...(opts.requests !== undefined ? { requests: opts.requests } : {}),
        ...(opts.durationS !== undefined ? { durationS: opts.durationS } : {}),
        connections: opts.connections,
        mix: opts.mix,
        ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
      };
  const clock = sampleClock();
  const createdAt = new Date().toISOString();
  const baseMeta = (): Omit<CaptureMeta, 'hooks' | 'drops' | 'source'> => ({
    version: CAPTURE_VERSION,
    createdAt,
    kernel: release(),
    clock: clockToMeta(clock),
    pids,
    ports: { proxy: cfg.proxyPort, app: cfg.appPort, postgres: cfg.pgPort },
    sample: opts.sample,
    ...(opts.keepSlowerThanMs !== undefined ? { keepSlowerThanMs: opts.keepSlowerThanMs } : {}),
    ...(opts.cpuBudgetPct !== undefined ? { cpuBudgetPct: opts.cpuBudgetPct } : {}),
    proxy: proxyKind,
    load,
  });
  const source = backend.kind === 'native' ? 'bpf' : 'app-file';
  writeMeta(dir, { ...baseMeta(), source, hooks: {}, drops: {}, completeness: unfinishedCompleteness(UNFINISHED) });

  // From here on a signal finishes the capture instead of ending the process: the first one
  // stops the trace and writes everything; the second also kills the loader (spawn-loader.ts)
  // and skips the snapshots; the third exits at once, leaving meta.json marked unfinished.
  let signals = 0;
  let interruptedBy: NodeJS.Signals | null = null;
  let onInterrupt: () => void = () => {};
  const interruption = new Promise<'interrupted'>((resolve) => {
    onInterrupt = () => resolve('interrupted');
  });
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    const again = sig === 'SIGINT' ? 'Ctrl-C' : sig;
    if (signals === 1) {
      interruptedBy = sig;
      say(`${sig}: finishing the capture (stopping the loader, writing the logs, snapshots and meta.json); ${again} again to skip the snapshots`);
      onInterrupt();
    } else if (signals === 2) {
      say(`${sig} again: killing the loader and skipping the snapshots; the capture will say what it lacks (${again} once more exits at once)`);
    } else {
      say(`${sig} a third time: exiting now; ${join(dir, CAPTURE_FILES.meta)} says the capture did not finish`);
      process.exit(130);
    }
  };
  for (const sig of FINISHING_SIGNALS) process.on(sig, onSignal);
  try {
    return await traceWhileSignalled(dir, cfg, status, backend, opts, {
      warnings,
      paths,
      nginxPids,
      baseMeta,
      source,
      interruption,
      interruptedBy: () => interruptedBy,
      hurried: () => signals >= 2,
      metrics,
      pids,
      say,
    });
  } finally {
    for (const sig of FINISHING_SIGNALS) process.off(sig, onSignal);
  }
}

/** The signals after which `lab trace` finishes its capture before it exits. */
const FINISHING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

interface TraceContext {
  readonly warnings: string[];
  readonly paths: ReturnType<typeof labPaths>;
  readonly nginxPids: readonly number[];
  readonly baseMeta: () => Omit<CaptureMeta, 'hooks' | 'drops' | 'source'>;
  readonly source: CaptureMeta['source'];
  readonly interruption: Promise<'interrupted'>;
  readonly interruptedBy: () => NodeJS.Signals | null;
  /** A second signal came: skip what can be skipped. */
  readonly hurried: () => boolean;
  /** Live Prometheus metrics (--metrics-port), or null. */
  readonly metrics: RecordingObserver | null;
  readonly pids: Partial<Record<Tier, number[]>>;
  readonly say: (line: string) => void;
}

async function traceWhileSignalled(
  dir: string,
  cfg: LabConfig,
  status: LabStatus,
  backend: Extract<AppBackend, { kind: 'native' | 'file' }>,
  opts: RecordOptions,
  t: TraceContext,
): Promise<RecordOutcome> {
  const { warnings, paths, nginxPids, baseMeta, source, interruption, metrics, pids, say } = t;
  let pgssReset = true;
  try {
    await resetPgStatStatements(pgAdminConnectionConfig(cfg));
  } catch (err) {
    pgssReset = false;
    warnings.push(`pg_stat_statements could not be reset (${(err as Error).message}): its counts include earlier statements`);
  }
  const accessMark = markFile(paths.accessLog);
  // The clients' X-Request-IDs are hashed under this key, kept in memory only.
  const privacyKey = randomBytes(32);
  let queryParametersDropped = 0;
  const recordPath = (path: string): string => {
    const r = reduceQuery(path);
    queryParametersDropped += r.dropped;
    return r.uri;
  };

  // Tracing starts here.
  let loader: LoaderHandle | null = null;
  /** Set when the trace asks the loader to stop, so its exit is not news. */
  let stopping = false;
  let appFileMark: FileMark | null = null;
  let hooks: Record<string, string>;
  const maxSeconds = (opts.durationS ?? 0) + (opts.requests ?? 0) / 50 + 120;
  if (backend.kind === 'native') {
    // The guard prices each probe hit: what a trap costs differs by machine tenfold.
    let hookNs: { nop1: number; nop5: number } | undefined;
    if (opts.cpuBudgetPct !== undefined) {
      say('measuring what a probe hit costs here, for the budget (probe-cost)');
      const costs = await measureHookCosts(5);
      if ('error' in costs) say(`could not measure it (${costs.error}): the budget prices traps with estimates`);
      else hookNs = { nop1: costs.nop1Ns, nop5: costs.nop5Ns };
    }
    try {
      loader = spawnLoader({
        args: loaderArgs({
          appPid: status.app.pid as number,
          addonPath: backend.addonPath,
          nginxPids,
          pgPid: status.postgres.pid,
          sample: opts.sample,
          maxSeconds,
          ...(opts.families ? { families: opts.families } : {}),
          ...(opts.extraFamilies ? { extraFamilies: opts.extraFamilies } : {}),
          pgDetail: opts.pgDetail,
          arrivals: opts.arrivals,
          ...(opts.keepSlowerThanMs !== undefined ? { keepSlowerThanMs: opts.keepSlowerThanMs } : {}),
          ...(opts.cpuBudgetPct !== undefined ? { cpuBudgetPct: opts.cpuBudgetPct } : {}),
          ...(hookNs ? { hookNs } : {}),
          socketHooks: opts.socketHooks,
          ...(opts.slowSyscallMs !== undefined ? { slowSyscallMs: opts.slowSyscallMs } : {}),
        }),
        eventsPath: join(dir, CAPTURE_FILES.events),
        logPath: join(dir, CAPTURE_FILES.loaderLog),
        onShed: (s) => say(`tracing cost ${s.totalPct.toFixed(2)}% of the lab's CPU, over the ${s.budgetPct}% budget: shed the ${s.family} family (${s.familyPct.toFixed(2)}%)`),
      });
      hooks = { ...(await loader.attached) };
      // The app stops firing its probes for requests outside the sample (lab/app/probe-sampling.ts).
      if (opts.sample < 1) {
        const rate = { sample: opts.sample, followAll: opts.keepSlowerThanMs !== undefined, loaderPid: loader.pid };
        writeProbeSampling(cfg.stateDir, rate);
        if (!(await waitProbeSamplingSeen(cfg.stateDir, rate))) {
          say('warning: the app has not confirmed the sampling rate; until it does, requests outside the sample fire its probes (and cost what traced ones do)');
        }
      }
    } catch (err) {
      if (err instanceof LoaderError) {
        const hint =
          err.code === 'missing' || err.code === 'unprivileged'
            ? '; to trace without BPF, restart the app with `lab up --usdt file`'
            : '';
        return failed(dir, `${err.message}${hint}`);
      }
      throw err;
    }
    say(`attached (${Object.entries(hooks).map(([k, v]) => `${k}=${v}`).join(' ')}), pid ${loader.pid}`);
    const running = loader;
    void running.exited.then((r) => {
      if (!stopping && !r.summarySeen) say(`the loader (pid ${running.pid}) ended without its summary (${r.signal ?? `status ${r.exitCode}`}): events stop here; the load goes on`);
    });
  } else {
    appFileMark = markFile(backend.eventsPath);
    hooks = { usdt: 'file' };
    say(`no BPF: reading the app's probe file ${backend.eventsPath}`);
  }
  metrics?.follow({ eventsPath: join(dir, CAPTURE_FILES.events), accessLogPath: paths.accessLog, accessOffset: accessMark.offset, loaderPid: loader?.pid ?? null, pids });
  const machine = startMachineSampling(join(dir, CAPTURE_FILES.machine));
  const startNs = process.hrtime.bigint();

  let loadError: string | null = null;
  let loadSummary: LoadSummary | null = null;
  try {
    if (opts.noLoad && opts.traffic) {
      say('tracing the traffic sent');
      const sent = opts.traffic();
      sent.catch(() => {});
      await Promise.race([sent, interruption]);
    } else if (opts.noLoad) {
      say(`tracing whatever arrives for ${opts.durationS} s`);
      await Promise.race([new Promise((r) => setTimeout(r, (opts.durationS as number) * 1000)), interruption]);
    } else {
      say(`load: ${opts.requests !== undefined ? `${opts.requests} requests` : `${opts.durationS} s`}, ${opts.connections} connections, mix ${opts.mix}`);
      const loadDone = runLoad({
        url: `http://${cfg.host}:${cfg.proxyPort}`,
        ...(opts.requests !== undefined ? { requests: opts.requests } : {}),
        ...(opts.durationS !== undefined ? { durationS: opts.durationS } : {}),
        connections: opts.connections,
        mix: opts.mix,
        ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
        knobs: opts.knobs,
        latencyOut: join(dir, CAPTURE_FILES.client),
        recordPath,
      });
      // A signal ends the capture now; the load cannot be cancelled, so the command exits once the capture is written.
      loadDone.catch(() => {});
      const ended = await Promise.race([loadDone, interruption]);
      if (ended !== 'interrupted') loadSummary = ended;
    }
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0] ?? 'load failed';
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const endNs = process.hrtime.bigint();
  machine.stop();
  stopping = true;

  // Tracing stops here.
  let drops: Record<string, number> | null;
  let loaderReport: LoaderReport | undefined;
  let loaderEnd: LoaderEnd | null = null;
  if (loader) {
    say('stopping the loader (detaching probes)');
    const stopStart = Date.now();
    const r = await loader.stop();
    clearProbeSampling(cfg.stateDir);
    loaderEnd = { summarySeen: r.summarySeen, exitCode: r.exitCode, signal: r.signal, stop: r.stop, killedOnRequest: t.hurried() && r.signal === 'SIGKILL' };
    const stopSeconds = Math.round((Date.now() - stopStart) / 100) / 10;
    drops = r.summarySeen ? { ...r.drops } : null;
    if (drops) metrics?.loaderReported(drops);
    loaderReport = {
      stop: r.stop,
      schema: r.schema,
      records: r.counters.records ?? null,
      bytes: r.counters.bytes ?? null,
      kinds: r.kinds,
      families: r.families,
      stopSeconds,
      ...(r.sheds.length > 0 ? { sheds: r.sheds } : {}),
    };
    for (const s of r.sheds) warnings.push(`the ${s.family} family was shed by the CPU budget (${s.budgetPct}%): nothing of it after that point`);
    if (Object.keys(r.drops).length === 0 && r.summarySeen) warnings.push('the loader summary named no drop counters');
  } else {
    const { text, warnings: w } = readAppendedLines(appFileMark as FileMark);
    writeFileAtomic(join(dir, CAPTURE_FILES.eventsJson), text);
    warnings.push(...w);
    drops = { file_partial_lines: w.some((x) => x.includes('partial last line')) ? 1 : 0 };
  }

  const access = accessLogSince(accessMark);
  const accessEntries = access.entries.map((e) => {
    const r = captureAccessEntry(e, privacyKey);
    queryParametersDropped += r.dropped;
    return r.entry;
  });
  writeJsonLines(join(dir, CAPTURE_FILES.nginx), accessEntries);
  warnings.push(...access.warnings);
  const skipped: string[] = [];
  if (t.hurried()) {
    skipped.push(CAPTURE_FILES.pgStatStatements, CAPTURE_FILES.ss);
  } else {
    say('saving the pg_stat_statements and ss snapshots');
    try {
      writeFileAtomic(join(dir, CAPTURE_FILES.pgStatStatements), JSON.stringify(await snapshotPgStatStatements(pgAdminConnectionConfig(cfg), pgssReset), null, 2) + '\n');
    } catch (err) {
      warnings.push(`pg_stat_statements snapshot failed: ${(err as Error).message}`);
    }
    try {
      writeFileAtomic(join(dir, CAPTURE_FILES.ss), await snapshotSs([cfg.proxyPort, cfg.appPort, cfg.pgPort]));
    } catch (err) {
      warnings.push(`ss snapshot failed: ${(err as Error).message}`);
    }
  }

  const failures = loadSummary === null ? null : loadFailures(loadSummary);
  const interruptedBy = t.interruptedBy();
  const completeness = captureCompleteness({
    interruptedBy,
    loader: loaderEnd,
    tiersGone: tiersGone(status),
    failedRequests: failures === null ? null : { count: failures.failed, text: formatLoadFailures(failures) ?? '' },
    loadError,
    drops,
    skipped,
  });
  writeMeta(dir, {
    ...baseMeta(),
    source,
    hooks,
    drops: drops ?? {},
    window: { startNs: startNs.toString(), endNs: endNs.toString() },
    ...(loaderReport ? { loader: loaderReport } : {}),
    warnings,
    completeness,
    ...(source === 'bpf' ? { coverage: captureCoverage({ hooks, sample: opts.sample, pgDetail: opts.pgDetail, arrivals: opts.arrivals, pgProbes: status.postgres.usdt !== false, ...(opts.keepSlowerThanMs !== undefined ? { keepSlowerThanMs: opts.keepSlowerThanMs } : {}) }) } : {}),
    privacy: { clientRequestId: 'hmac-sha256, key made for this capture and not stored', queryParametersKept: KEPT_QUERY_PARAMETERS, queryParametersDropped },
  });
  for (const w of warnings) say(`warning: ${w}`);

  // Counting requests reads the capture back; after a second signal the loader's count must do.
  const capture = t.hurried() ? null : await readCapture(dir);
  const events = capture?.events.length ?? loaderReport?.records ?? 0;
  const requests = capture === null ? null : opts.noLoad ? new Set(capture.events.filter((e) => e.kind === EventKind.RequestStart).map((e) => e.requestId)).size : capture.client.length;
  return {
    started: true,
    completeness,
    interrupted: interruptedBy !== null,
    summary: formatCaptureSummary({ dir, requests, events, drops: drops ?? {}, source }),
    json: { dir, source, hooks, requests, events, drops, warnings: capture?.warnings ?? warnings, completeness },
  };
}

/** The lab processes that ran when the trace started and are gone now. */
function tiersGone(status: LabStatus): CompletenessFacts['tiersGone'] {
  const gone: { tier: 'app' | 'nginx' | 'proxy' | 'postgres'; pid: number }[] = [];
  if (status.app.pid !== null && !isAlive(status.app.pid)) gone.push({ tier: 'app', pid: status.app.pid });
  if (status.proxy.pid !== null && !isAlive(status.proxy.pid)) gone.push({ tier: status.proxy.kind === 'node' ? 'proxy' : 'nginx', pid: status.proxy.pid });
  if (status.postgres.pid !== null && !isAlive(status.postgres.pid)) gone.push({ tier: 'postgres', pid: status.postgres.pid });
  return gone;
}

/** Tracing never started: the directory (new and empty before this run) holds nothing worth keeping. */
function failed(dir: string, reason: string): RecordOutcome {
  rmSync(dir, { recursive: true, force: true });
  return { started: false, completeness: { complete: false, missing: [] }, interrupted: false, summary: `lab trace: ${reason}`, json: {} };
}

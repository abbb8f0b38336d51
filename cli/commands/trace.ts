import { readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { labConfig, type LabConfig } from '../../lab/config.ts';
import { pgAdminConnectionConfig } from '../../lab/db/postgres.ts';
import { REPO_ROOT } from '../../lab/lifecycle/app-tier.ts';
import { labIsUp, labStatus, type LabStatus } from '../../lab/lifecycle/lab-status.ts';
import { processEnv, resumeStoppedChildren } from '../../lab/lifecycle/processes.ts';
import { labPaths } from '../../lab/lifecycle/state-paths.ts';
import { DEFAULT_DURATION_S, runLoad } from '../../lab/load/run-load.ts';
import { MIX_TABLE, parseTargetKnobs, type MixName, type TargetKnobs } from '../../lab/load/mixes.ts';
import { startTraceMetrics, type TraceMetrics } from '../../metrics/trace-metrics.ts';
import { CAPTURE_VERSION, type CaptureLoad, type CaptureMeta, type LoaderReport, type Tier } from '../../tracer/capture-types.ts';
import { clockToMeta, sampleClock } from '../../tracer/clock.ts';
import { EventKind } from '../../tracer/event-types.ts';
import { CAPTURE_FILES, readCapture } from '../../tracer/read-capture.ts';
import {
  accessLogSince,
  markFile,
  readAppendedLines,
  resetPgStatStatements,
  snapshotPgStatStatements,
  snapshotSs,
  type FileMark,
} from '../../tracer/snapshots.ts';
import { LoaderError, loaderArgs, spawnLoader, type LoaderHandle } from '../../tracer/spawn-loader.ts';
import { defaultCaptureDir, formatCaptureSummary, prepareCaptureDir, UNFINISHED, writeFileAtomic, writeJsonLines, writeMeta } from '../../tracer/write-capture.ts';
import type { Invocation } from '../parse-args.ts';

/** The USDT addon the app loads in native mode (probes/usdt-addon build output). */
export const DEFAULT_ADDON = join(REPO_ROOT, 'probes', 'usdt-addon', 'build', 'Release', 'reqtrace_usdt.node');
const ADDON_NAME = 'reqtrace_usdt.node';
/** Time for the last events to leave ring buffers, the app's file buffer and the access log. */
const SETTLE_MS = 300;

export type AppBackend =
  | { kind: 'native'; addonPath: string }
  | { kind: 'file'; eventsPath: string }
  /** The addon file was replaced after the app loaded it: uprobes on the new file never fire in the app. */
  | { kind: 'stale'; addonPath: string }
  | { kind: 'off' };

/**
 * How the running app fires its probes: native when the addon is mapped into it (auto mode
 * resolves at start-up, so the mapping is the truth), file when it was started with
 * `--usdt file`, otherwise off.
 */
export function appBackend(pid: number, cfg: Pick<LabConfig, 'stateDir'>, maps = readMaps(pid)): AppBackend {
  const mapped = maps
    .split('\n')
    .filter((l) => l.includes('/'))
    .map((l) => l.slice(l.indexOf('/')))
    .find((p) => p.endsWith(ADDON_NAME) || p.endsWith(`${ADDON_NAME} (deleted)`));
  if (mapped?.endsWith(' (deleted)')) return { kind: 'stale', addonPath: mapped.slice(0, -' (deleted)'.length) };
  if (mapped) return { kind: 'native', addonPath: mapped };
  if (processEnv(pid, 'LAB_USDT') === 'file') {
    return { kind: 'file', eventsPath: processEnv(pid, 'LAB_PROBE_FILE') || join(cfg.stateDir, 'app-events.jsonl') };
  }
  return { kind: 'off' };
}

function readMaps(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return '';
  }
}

export interface TraceOptions {
  readonly out: string | undefined;
  readonly sample: number;
  readonly noLoad: boolean;
  readonly durationS: number | undefined;
  readonly requests: number | undefined;
  readonly connections: number;
  readonly mix: MixName;
  readonly rate: number | undefined;
  /** Print the summary as JSON on stdout instead of the capture path. */
  readonly json: boolean;
  /** Serve Prometheus metrics on 127.0.0.1:PORT while tracing. */
  readonly metricsPort: number | undefined;
  readonly knobs: TargetKnobs;
}

/** Reads `lab trace`'s options; returns a one-line error for bad combinations. Pure. */
export function traceOptions(o: Readonly<Record<string, string | number | boolean>>): TraceOptions | string {
  const noLoad = o['no-load'] === true;
  const durationS = typeof o.duration === 'number' ? o.duration : undefined;
  const requests = typeof o.requests === 'number' ? o.requests : undefined;
  if (noLoad && durationS === undefined) return '--no-load needs --duration S (how long to trace)';
  if (noLoad && requests !== undefined) return '--no-load traces for --duration seconds; --requests needs a load';
  if (o['latency-out'] !== undefined) return '--latency-out is not used by lab trace: the capture holds client.jsonl';
  const mix = typeof o.mix === 'string' ? o.mix : 'default';
  if (!(mix in MIX_TABLE)) return `unknown mix '${mix}'`;
  const knobs = typeof o.knob === 'string' ? parseTargetKnobs(o.knob) : {};
  if (typeof knobs === 'string') return knobs;
  return {
    out: typeof o.out === 'string' ? o.out : undefined,
    sample: typeof o.sample === 'number' ? o.sample : 1,
    noLoad,
    // The same default as `lab load`.
    durationS: durationS === undefined && requests === undefined ? DEFAULT_DURATION_S : durationS,
    requests,
    connections: typeof o.connections === 'number' ? o.connections : 10,
    mix: mix as MixName,
    rate: typeof o.rate === 'number' ? o.rate : undefined,
    json: o.json === true,
    metricsPort: typeof o['metrics-port'] === 'number' ? o['metrics-port'] : undefined,
    knobs,
  };
}

const say = (line: string): void => {
  process.stderr.write(`lab trace: ${line}\n`);
};

/** `lab trace`: trace the lab into a capture directory while a load runs (or for --duration with --no-load). */
export async function run(inv: Invocation): Promise<number> {
  const opts = traceOptions(inv.options);
  if (typeof opts === 'string') {
    say(opts);
    return 2;
  }
  const cfg = labConfig();
  const status = labStatus(cfg, () => null);
  if (!labIsUp(status)) {
    const down = (['proxy', 'app', 'postgres'] as const).filter((t) => status[t].pid === null);
    say(`the lab is not running (${down.join(', ')} stopped): run \`lab up\` first`);
    return 1;
  }
  const appPid = status.app.pid as number;
  const backend = appBackend(appPid, cfg);
  if (backend.kind === 'off') {
    say(
      "the app's probes are off (its USDT addon is not loaded): run `sudo lab up --usdt native` for BPF tracing, or `lab up --usdt file` to trace without BPF",
    );
    return 1;
  }

  if (backend.kind === 'stale') {
    say(`the app's USDT addon ${backend.addonPath} was rebuilt after the app started, so its probes cannot be attached: restart the app (\`lab down\`, then \`lab up\`)`);
    return 1;
  }

  let metrics: TraceMetrics | null = null;
  if (opts.metricsPort !== undefined) {
    try {
      metrics = await startTraceMetrics(opts.metricsPort);
    } catch (err) {
      say((err as Error).message);
      return 1;
    }
    say(`metrics at ${metrics.url}`);
  }
  let dir: string;
  try {
    dir = prepareCaptureDir(opts.out ?? defaultCaptureDir(REPO_ROOT, new Date()));
  } catch (err) {
    await metrics?.stop();
    throw err;
  }
  const capture = await traceInto(dir, cfg, status, backend, opts, metrics).finally(() => metrics?.stop());
  process.stderr.write(capture.summary + '\n');
  if (!capture.started) return 1;
  process.stdout.write((opts.json ? JSON.stringify(capture.json) : dir) + '\n');
  // An interrupted load may still hold sockets open: leave now that the capture is written.
  if (capture.interrupted) process.exit(130);
  return capture.ok ? 0 : 1;
}

interface TraceOutcome {
  /** False when tracing never started (nothing was captured). */
  readonly started: boolean;
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly summary: string;
  /** `--json` output. */
  readonly json: Readonly<Record<string, unknown>>;
}

async function traceInto(dir: string, cfg: LabConfig, status: LabStatus, backend: Extract<AppBackend, { kind: 'native' | 'file' }>, opts: TraceOptions, metrics: TraceMetrics | null): Promise<TraceOutcome> {
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
    proxy: proxyKind,
    load,
  });
  const source = backend.kind === 'native' ? 'bpf' : 'app-file';
  writeMeta(dir, { ...baseMeta(), source, hooks: {}, drops: {}, warnings: [UNFINISHED] });

  let pgssReset = true;
  try {
    await resetPgStatStatements(pgAdminConnectionConfig(cfg));
  } catch (err) {
    pgssReset = false;
    warnings.push(`pg_stat_statements could not be reset (${(err as Error).message}): its counts include earlier statements`);
  }
  const accessMark = markFile(paths.accessLog);

  // Tracing starts here.
  let loader: LoaderHandle | null = null;
  let appFileMark: FileMark | null = null;
  let hooks: Record<string, string>;
  let interrupted = false;
  const maxSeconds = (opts.durationS ?? 0) + (opts.requests ?? 0) / 50 + 120;
  if (backend.kind === 'native') {
    try {
      loader = spawnLoader({
        args: loaderArgs({ appPid: status.app.pid as number, addonPath: backend.addonPath, nginxPids, pgPid: status.postgres.pid, sample: opts.sample, maxSeconds }),
        eventsPath: join(dir, CAPTURE_FILES.events),
        logPath: join(dir, CAPTURE_FILES.loaderLog),
      });
      hooks = { ...(await loader.attached) };
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
  } else {
    appFileMark = markFile(backend.eventsPath);
    hooks = { usdt: 'file' };
    say(`no BPF: reading the app's probe file ${backend.eventsPath}`);
  }
  metrics?.follow({ eventsPath: join(dir, CAPTURE_FILES.events), accessLogPath: paths.accessLog, accessOffset: accessMark.offset, loaderPid: loader?.pid ?? null, pids });
  const startNs = process.hrtime.bigint();

  let loadError: string | null = null;
  let onInterrupt: () => void = () => {};
  const interruption = new Promise<'interrupted'>((resolve) => {
    onInterrupt = () => {
      interrupted = true;
      resolve('interrupted');
    };
  });
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    if (opts.noLoad) {
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
      });
      // A signal ends the capture now; the load cannot be cancelled, so the command exits once the capture is written.
      loadDone.catch(() => {});
      await Promise.race([loadDone, interruption]);
    }
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0] ?? 'load failed';
    warnings.push(`the load failed: ${loadError}`);
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const endNs = process.hrtime.bigint();

  // Tracing stops here.
  let drops: Record<string, number>;
  let loaderReport: LoaderReport | undefined;
  if (loader) {
    say('stopping the loader (detaching probes)');
    const stopStart = Date.now();
    const r = await loader.stop();
    const pgPid = status.postgres.pid;
    const resumed = pgPid === null ? [] : resumeStoppedChildren(pgPid);
    if (resumed.length) warnings.push(`resumed PostgreSQL backend(s) ${resumed.join(', ')} the loader left stopped`);
    const stopSeconds = Math.round((Date.now() - stopStart) / 100) / 10;
    drops = { ...r.drops };
    metrics?.loaderReported(drops);
    loaderReport = {
      stop: r.stop,
      records: r.counters.records ?? null,
      bytes: r.counters.bytes ?? null,
      kinds: r.kinds,
      families: r.families,
      stopSeconds,
    };
    if (r.stop !== null && r.stop !== 'signal') warnings.push(`the loader stopped early (${r.stop}): events end before the load did`);
    if (!r.summarySeen) warnings.push(`the loader ended without its summary (${r.signal ?? `status ${r.exitCode}`}): drop counters unknown`);
    else if (r.exitCode !== 0) warnings.push(`the loader exited with status ${r.exitCode}`);
    if (Object.keys(r.drops).length === 0 && r.summarySeen) warnings.push('the loader summary named no drop counters');
  } else {
    const { text, warnings: w } = readAppendedLines(appFileMark as FileMark);
    writeFileAtomic(join(dir, CAPTURE_FILES.eventsJson), text);
    warnings.push(...w);
    drops = { file_partial_lines: w.some((x) => x.includes('partial last line')) ? 1 : 0 };
  }
  if (interrupted) warnings.push('interrupted by a signal: the capture ends early');

  const access = accessLogSince(accessMark);
  writeJsonLines(join(dir, CAPTURE_FILES.nginx), access.entries);
  warnings.push(...access.warnings);
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

  writeMeta(dir, { ...baseMeta(), source, hooks, drops, window: { startNs: startNs.toString(), endNs: endNs.toString() }, ...(loaderReport ? { loader: loaderReport } : {}), warnings });
  for (const w of warnings) say(`warning: ${w}`);

  const capture = await readCapture(dir);
  const requests = opts.noLoad
    ? new Set(capture.events.filter((e) => e.kind === EventKind.RequestStart).map((e) => e.requestId)).size
    : capture.client.length;
  return {
    started: true,
    ok: loadError === null && !interrupted,
    interrupted,
    summary: formatCaptureSummary({ dir, requests, events: capture.events.length, drops, source }),
    json: { dir, source, hooks, requests, events: capture.events.length, drops, warnings: capture.warnings },
  };
}

/** Tracing never started: the directory (new and empty before this run) holds nothing worth keeping. */
function failed(dir: string, reason: string): TraceOutcome {
  rmSync(dir, { recursive: true, force: true });
  return { started: false, ok: false, interrupted: false, summary: `lab trace: ${reason}`, json: {} };
}

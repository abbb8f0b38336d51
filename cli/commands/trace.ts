import { REPO_ROOT } from '../../lab/lifecycle/app-tier.ts';
import { labConfig } from '../../lab/config.ts';
import { readLabState } from '../../lab/lifecycle/lab-state.ts';
import { labIsUp, labStatus } from '../../lab/lifecycle/lab-status.ts';
import { labPaths } from '../../lab/lifecycle/state-paths.ts';
import { formatStopped } from '../../lab/lifecycle/stopped-processes.ts';
import { startTraceMetrics, type TraceMetrics } from '../../metrics/trace-metrics.ts';
import { appBackend } from '../../tracer/app-backend.ts';
import { formatIncomplete } from '../../tracer/capture-completeness.ts';
import { recordCapture, traceProgress } from '../../tracer/record-capture.ts';
import { recordOptions } from '../../tracer/record-options.ts';
import { hasBpfPrivileges } from '../../tracer/bpf-privileges.ts';
import { defaultCaptureDir, prepareCaptureDir } from '../../tracer/write-capture.ts';
import type { Invocation } from '../parse-args.ts';

const say = traceProgress;

/** `lab trace`: trace the lab into a capture directory while a load runs (or for --duration with --no-load). */
export async function run(inv: Invocation): Promise<number> {
  const opts = recordOptions(inv.options);
  if (typeof opts === 'string') {
    say(opts);
    return 2;
  }
  const cfg = labConfig();
  // Before anything is read or created: another user's app cannot even be inspected.
  if (!hasBpfPrivileges() && readLabState(labPaths(cfg).stateFile).usdt !== 'file') {
    process.stderr.write('lab trace needs root (CAP_BPF and CAP_PERFMON): run it with sudo, or trace without BPF after `lab up --usdt file`\n');
    return 1;
  }
  const status = labStatus(cfg, () => null);
  if (!labIsUp(status)) {
    const down = (['proxy', 'app', 'postgres'] as const).filter((t) => status[t].pid === null);
    say(`the lab is not running (${down.join(', ')} stopped): run \`lab up\` first`);
    return 1;
  }
  const stopped = formatStopped(status.stopped);
  if (stopped !== null) {
    say(`cannot trace: ${stopped}`);
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
  const wantsPg = [...(opts.families ?? []), ...(opts.extraFamilies ?? [])].includes('postgres');
  if (wantsPg && status.postgres.usdt === false) {
    say("the postgres family has nothing to attach: this PostgreSQL server has no USDT probes (embedded); `lab down`, then `sudo lab up --postgres system` for one that has");
    return 2;
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
  const wanted = opts.out ?? defaultCaptureDir(REPO_ROOT, new Date());
  let dir: string;
  try {
    dir = prepareCaptureDir(wanted);
  } catch (err) {
    await metrics?.stop();
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    say(`cannot create the capture directory ${wanted} (${code}): choose one you can write with --out DIR`);
    return 1;
  }
  const capture = await recordCapture(dir, cfg, status, backend, opts, metrics, say).finally(() => metrics?.stop());
  process.stderr.write(capture.summary + '\n');
  if (!capture.started) return 1;
  const incomplete = formatIncomplete(capture.completeness);
  if (incomplete !== null) say(incomplete);
  process.stdout.write((opts.json ? JSON.stringify(capture.json) : dir) + '\n');
  // An interrupted load may still hold sockets open: leave now that the capture is written.
  if (capture.interrupted) process.exit(130);
  return capture.completeness.complete ? 0 : 1;
}

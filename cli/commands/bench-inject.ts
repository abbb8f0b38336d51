/**
 * `lab bench inject [--quick] [--only LAYER,…] [--repeats N] [--out DIR]`: latency injected at
 * each layer of the lab, and where the traces put it. Exit status 0 when every experiment ran
 * and every injected request's time landed where it was injected; 1 otherwise (or on an
 * error, or when something it made could not be removed); 130 after a signal. The first signal
 * finishes the current experiment, then cleans up and writes what was measured; a third exits at
 * once, undoing what can be undone synchronously.
 */
import { join } from 'node:path';
import { injectMatrix, parseLayers, INJECT_LAYERS } from '../../bench/inject-matrix.ts';
import { runInjectBench, writeInjectResults, type InjectBenchResult } from '../../bench/run-inject-bench.ts';
import { createCleanupStack } from '../../lab/faults/cleanup-stack.ts';
import { REPO_ROOT } from '../../lab/lifecycle/app-tier.ts';
import { hasBpfPrivileges } from '../../tracer/bpf-privileges.ts';
import type { Invocation } from '../parse-args.ts';

const say = (line: string): void => {
  process.stderr.write(`lab bench inject: ${line}\n`);
};

/** Options of lab bench overhead that mean nothing here. */
const OVERHEAD_ONLY = ['rounds', 'duration', 'saturate', 'conditions', 'workloads', 'breakdown', 'floor'];

const BASELINE_REQUESTS = { quick: 600, full: 2000 } as const;

/** The signals after which the run cleans up and writes what it has (as lab trace finishes its capture). */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function runInject(inv: Invocation): Promise<number> {
  const o = inv.options;
  const foreign = OVERHEAD_ONLY.find((k) => k in o);
  if (foreign) {
    say(`--${foreign} is an option of lab bench overhead`);
    return 2;
  }
  const layers = typeof o.only === 'string' ? parseLayers(o.only) : [...INJECT_LAYERS];
  if (typeof layers === 'string') {
    say(layers);
    return 2;
  }
  if (!hasBpfPrivileges()) {
    say('traces the lab and injects faults into it: run it as root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_NICE): `sudo lab bench inject`');
    return 1;
  }
  const quick = o.quick === true;
  const experiments = injectMatrix({ quick, only: layers, ...(typeof o.repeats === 'number' ? { repeats: o.repeats } : {}) });
  const outDir = typeof o.out === 'string' ? o.out : join(REPO_ROOT, 'bench', 'results', 'inject');

  const cleanup = createCleanupStack();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) say(`${sig}: finishing the current experiment, then undoing every fault and writing what was measured (${sig} twice more exits at once)`);
    if (signals >= 3) {
      say(`${sig} a third time: exiting now`);
      for (const f of cleanup.runAllSync()) say(`cleanup: ${f}`);
      process.exit(130);
    }
  };
  // Reached when something calls process.exit before the undo steps ran (a trace's third signal).
  const onExit = (): void => {
    for (const f of cleanup.runAllSync()) say(`cleanup at exit: ${f}`);
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  process.on('exit', onExit);
  let result: InjectBenchResult | null = null;
  let error: string | null = null;
  try {
    result = await runInjectBench(
      {
        experiments,
        quick,
        repeats: experiments[0]?.repeats ?? 0,
        layers,
        diskMethod: o['disk-method'] === 'cgroup' || o['disk-method'] === 'preload' ? o['disk-method'] : 'auto',
        outDir,
        baselineRequests: quick ? BASELINE_REQUESTS.quick : BASELINE_REQUESTS.full,
        cleanup,
        interrupted: () => signals > 0,
      },
      say,
    );
  } catch (err) {
    error = (err as Error).message.split('\n')[0] ?? 'failed';
  } finally {
    const failures = await cleanup.runAll();
    for (const f of failures) say(`cleanup failed: ${f}`);
    if (result) result = { ...result, report: { ...result.report, cleanupFailures: failures } };
    for (const sig of SIGNALS) process.off(sig, onSignal);
    process.off('exit', onExit);
  }
  if (error !== null || !result) {
    say(error ?? 'failed');
    return signals > 0 ? 130 : 1;
  }
  for (const f of writeInjectResults(outDir, result.report)) say(`wrote ${f}`);
  const a = result.report.accuracy;
  say(`attribution accuracy ${a.passed}/${a.total} (${(a.share * 100).toFixed(1)}%); ${result.report.skipped.length} layer(s) skipped; ${Math.round(result.report.durationS)} s`);
  process.stdout.write(`${outDir}\n`);
  if (signals > 0) return 130;
  return result.complete && a.total > 0 && a.passed === a.total && result.report.cleanupFailures.length === 0 ? 0 : 1;
}

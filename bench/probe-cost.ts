/**
 * What one hook run costs on this machine beyond what bpf_stats counts, for the overhead bench's
 * accounted cost: probes/build/probe-cost times a USDT hit at a 1-byte nop (a breakpoint trap,
 * PostgreSQL's sites) and at a 5-byte nop (the uprobe trampoline, the app's), and a socket
 * tracepoint run, each with a program that does nothing; and here, in this process, what firing
 * one of the app's probes costs the app before the probe site (the addon's argument marshalling).
 */
import { loadUsdtAddon, nativeProbes } from '../lab/app/native/usdt-addon.ts';
import { measureHookCosts } from '../lab/doctor/collect-doctor-report.ts';
import type { HookCosts } from '../lab/doctor/parse-doctor-inputs.ts';

export interface ProbeCost extends HookCosts {
  /** One app probe fired from JavaScript with its site untraced, ns: the addon's marshalling. */
  readonly appFireNs: number;
}

/** ns per call of the app's requestStart probe fired untraced: best of a few rounds. */
function appFireNs(addonPath: string): number {
  const p = nativeProbes(loadUsdtAddon(addonPath));
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  const n = 50_000;
  let best = Infinity;
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) p.requestStart(id, 'GET', '/api/users', 10);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

/** Runs the calibration (bpf_stats must be on for the stats figures), with what bpf_stats adds to a run; throws with the tool's reason. */
export async function measureProbeCost(addonPath: string, rounds = 15): Promise<ProbeCost> {
  const costs = await measureHookCosts(rounds, true);
  if ('error' in costs) throw new Error(`probe-cost failed: ${costs.error}`);
  return { ...costs, appFireNs: appFireNs(addonPath) };
}

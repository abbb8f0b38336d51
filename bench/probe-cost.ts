/**
 * What one hook run costs on this machine beyond what bpf_stats counts, for the overhead bench's
 * accounted cost: probes/build/probe-cost times a USDT hit at a 1-byte nop (a breakpoint trap,
 * PostgreSQL's sites) and at a 5-byte nop (the uprobe trampoline, the app's), and a socket
 * tracepoint run, each with a program that does nothing; and here, in this process, what firing
 * one of the app's probes costs the app before the probe site (the addon's argument marshalling).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lifecycle/app-tier.ts';
import { loadUsdtAddon, nativeProbes } from '../lab/app/native/usdt-addon.ts';

export interface ProbeCost {
  /** A USDT hit at a 1-byte nop with an empty program attached, ns (trap, dispatch, empty run). */
  readonly nop1Ns: number;
  /** The same at a 5-byte nop (the uprobe trampoline). */
  readonly nop5Ns: number;
  /** A tp_btf run of an empty program on sock_recv_length, ns. */
  readonly tracepointNs: number;
  /** bpf_stats' ns per run of the empty USDT and tracepoint programs: what any program's figure holds besides its body. */
  readonly usdtStatsNs: number;
  readonly tracepointStatsNs: number;
  /** One app probe fired from JavaScript with its site untraced, ns: the addon's marshalling. */
  readonly appFireNs: number;
}

export const PROBE_COST_BINARY = join(REPO_ROOT, 'probes', 'build', 'probe-cost');

/** The probe-cost tool's JSON line. Pure. */
export function parseProbeCost(line: string): Omit<ProbeCost, 'appFireNs'> {
  const v = JSON.parse(line) as Record<string, unknown>;
  const num = (k: string): number => {
    const x = v[k];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`probe-cost: no number '${k}' in ${line.trim()}`);
    return x;
  };
  return { nop1Ns: num('nop1_ns'), nop5Ns: num('nop5_ns'), tracepointNs: num('tracepoint_ns'), usdtStatsNs: num('usdt_stats_ns'), tracepointStatsNs: num('tracepoint_stats_ns') };
}

/** ns per call of the app's requestStart probe fired untraced, minus the loop: best of a few rounds. */
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

/** Runs the calibration (bpf_stats must be on for the stats figures); throws with the tool's reason. */
export function measureProbeCost(addonPath: string, rounds = 15): ProbeCost {
  const r = spawnSync(PROBE_COST_BINARY, ['-r', String(rounds)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`probe-cost failed: ${(r.stderr || r.error?.message || `status ${r.status}`).trim().split('\n').at(-1)}`);
  return { ...parseProbeCost(r.stdout), appFireNs: appFireNs(addonPath) };
}

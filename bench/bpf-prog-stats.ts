/**
 * The kernel's own accounting of BPF program time (kernel.bpf_stats_enabled): run_time_ns and
 * run_cnt per program, read with `bpftool prog show -j`, and grouped by the probe family that
 * loaded each program (the loader names its program ids when it attaches).
 *
 * bpf_stats wraps every program run in two clock reads, so while it is on each run costs a few
 * tens of ns more; STATS_OVERHEAD_NS_PER_RUN is the estimate reports subtract or cite.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { LoaderPrograms } from '../tracer/parse-loader-output.ts';

export interface ProgStat {
  readonly id: number;
  readonly name: string;
  readonly runTimeNs: number;
  readonly runCnt: number;
}

/** What bpf_stats itself adds to one program run (two clock reads and a per-CPU add), ns. */
export const STATS_OVERHEAD_NS_PER_RUN = 40;

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** Programs in `bpftool prog show -j` output; those without counters count zero. Pure. */
export function parseBpftoolProgs(json: string): ProgStat[] {
  const v: unknown = JSON.parse(json);
  if (!Array.isArray(v)) throw new Error('bpftool prog show -j did not print an array');
  return v.flatMap((p: unknown) => {
    const o = p as Record<string, unknown> | null;
    if (!o || typeof o.id !== 'number') return [];
    return [
      {
        id: o.id,
        name: typeof o.name === 'string' ? o.name : '',
        runTimeNs: typeof o.run_time_ns === 'number' ? o.run_time_ns : 0,
        runCnt: typeof o.run_cnt === 'number' ? o.run_cnt : 0,
      },
    ];
  });
}

/** Counters of every loaded program now, by id. */
export function readProgStats(): Map<number, ProgStat> {
  const out = execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return new Map(parseBpftoolProgs(out).map((p) => [p.id, p]));
}

/** Turns bpf_stats on; the returned function puts the sysctl back as it was. */
export function enableBpfStats(): () => void {
  const before = readFileSync(SYSCTL, 'utf8').trim();
  if (before !== '1') writeFileSync(SYSCTL, '1');
  return () => {
    if (before !== '1') writeFileSync(SYSCTL, before);
  };
}

export interface ProgramCost {
  readonly family: string;
  readonly name: string;
  readonly runTimeNs: number;
  readonly runCnt: number;
}

export interface FamilyCost {
  readonly family: string;
  readonly runTimeNs: number;
  readonly runCnt: number;
  /** Its programs that ran, most expensive first. */
  readonly programs: readonly ProgramCost[];
}

/**
 * Each family's program time and runs between two readings, most expensive family first;
 * `programs` says which ids are whose. A program missing from either reading counts zero. Pure.
 */
export function familyCosts(before: ReadonlyMap<number, ProgStat>, after: ReadonlyMap<number, ProgStat>, programs: LoaderPrograms): FamilyCost[] {
  const out: FamilyCost[] = [];
  for (const [family, list] of Object.entries(programs)) {
    const costs: ProgramCost[] = [];
    for (const p of list) {
      const a = before.get(p.id);
      const b = after.get(p.id);
      if (!a || !b) continue;
      const runCnt = b.runCnt - a.runCnt;
      if (runCnt <= 0) continue;
      costs.push({ family, name: p.name, runTimeNs: b.runTimeNs - a.runTimeNs, runCnt });
    }
    costs.sort((x, y) => y.runTimeNs - x.runTimeNs || x.name.localeCompare(y.name));
    out.push({
      family,
      runTimeNs: costs.reduce((s, c) => s + c.runTimeNs, 0),
      runCnt: costs.reduce((s, c) => s + c.runCnt, 0),
      programs: costs,
    });
  }
  return out.sort((x, y) => y.runTimeNs - x.runTimeNs || x.family.localeCompare(y.family));
}

/**
 * What `lab bench overhead` compares: tracing conditions (untraced, the app's USDT probes only,
 * every default family at several head-sampling rates, tail keeping) on workloads at a fixed
 * request rate below saturation, interleaved round by round. Pure.
 */
import type { MixName } from '../lab/load/mixes.ts';
import type { SocketsFloor } from '../tracer/loader-args.ts';

export interface TraceSetup {
  /** Families to load; absent: the loader's default set (plus extraFamilies). */
  readonly families?: readonly string[];
  /** Opt-in families added to the default set. */
  readonly extraFamilies?: readonly string[];
  readonly sample: number;
  /** Tail keeping: unsampled requests slower than this (or 5xx) keep an app-level trace. */
  readonly keepSlowerThanMs?: number;
  /** While sampling, arrival times too (`--arrivals`). */
  readonly arrivals?: boolean;
  /** The socket programs stop early and record nothing: what their hooks cost before any work. */
  readonly socketsFloor?: SocketsFloor;
}

export interface OverheadCondition {
  /** Short name for --conditions. */
  readonly key: string;
  readonly name: string;
  /** Absent: no loader at all. */
  readonly trace?: TraceSetup;
}

export const UNTRACED: OverheadCondition = { key: 'untraced', name: 'untraced' };

export const OVERHEAD_CONDITIONS: readonly OverheadCondition[] = [
  UNTRACED,
  { key: 'usdt', name: 'USDT only', trace: { families: ['usdt'], sample: 1 } },
  { key: 'full', name: 'full, sample 1', trace: { sample: 1 } },
  { key: 'pg', name: 'full + postgres, sample 1', trace: { sample: 1, extraFamilies: ['postgres'] } },
  { key: '0.1', name: 'full, sample 0.1', trace: { sample: 0.1 } },
  { key: '0.01', name: 'full, sample 0.01', trace: { sample: 0.01 } },
  { key: '0.01+arrivals', name: 'sample 0.01 + arrivals', trace: { sample: 0.01, arrivals: true } },
  { key: 'keep', name: 'sample 0.01, keep > 50 ms', trace: { sample: 0.01, keepSlowerThanMs: 50 } },
];

/** `--breakdown`: the app's probes with one more family each, so each family's own cost shows. */
export const BREAKDOWN_FAMILIES = ['sockets', 'files', 'sched', 'postgres', 'tcp'] as const;

export function breakdownConditions(): OverheadCondition[] {
  return BREAKDOWN_FAMILIES.map((f) => ({ key: `usdt+${f}`, name: `USDT + ${f}`, trace: { families: ['usdt', f], sample: 1 } }));
}

/**
 * `--floor`: sample 0.01 with the socket programs stopping at entry (the hooks' dispatch alone),
 * once a socket's ports have said whether it is the lab's, or once a send or receive on the lab's
 * sockets has found its socket's state and the app's binding (the least that tells one request's
 * bytes from another's). Beside `0.01`, they show how much of a sampled-out request's BPF time the
 * hooks cost before the programs do their work.
 */
export function floorConditions(): OverheadCondition[] {
  return [
    { key: 'floor', name: 'sample 0.01, socket programs empty', trace: { sample: 0.01, socketsFloor: 'dispatch' } },
    { key: 'floor+ports', name: 'sample 0.01, socket programs stop at the port check', trace: { sample: 0.01, socketsFloor: 'ports' } },
    { key: 'floor+state', name: "sample 0.01, socket programs stop at the socket's state", trace: { sample: 0.01, socketsFloor: 'state' } },
  ];
}

export interface Workload {
  readonly key: string;
  readonly name: string;
  readonly mix: MixName;
  /** Requests per second over all connections, below the lab's saturation. */
  readonly rate: number;
}

export function defaultWorkloads(mixRate: number, lightRate: number): Workload[] {
  return [
    { key: 'mix', name: `default mix at ${mixRate} req/s`, mix: 'default', rate: mixRate },
    { key: 'light', name: `GET /api/users/7 at ${lightRate} req/s`, mix: 'light', rate: lightRate },
  ];
}

/** Picks conditions by key, in the order given; an unknown key is an error naming the known ones. */
export function selectConditions(all: readonly OverheadCondition[], keys: readonly string[] | undefined): OverheadCondition[] | string {
  if (!keys) return [...all];
  const out: OverheadCondition[] = [];
  for (const k of keys) {
    const c = all.find((x) => x.key === k);
    if (!c) return `unknown condition '${k}' (known: ${all.map((x) => x.key).join(', ')})`;
    if (!out.includes(c)) out.push(c);
  }
  if (!out.includes(UNTRACED)) out.unshift(UNTRACED);
  return out;
}

export interface Step {
  readonly round: number;
  readonly workload: Workload;
  readonly condition: OverheadCondition;
}

/**
 * Round 1: every workload's conditions A B C …, then round 2 the same, and so on; then one more
 * untraced run per workload (round rounds + 1), so every traced run has an untraced one before
 * and after it to be compared with.
 */
export function overheadSchedule(workloads: readonly Workload[], conditions: readonly OverheadCondition[], rounds: number): Step[] {
  const out: Step[] = [];
  for (let round = 1; round <= rounds; round++) for (const workload of workloads) for (const condition of conditions) out.push({ round, workload, condition });
  if (conditions.includes(UNTRACED) && conditions.some((c) => c.trace)) for (const workload of workloads) out.push({ round: rounds + 1, workload, condition: UNTRACED });
  return out;
}

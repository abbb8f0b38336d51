/** The loader's command line: which processes and families it traces, and how. Pure. */

export interface LoaderTargets {
  readonly appPid: number;
  readonly addonPath: string;
  readonly nginxPids: readonly number[];
  readonly pgPid: number | null;
  /** Fraction of requests traced in full, 0..1. */
  readonly sample: number;
  /** The loader's own upper bound on its run time (a safety net: normally it is stopped by signal). */
  readonly maxSeconds: number;
  /** Exactly these families; absent: the loader's default set, plus `extraFamilies`. */
  readonly families?: readonly string[];
  /** Opt-in families added to the default set (e.g. files). */
  readonly extraFamilies?: readonly string[];
  /** Keep an app-level trace of unsampled requests slower than this, ms (and of 5xx ones). */
  readonly keepSlowerThanMs?: number;
  /** While sampling, arrival times too (the data-ready hook; always at sample 1). */
  readonly arrivals?: boolean;
  /** PostgreSQL's rewrite phase and commits too (two more traps per statement). */
  readonly pgDetail?: boolean;
  /** The overhead guard's budget, % of the traced processes' CPU (--cpu-budget). */
  readonly cpuBudgetPct?: number;
  /** What a USDT hit costs here at a 1-byte and a 5-byte nop, ns: the guard's price of a trap. */
  readonly hookNs?: { readonly nop1: number; readonly nop5: number };
  /** The sockets family's hooks (default: detected). */
  readonly socketHooks?: 'auto' | 'tp_btf' | 'syscalls';
  /** Benchmarks only: the socket programs stop early (SocketsFloor) and record no socket I/O. */
  readonly socketsFloor?: SocketsFloor;
  /** The slowsys family's threshold, ms (the loader's default: 10). */
  readonly slowSyscallMs?: number;
  readonly verbose?: boolean;
}

/** How far a benchmark's socket programs get before they stop: at entry, after their port check, or once a send or receive has found its socket's state. */
export type SocketsFloor = 'dispatch' | 'ports' | 'state';

/** The loader's command line for these targets. Pure. */
export function loaderArgs(t: LoaderTargets): string[] {
  const args = ['--app-pid', String(t.appPid), '--addon', t.addonPath];
  for (const p of t.nginxPids) args.push('--nginx-pid', String(p));
  if (t.pgPid !== null) args.push('--pg-pid', String(t.pgPid));
  if (t.families && t.families.length) args.push('--families', t.families.join(','));
  else if (t.extraFamilies && t.extraFamilies.length) args.push('--families', `+${t.extraFamilies.join(',')}`);
  args.push('--sample', String(t.sample), '-d', String(Math.ceil(t.maxSeconds)));
  if (t.keepSlowerThanMs !== undefined) args.push('--keep-slower-than', String(t.keepSlowerThanMs));
  if (t.arrivals) args.push('--arrivals');
  if (t.pgDetail) args.push('--pg-detail');
  if (t.cpuBudgetPct !== undefined) args.push('--cpu-budget', String(t.cpuBudgetPct));
  if (t.hookNs) args.push('--hook-ns', `${Math.max(1, Math.round(t.hookNs.nop1))},${Math.max(1, Math.round(t.hookNs.nop5))}`);
  if (t.socketHooks !== undefined && t.socketHooks !== 'auto') args.push('--socket-hooks', t.socketHooks);
  if (t.socketsFloor) args.push('--sockets-floor', t.socketsFloor);
  if (t.slowSyscallMs !== undefined) args.push('--slow-syscall-ms', String(t.slowSyscallMs));
  if (t.verbose) args.push('-v');
  return args;
}

/** The loader's probe families (probes/families.c); the opt-in ones cost everyone: a program run for every syscall, fault, context switch or packet of the machine, or a breakpoint trap per PostgreSQL probe hit. */
export const LOADER_FAMILIES = ['core', 'usdt', 'sockets', 'files', 'sched', 'postgres', 'tcp', 'pool', 'conn', 'blockio', 'reclaim', 'faults', 'offcpu', 'slowsys', 'netdev'] as const;
export const OPT_IN_FAMILIES: readonly string[] = ['files', 'sched', 'postgres', 'faults', 'offcpu', 'slowsys', 'netdev'];

/**
 * `--families` as a user gives it: `a,b` (exactly those) or `+a,b` (the default set and those).
 * A one-line error for an unknown or repeated name. Pure.
 */
export function parseFamilies(raw: string): { families?: string[]; extraFamilies?: string[] } | string {
  const plus = raw.startsWith('+');
  const names = (plus ? raw.slice(1) : raw).split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) return `--families has an empty name in '${raw}'`;
  const unknown = names.find((n) => !(LOADER_FAMILIES as readonly string[]).includes(n));
  if (unknown !== undefined) return `unknown family '${unknown}' (known: ${LOADER_FAMILIES.join(', ')})`;
  if (new Set(names).size !== names.length) return `--families names a family twice in '${raw}'`;
  return plus ? { extraFamilies: names } : { families: names };
}

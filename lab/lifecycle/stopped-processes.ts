/**
 * Lab processes that are stopped (process state T, or t under a debugger): a stopped PostgreSQL
 * backend or app answers nothing, so every request that needs it hangs while the pid still
 * exists and the lab looks up.
 */
import type { ProxyKind } from '../../shared/modes.ts';
import { childPids, processCmdline, processState } from './processes.ts';

/** One lab process, as `lab status` and `lab doctor` name it. */
export interface LabProcess {
  readonly pid: number;
  /** 'nginx master', 'nginx worker', 'node proxy', 'app', 'postgres postmaster', 'postgres backend'. */
  readonly role: string;
}

export interface StoppedProcess extends LabProcess {
  /** The command line, e.g. `postgres: lab reqtrace 127.0.0.1(36982) idle` (clipped). */
  readonly command: string;
}

/** The running tiers' pids, as LabStatus holds them. */
export interface TierPids {
  readonly proxy: { readonly kind: ProxyKind | null; readonly pid: number | null; readonly workers: readonly number[] };
  readonly app: { readonly pid: number | null };
  readonly postgres: { readonly pid: number | null };
}

/** Every process of the lab: the tiers' pids plus the postmaster's children (its backends and helpers). */
export function labProcesses(s: TierPids, children: (pid: number) => readonly number[] = childPids): LabProcess[] {
  const out: LabProcess[] = [];
  if (s.proxy.pid !== null) {
    out.push({ pid: s.proxy.pid, role: s.proxy.kind === 'node' ? 'node proxy' : 'nginx master' });
    for (const w of s.proxy.workers) out.push({ pid: w, role: 'nginx worker' });
  }
  if (s.app.pid !== null) out.push({ pid: s.app.pid, role: 'app' });
  if (s.postgres.pid !== null) {
    out.push({ pid: s.postgres.pid, role: 'postgres postmaster' });
    for (const c of children(s.postgres.pid)) out.push({ pid: c, role: 'postgres backend' });
  }
  return out;
}

/** The processes among `procs` whose state is T or t. */
export function stoppedAmong(
  procs: readonly LabProcess[],
  state: (pid: number) => string | null = processState,
  cmdline: (pid: number) => string | null = processCmdline,
): StoppedProcess[] {
  return procs
    .filter((p) => {
      const st = state(p.pid);
      return st === 'T' || st === 't';
    })
    .map((p) => ({ ...p, command: clip(cmdline(p.pid) ?? '') }));
}

/** Lab processes that are stopped now. */
export function stoppedLabProcesses(s: TierPids): StoppedProcess[] {
  return stoppedAmong(labProcesses(s));
}

/**
 * The problem as one line with the pids and what to do, or null when nothing is stopped. Pure.
 *   3 lab process(es) stopped (state T), so requests that need them hang: postgres backend 412 …;
 *   `lab down` resumes and stops them, or `kill -CONT 412 413 414` resumes them
 */
export function formatStopped(stopped: readonly StoppedProcess[]): string | null {
  if (stopped.length === 0) return null;
  const shown = stopped.slice(0, 8).map((p) => `${p.role} ${p.pid}${p.command ? ` (${p.command})` : ''}`);
  const more = stopped.length > shown.length ? `, and ${stopped.length - shown.length} more` : '';
  const pids = stopped.map((p) => p.pid).join(' ');
  return `${stopped.length} lab process(es) stopped (state T), so requests that need them hang: ${shown.join(', ')}${more}; \`lab down\` resumes and stops them, or \`kill -CONT ${pids}\` resumes them`;
}

function clip(command: string): string {
  const safe = command.replace(/[^\x20-\x7e]/g, '?');
  return safe.length > 60 ? `${safe.slice(0, 60)}...` : safe;
}

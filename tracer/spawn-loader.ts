/**
 * The one module that runs the BPF loader (probes/build/reqtrace). The loader's stdout (binary
 * records) goes straight into events.bin through an inherited file descriptor, so no byte passes
 * through this process; its stderr is read line by line for the attach report and the final
 * summary with drop counters, and copied to loader.log.
 */
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, readFileSync, statSync, type WriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { EVENT_SCHEMA_VERSION } from './event-types.ts';

export const LOADER_PATH = join(import.meta.dirname, '..', 'probes', 'build', 'reqtrace');

/** Hook family → hook kind in use, as the loader reports on its `attached:` line. */
export type HookSet = Readonly<Record<string, string>>;

export type LoaderLine =
  | { readonly type: 'attached'; readonly hooks: HookSet }
  | { readonly type: 'summary'; readonly counters: Readonly<Record<string, number>> }
  | { readonly type: 'family-summary'; readonly family: string; readonly counters: Readonly<Record<string, number>> }
  | { readonly type: 'diagnostic'; readonly text: string };

const PAIR = /([A-Za-z_][\w.-]*)=(\S+)/g;

function pairs(text: string): Array<[string, string]> {
  return [...text.matchAll(PAIR)].map((m) => [m[1] as string, m[2] as string]);
}

/**
 * Classifies one stderr line of the loader:
 *   `attached: usdt=usdt sockets=tracepoint files=tracepoint`   → the hook set
 *   `summary: events=N lost=N ringbuf_drops=N ...`              → counters (integers)
 *   `postgres: backends_attached=15 attach_failed=0`           → a family's own counters
 *     (only after the summary, where families print theirs)
 * anything else is a diagnostic. Pure.
 */
export function parseLoaderLine(line: string, afterSummary = false): LoaderLine {
  const t = line.trim();
  const fam = afterSummary ? /^([a-z][\w-]*):((?:\s+[A-Za-z_][\w.-]*=\S+)+)$/.exec(t) : null;
  if (fam) {
    const counters: Record<string, number> = {};
    for (const [k, v] of pairs(fam[2] as string)) if (/^\d+$/.test(v)) counters[k] = Number(v);
    return { type: 'family-summary', family: fam[1] as string, counters };
  }
  const m = /^(attached|summary):\s*(.*)$/.exec(t);
  if (m && m[1] === 'attached') return { type: 'attached', hooks: Object.fromEntries(pairs(m[2] as string)) };
  if (m && m[1] === 'summary') {
    const counters: Record<string, number> = {};
    for (const [k, v] of pairs(m[2] as string)) {
      const n = Number(v);
      if (/^\d+$/.test(v) && Number.isSafeInteger(n)) counters[k] = n;
    }
    return { type: 'summary', counters };
  }
  return { type: 'diagnostic', text: t };
}

/** Counters of the loader's summary that are not losses. */
const NOT_DROPS = new Set(['records', 'bytes', 'events', 'drained']);

/** The summary's loss counters: everything but the record and byte totals. */
export function dropCounters(counters: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).filter(([k]) => !NOT_DROPS.has(k)));
}

/** A loaded BPF program: its kernel id (as bpftool and bpf_stats name it) and its name in the family's object. */
export interface LoaderProgram {
  readonly id: number;
  readonly name: string;
}

/** Family → its loaded programs. */
export type LoaderPrograms = Readonly<Record<string, readonly LoaderProgram[]>>;

/** The overhead guard detached a family: when (CLOCK_MONOTONIC ns), and what it cost (% of the lab's CPU). */
export interface LoaderShed {
  readonly family: string;
  readonly atNs: string;
  readonly familyPct: number;
  readonly totalPct: number;
  readonly budgetPct: number;
}

/** One JSON line of the loader's --status-fd stream. */
export type LoaderStatus =
  | ({ readonly event: 'shed' } & LoaderShed)
  | { readonly event: 'attached'; readonly schema: number; readonly sample: number; readonly hooks: HookSet; readonly progs: LoaderPrograms }
  | {
      readonly event: 'exit';
      readonly stop: string;
      readonly records: number;
      readonly bytes: number;
      readonly malformed: number;
      readonly drops: Readonly<Record<string, number>>;
      /** Records per event kind number. */
      readonly kinds: Readonly<Record<string, number>>;
    };

/** Parses one status line; null for anything that is not a known status object. Pure. */
export function parseStatusLine(line: string): LoaderStatus | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const numRecord = (x: unknown): x is Record<string, number> =>
    typeof x === 'object' && x !== null && Object.values(x).every((n) => typeof n === 'number');
  if (o.event === 'attached' && typeof o.hooks === 'object' && o.hooks !== null) {
    return { event: 'attached', schema: Number(o.schema), sample: Number(o.sample), hooks: o.hooks as HookSet, progs: parsePrograms(o.progs) };
  }
  if (o.event === 'shed' && typeof o.family === 'string' && typeof o.at_ns === 'number') {
    return { event: 'shed', family: o.family, atNs: String(o.at_ns), familyPct: Number(o.family_pct), totalPct: Number(o.total_pct), budgetPct: Number(o.budget_pct) };
  }
  if (o.event === 'exit' && numRecord(o.drops)) {
    return {
      event: 'exit',
      stop: String(o.stop),
      records: Number(o.records),
      bytes: Number(o.bytes),
      malformed: Number(o.malformed),
      drops: o.drops,
      kinds: numRecord(o.kinds) ? o.kinds : {},
    };
  }
  return null;
}

function parsePrograms(v: unknown): LoaderPrograms {
  if (typeof v !== 'object' || v === null) return {};
  const out: Record<string, LoaderProgram[]> = {};
  for (const [family, list] of Object.entries(v)) {
    if (!Array.isArray(list)) continue;
    out[family] = list.flatMap((p: unknown) => {
      const q = p as { id?: unknown; name?: unknown } | null;
      return q && typeof q.id === 'number' && typeof q.name === 'string' ? [{ id: q.id, name: q.name }] : [];
    });
  }
  return out;
}

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
  /** PostgreSQL's rewrite phase and commits too (two more traps per statement). */
  readonly pgDetail?: boolean;
  /** The overhead guard's budget, % of the traced processes' CPU (--cpu-budget). */
  readonly cpuBudgetPct?: number;
  /** What a USDT hit costs here at a 1-byte and a 5-byte nop, ns: the guard's price of a trap. */
  readonly hookNs?: { readonly nop1: number; readonly nop5: number };
  /** The sockets family's hooks (default: detected). */
  readonly socketHooks?: 'auto' | 'tp_btf' | 'syscalls';
  /** The slowsys family's threshold, ms (the loader's default: 10). */
  readonly slowSyscallMs?: number;
  readonly verbose?: boolean;
}

/** The loader's command line for these targets. Pure. */
export function loaderArgs(t: LoaderTargets): string[] {
  const args = ['--app-pid', String(t.appPid), '--addon', t.addonPath];
  for (const p of t.nginxPids) args.push('--nginx-pid', String(p));
  if (t.pgPid !== null) args.push('--pg-pid', String(t.pgPid));
  if (t.families && t.families.length) args.push('--families', t.families.join(','));
  else if (t.extraFamilies && t.extraFamilies.length) args.push('--families', `+${t.extraFamilies.join(',')}`);
  args.push('--sample', String(t.sample), '-d', String(Math.ceil(t.maxSeconds)));
  if (t.keepSlowerThanMs !== undefined) args.push('--keep-slower-than', String(t.keepSlowerThanMs));
  if (t.pgDetail) args.push('--pg-detail');
  if (t.cpuBudgetPct !== undefined) args.push('--cpu-budget', String(t.cpuBudgetPct));
  if (t.hookNs) args.push('--hook-ns', `${Math.max(1, Math.round(t.hookNs.nop1))},${Math.max(1, Math.round(t.hookNs.nop5))}`);
  if (t.socketHooks !== undefined && t.socketHooks !== 'auto') args.push('--socket-hooks', t.socketHooks);
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

export type LoaderErrorCode = 'missing' | 'unprivileged' | 'attach-failed' | 'attach-timeout' | 'schema';

/** A loader start failure, with a code the caller can branch on (e.g. to fall back without BPF). */
export class LoaderError extends Error {
  constructor(
    readonly code: LoaderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LoaderError';
  }
}

/** Capabilities (from /proc/self/status CapEff) that let a process load and attach BPF. */
export function hasBpfPrivileges(status = safeRead('/proc/self/status'), euid = process.geteuid?.() ?? -1): boolean {
  if (euid === 0) return true;
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!hex) return false;
  const caps = BigInt(`0x${hex}`);
  const has = (bit: number): boolean => ((caps >> BigInt(bit)) & 1n) === 1n;
  const CAP_SYS_ADMIN = 21;
  const CAP_PERFMON = 38;
  const CAP_BPF = 39;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface LoaderResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly hooks: HookSet;
  /** Why the loader stopped, as it says ('signal', 'duration', 'app-exit', 'error'), or null. */
  readonly stop: string | null;
  /** REQTRACE_SCHEMA_VERSION of the records, from the attach status; null when not reported. */
  readonly schema: number | null;
  /** Records per event kind number, from the exit status ({} when not reported). */
  readonly kinds: Readonly<Record<string, number>>;
  /** Each family's summary counters. */
  readonly families: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Every integer counter of the summary line. */
  readonly counters: Readonly<Record<string, number>>;
  /**
   * Losses by counter name: the loader's drop counters plus `malformed` (records it refused to
   * write). Empty when the loader ended without a summary.
   */
  readonly drops: Readonly<Record<string, number>>;
  /** False when the loader ended without printing its summary (killed, crashed). */
  readonly summarySeen: boolean;
  readonly eventBytes: number;
  /** Diagnostic lines, last ones kept (at most 50). */
  readonly diagnostics: readonly string[];
  /** Families the overhead guard detached, in order. */
  readonly sheds: readonly LoaderShed[];
  /** The loader's exit status line as it wrote it, or null when it wrote none. */
  readonly exit: Extract<LoaderStatus, { event: 'exit' }> | null;
}

export interface LoaderHandle {
  readonly pid: number;
  /** Resolves with the hook set once the loader reports it attached; rejects (LoaderError) if it exits or times out first. */
  readonly attached: Promise<HookSet>;
  /** The programs each family loaded, from the attach status ({} when the loader never reported them). */
  readonly programs: Promise<LoaderPrograms>;
  /** Resolves when the loader has exited and events.bin is complete. */
  readonly exited: Promise<LoaderResult>;
  /**
   * Asks the loader to detach and exit (SIGINT); kills it when it has not printed its summary
   * within `graceMs`; resolves when it is gone.
   */
  stop(graceMs?: number): Promise<LoaderResult>;
}

export interface SpawnLoaderOptions {
  readonly binary?: string;
  readonly args: readonly string[];
  /** File that receives the loader's stdout unchanged (created or truncated). */
  readonly eventsPath: string;
  /** Copy of the loader's stderr. */
  readonly logPath?: string;
  readonly attachTimeoutMs?: number;
  /** Each stderr line as it arrives (progress display). */
  readonly onLine?: (line: LoaderLine) => void;
  /** The overhead guard detached a family (as it happens). */
  readonly onShed?: (shed: LoaderShed) => void;
  /** Called when this process receives SIGINT/SIGTERM while the loader runs (after forwarding it). */
  readonly onSignal?: (signal: NodeJS.Signals) => void;
  /** Skips the privilege check (for a stand-in binary in tests). */
  readonly skipPrivilegeCheck?: boolean;
}

const MAX_DIAGNOSTICS = 50;
const PERMISSION = /EPERM|EACCES|Operation not permitted|Permission denied|must be root|CAP_BPF/i;

/** How long an `attached:` on stderr waits for the status line that carries the schema. */
const STATUS_GRACE_MS = 1000;

/** Starts the loader. Throws LoaderError at once when the binary is missing or this process lacks privileges. */
export function spawnLoader(opts: SpawnLoaderOptions): LoaderHandle {
  const binary = opts.binary ?? LOADER_PATH;
  if (!existsSync(binary)) {
    const shown = relative(process.cwd(), binary) || binary;
    throw new LoaderError('missing', `the BPF loader ${shown} is not built: run \`npm run build\``);
  }
  if (!opts.skipPrivilegeCheck && !hasBpfPrivileges()) {
    throw new LoaderError('unprivileged', 'tracing with BPF needs root (or CAP_BPF and CAP_PERFMON): run `sudo lab trace ...`');
  }

  const outFd = openSync(opts.eventsPath, 'w');
  // fd 3 carries the loader's JSON status lines (attached, exit): exact, where stderr is prose.
  const child = spawn(binary, [...opts.args, '--status-fd', '3'], { stdio: ['ignore', outFd, 'pipe', 'pipe'] });
  // The child holds its own copy of the descriptor.
  closeSync(outFd);
  const log: WriteStream | null = opts.logPath ? createWriteStream(opts.logPath) : null;

  const timeoutMs = opts.attachTimeoutMs ?? 30_000;
  let attachTimer: NodeJS.Timeout | undefined;
  let hooks: HookSet | null = null;
  let stderrGrace: NodeJS.Timeout | undefined;
  let counters: Record<string, number> = {};
  let summarySeen = false;
  let exitStatus: Extract<LoaderStatus, { event: 'exit' }> | null = null;
  let schema: number | null = null;
  const families: Record<string, Record<string, number>> = {};
  const diagnostics: string[] = [];
  const sheds: LoaderShed[] = [];
  let resolvePrograms!: (p: LoaderPrograms) => void;
  const programs = new Promise<LoaderPrograms>((res) => (resolvePrograms = res));
  let resolveAttached!: (h: HookSet) => void;
  let rejectAttached!: (e: Error) => void;
  const attached = new Promise<HookSet>((res, rej) => {
    resolveAttached = (h) => {
      clearTimeout(attachTimer);
      res(h);
    };
    rejectAttached = rej;
  });
  // A caller that never awaits `attached` (e.g. after a failed start) must not crash the process.
  attached.catch(() => {});

  const stderr = child.stderr;
  if (stderr === null) throw new Error('spawnLoader: no stderr pipe');
  const rl = createInterface({ input: stderr });
  rl.on('line', (raw) => {
    log?.write(raw + '\n');
    const line = parseLoaderLine(raw, summarySeen);
    if (line.type === 'attached') {
      // Resolved by the status line, which carries the schema to check; a loader that writes none
      // (an older one) is taken at its word after a grace period.
      const said = line.hooks;
      stderrGrace = setTimeout(() => {
        if (hooks !== null || schema !== null) return;
        hooks = said;
        resolveAttached(said);
      }, STATUS_GRACE_MS);
    } else if (line.type === 'summary') {
      counters = { ...counters, ...line.counters };
      summarySeen = true;
    } else if (line.type === 'family-summary') {
      families[line.family] = { ...families[line.family], ...line.counters };
    } else if (line.text !== '') {
      diagnostics.push(line.text);
      if (diagnostics.length > MAX_DIAGNOSTICS) diagnostics.shift();
    }
    opts.onLine?.(line);
  });

  attachTimer = setTimeout(() => {
    rejectAttached(new LoaderError('attach-timeout', `the loader did not report 'attached' within ${timeoutMs / 1000} s${lastWords(diagnostics)}`));
    child.kill('SIGKILL');
  }, timeoutMs);

  let signals = 0;
  const forward = (sig: NodeJS.Signals): void => {
    signals++;
    // A second signal means "now": do not wait for the loader's orderly detach.
    child.kill(signals > 1 ? 'SIGKILL' : sig);
    opts.onSignal?.(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);

  const statusPipe = child.stdio[3];
  const statusDone = new Promise<void>((res) => {
    if (!statusPipe || !('on' in statusPipe)) {
      resolvePrograms({});
      return res();
    }
    const srl = createInterface({ input: statusPipe as NodeJS.ReadableStream });
    srl.on('line', (raw) => {
      const st = parseStatusLine(raw);
      if (st?.event === 'attached') {
        schema = st.schema;
        resolvePrograms(st.progs);
        if (st.schema !== EVENT_SCHEMA_VERSION) {
          rejectAttached(
            new LoaderError('schema', `the loader writes records of schema ${st.schema}, this tracer reads schema ${EVENT_SCHEMA_VERSION}: rebuild it (\`npm run build\`)`),
          );
          child.kill('SIGTERM');
        } else if (hooks === null) {
          hooks = st.hooks;
          resolveAttached(st.hooks);
        }
      } else if (st?.event === 'shed') {
        const { event: _, ...shed } = st;
        sheds.push(shed);
        opts.onShed?.(shed);
      } else if (st?.event === 'exit') {
        exitStatus = st;
      }
    });
    srl.once('close', () => {
      resolvePrograms({});
      res();
    });
  });
  const stderrDone = Promise.all([new Promise<void>((res) => rl.once('close', res)), statusDone]);
  const exited = new Promise<LoaderResult>((resolve) => {
    child.once('error', (err) => {
      diagnostics.push(`cannot run ${binary}: ${err.message}`);
    });
    child.once('close', (exitCode, signal) => {
      void stderrDone.then(async () => {
        clearTimeout(attachTimer);
        clearTimeout(stderrGrace);
        process.off('SIGINT', forward);
        process.off('SIGTERM', forward);
        if (log) await new Promise<void>((res) => log.end(res));
        if (hooks === null) {
          const words = lastWords(diagnostics);
          const code: LoaderErrorCode = diagnostics.some((d) => PERMISSION.test(d)) ? 'unprivileged' : 'attach-failed';
          const why = signal ? `was killed by ${signal}` : `exited with status ${exitCode}`;
          rejectAttached(
            new LoaderError(
              code,
              code === 'unprivileged'
                ? `the kernel refused the loader (needs root or CAP_BPF and CAP_PERFMON: run with sudo)${words}`
                : `the loader ${why} before attaching${words}`,
            ),
          );
        }
        const exit = exitStatus as Extract<LoaderStatus, { event: 'exit' }> | null;
        resolve({
          exitCode,
          signal,
          hooks: hooks ?? {},
          stop: exit?.stop ?? null,
          schema,
          kinds: exit?.kinds ?? {},
          families,
          counters: exit ? { records: exit.records, bytes: exit.bytes, malformed: exit.malformed, ...exit.drops } : counters,
          drops: exit ? { ...exit.drops, malformed: exit.malformed } : dropCounters(counters),
          summarySeen: summarySeen || exit !== null,
          eventBytes: fileSize(opts.eventsPath),
          diagnostics: [...diagnostics],
          sheds: [...sheds],
          exit,
        });
      });
    });
  });

  let stopping: Promise<LoaderResult> | null = null;
  const stop = (graceMs = 10_000): Promise<LoaderResult> => {
    if (stopping) return stopping;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    // Once the summary is out, events.bin is complete and the loader is detaching; the kernel
    // work of detaching (one RCU grace period per uprobe) does not end sooner for a SIGKILL.
    const killer = setTimeout(() => {
      if (!summarySeen && exitStatus === null) child.kill('SIGKILL');
    }, graceMs);
    stopping = exited.finally(() => clearTimeout(killer));
    return stopping;
  };

  return { pid: child.pid ?? -1, attached, programs, exited, stop };
}

function lastWords(diagnostics: readonly string[]): string {
  const last = diagnostics.slice(-2).join(' | ');
  return last ? `: ${last}` : '';
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

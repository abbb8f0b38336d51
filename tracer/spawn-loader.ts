/**
 * The one module that runs the BPF loader (probes/build/reqtrace). The loader's stdout (binary
 * records) goes straight into events.bin through an inherited file descriptor, so no byte passes
 * through this process; its stderr is read line by line for the attach report and the final
 * summary with drop counters, and copied to loader.log.
 */
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, statSync, type WriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { EVENT_SCHEMA_VERSION } from '../shared/event-types.ts';
import { hasBpfPrivileges } from './bpf-privileges.ts';
import { dropCounters, parseLoaderLine, parseStatusLine, type HookSet, type LoaderLine, type LoaderPrograms, type LoaderShed, type LoaderStatus } from './parse-loader-output.ts';

export const LOADER_PATH = join(import.meta.dirname, '..', 'probes', 'build', 'reqtrace');

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

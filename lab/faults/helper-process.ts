/**
 * A helper process of a fault (the relay, nfq-fault, the CPU competitor): started, awaited until
 * it prints `ready`, and stopped with SIGTERM (SIGKILL after a grace period). Each helper also
 * bounds its own life, so none outlives a run that was killed.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface HelperExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Every stdout line, `ready` included. */
  readonly lines: readonly string[];
  /** The last stderr lines, for error messages. */
  readonly stderr: string;
}

export interface HelperProcess {
  readonly pid: number;
  /** Writes one line to its stdin. */
  send(line: string): void;
  /** Resolves with the first stdout line after this call that `match` accepts. */
  nextLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  readonly exited: Promise<HelperExit>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<HelperExit>;
}

/** Starts `cmd args` (in `cwd`) and waits for its `ready` line; throws one line naming `name` when it does not come. */
export async function startHelper(name: string, cmd: string, args: readonly string[], opts: { readonly readyTimeoutMs?: number; readonly cwd?: string } = {}): Promise<HelperProcess> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  const lines: string[] = [];
  const waiters: { readonly match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (!w.match(line)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  });
  const exited = new Promise<HelperExit>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, lines, stderr: `${stderr}${err.message}` }));
    child.once('close', (code, signal) => resolve({ code, signal, lines, stderr }));
  });
  const nextLine = (match: (l: string) => boolean, timeoutMs: number): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const w = { match, resolve: (l: string): void => resolve(l) };
      waiters.push(w);
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`${name} gave no expected line within ${timeoutMs} ms`));
      }, timeoutMs);
      void exited.then((x) => {
        clearTimeout(timer);
        if (waiters.includes(w)) {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${name} exited (${x.signal ?? `status ${x.code}`}): ${x.stderr.trim().split('\n').at(-1) ?? ''}`));
        }
      });
      const done = w.resolve;
      w.resolve = (l: string) => {
        clearTimeout(timer);
        done(l);
      };
    });
  let stopping: Promise<HelperExit> | null = null;
  const helper: HelperProcess = {
    pid: child.pid ?? -1,
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    nextLine,
    exited,
    stop: (graceMs = 3000) => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const x = await exited;
        clearTimeout(timer);
        return x;
      })();
      return stopping;
    },
  };
  try {
    await nextLine((l) => l === 'ready', readyTimeoutMs);
  } catch (err) {
    await helper.stop(500);
    throw err;
  }
  return helper;
}

/**
 * The one way tests run the `lab` command: `node cli/lab.mjs <args>` from the repository root, as
 * a user would, with the environment the test gives (a lab's LAB_PORT_BASE and LAB_STATE_DIR).
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..');
const LAB = join(REPO_ROOT, 'cli', 'lab.mjs');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Killed (SIGKILL) after this long; default 170 s. */
  readonly timeoutMs?: number;
  /** The progress text so far, each time more arrives. */
  readonly onStderr?: (text: string) => void;
  readonly onSpawn?: (child: ReturnType<typeof spawn>) => void;
  /** Run as another user (no supplementary groups). */
  readonly user?: { readonly uid: number; readonly gid: number };
  /** In its own process group, as a shell starts a foreground job (so a test can signal the group, as Ctrl-C does). */
  readonly processGroup?: boolean;
}

/** Runs `lab <args>` and resolves with its exit status and output. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAB, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
      ...(opts.processGroup ? { detached: true } : {}),
    });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      try {
        if (opts.processGroup && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs ?? 170_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `runCli` for a command that needs no lab and finishes quickly (show, export, analyze of a capture on disk). */
export function runCliSync(args: readonly string[], opts: Pick<CliOptions, 'env' | 'timeoutMs'> = {}): CliRun {
  const r = spawnSync(process.execPath, [LAB, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

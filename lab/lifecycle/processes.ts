import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';

/** The pid in a pid file, or null when the file is absent or holds no pid. */
export function readPidFile(path: string): number | null {
  if (!existsSync(path)) return null;
  const n = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/** Process state letter from /proc/<pid>/stat, or null when there is no such process. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain ') ', so split at the last one.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
  } catch {
    return null;
  }
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== null && state !== 'Z' && state !== 'X';
}

/** The command line as one space-joined string, or null when unreadable. */
export function processCmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return null;
  }
}

/** One variable from a process's environment, or null (absent, or not readable). */
export function processEnv(pid: number, name: string): string | null {
  try {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((e) => e.startsWith(`${name}=`));
    return entry === undefined ? null : entry.slice(name.length + 1);
  } catch {
    return null;
  }
}

/** Whether this process may read `pid`'s environment (another user's process hides it). */
export function environReadable(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/environ`);
    return true;
  } catch {
    return false;
  }
}

/** Direct children of a process (nginx workers of a master). */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const c of text.split(/\s+/)) if (c) out.add(Number(c));
    }
  } catch {
    // The process is gone, or the kernel lacks CONFIG_PROC_CHILDREN: scan parents instead.
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) out.add(Number(entry));
      } catch {
        // raced with an exit
      }
    }
  }
  return [...out].filter(isAlive).sort((a, b) => a - b);
}

/**
 * Sends SIGCONT to the children of `pid` that are stopped. While tracing, the loader holds a
 * newly forked PostgreSQL backend stopped until its probes are attached; a loader killed in that
 * window would leave the backend stopped for good. Returns the pids it resumed.
 */
export function resumeStoppedChildren(pid: number): number[] {
  const resumed: number[] = [];
  for (const child of childPids(pid)) {
    if (processState(child) !== 'T') continue;
    try {
      process.kill(child, 'SIGCONT');
      resumed.push(child);
    } catch {
      // exited meanwhile
    }
  }
  return resumed;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/**
 * Sends `signal`, waits up to `graceMs` for the pids to be gone, then SIGKILLs what is left and
 * waits again. Returns the pids still alive after that (normally none).
 */
export async function terminate(pids: readonly number[], signal: NodeJS.Signals = 'SIGTERM', graceMs = 8000): Promise<number[]> {
  const send = (sig: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        if (isAlive(pid)) process.kill(pid, sig);
      } catch {
        // exited between the check and the signal
      }
    }
  };
  send(signal);
  if (await waitUntil(() => pids.every((p) => !isAlive(p)), graceMs)) return [];
  send('SIGKILL');
  await waitUntil(() => pids.every((p) => !isAlive(p)), 3000);
  return pids.filter(isAlive);
}

/** Last `n` lines of a text file, for error messages; '' when unreadable. */
export function tailFile(path: string, n = 8): string {
  try {
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  }
}

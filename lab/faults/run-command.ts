/** Synchronous commands for fault setup (ip, iptables, tc, taskset, chrt), failing in one line. */
import { execFileSync } from 'node:child_process';

/** Runs `cmd args`; returns its stdout, or throws `cmd args…: <first stderr line>`. */
export function runCommand(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? 'not installed' : (e.stderr ?? '').trim().split('\n')[0] || e.message.split('\n')[0];
    throw new Error(`${cmd} ${args.join(' ')}: ${why}`);
  }
}

/** True when `cmd args` exits 0. */
export function commandSucceeds(cmd: string, args: readonly string[]): boolean {
  try {
    runCommand(cmd, args);
    return true;
  } catch {
    return false;
  }
}

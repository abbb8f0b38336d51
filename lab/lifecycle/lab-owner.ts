/**
 * A lab belongs to the user who owns its state directory: only that user starts and stops it
 * and writes its pid files and state. Anyone else reads it (`lab status`, `lab doctor`, `lab
 * show`) without changing a file.
 */
import { readFileSync, statSync } from 'node:fs';

/** The uid that owns `stateDir`, or null when it does not exist yet (the first `lab up` creates it). */
export function stateDirOwner(stateDir: string): number | null {
  try {
    return statSync(stateDir).uid;
  } catch {
    return null;
  }
}

/** A user's name from passwd-format text, or null. Pure. */
export function userName(passwd: string, uid: number): string | null {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length > 2 && f[2] === String(uid)) return f[0] || null;
  }
  return null;
}

/**
 * Why user `euid` must not run `command` on the lab in `stateDir` owned by `ownerUid`, or null
 * when it may (it owns the lab, or there is no lab yet). Pure.
 */
export function ownerRefusal(command: string, stateDir: string, ownerUid: number | null, euid: number, nameOf: (uid: number) => string | null = () => null): string | null {
  if (ownerUid === null || ownerUid === euid) return null;
  const name = nameOf(ownerUid);
  const owner = ownerUid === 0 ? 'root' : `uid ${ownerUid}${name ? ` (${name})` : ''}`;
  const how = ownerUid === 0 ? `\`sudo lab ${command}\`` : `\`lab ${command}\` as ${name ?? `uid ${ownerUid}`}`;
  return `the lab in ${stateDir} belongs to ${owner}, and \`lab ${command}\` changes its processes and pid files: run ${how}, or set LAB_STATE_DIR to a lab of your own`;
}

/** Throws the refusal when this process's user does not own the lab in `stateDir`. */
export function assertLabOwner(command: string, stateDir: string): void {
  const euid = process.geteuid?.() ?? -1;
  const refusal = ownerRefusal(command, stateDir, stateDirOwner(stateDir), euid, (uid) => {
    try {
      return userName(readFileSync('/etc/passwd', 'utf8'), uid);
    } catch {
      return null;
    }
  });
  if (refusal !== null) throw new Error(refusal);
}

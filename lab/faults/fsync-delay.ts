/**
 * A slow disk for PostgreSQL where no cgroup can throttle its writes: the server restarted with
 * fsync-delay.so preloaded (lab/faults/fsync-delay/), which makes every fsync and fdatasync wait
 * the ms written in a control file — 0 until the fault is on. Restoring restarts the server
 * without it. The server carries LAB_INJECT_OWNER, so one left so by a killed run is recognized.
 */
import { chmodSync, chownSync, copyFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabConfig } from '../config.ts';
import { startPostgres, stopPostgres } from '../db/postgres.ts';
import { pgPaths, runningPostgres } from '../db/postgres-cluster.ts';
import { REPO_ROOT } from '../lifecycle/app-tier.ts';
import { OWNER_VARIABLE } from './app-settings.ts';

export const FSYNC_DELAY_LIB = join(REPO_ROOT, 'lab', 'faults', 'fsync-delay', 'build', 'fsync-delay.so');

export interface PreloadedFsyncDelay {
  /** Every fsync and fdatasync of the server waits `ms` more from now (0: none). */
  set(ms: number): void;
  /** Restarts the server without the library and removes its files. */
  restore(): Promise<void>;
}

/** Restarts the lab's PostgreSQL with the delay library preloaded, the delay at 0. */
export async function restartPostgresWithFsyncDelay(cfg: LabConfig, owner: number): Promise<PreloadedFsyncDelay> {
  const kind = runningPostgres(cfg)?.kind ?? 'system';
  const paths = pgPaths(cfg, kind);
  // In the server's own directory: its user reaches it wherever the repository lives.
  const lib = join(paths.root, 'fsync-delay.so');
  const control = join(paths.root, 'fsync-delay-ms');
  const { uid, gid } = statSync(paths.root);
  copyFileSync(FSYNC_DELAY_LIB, lib);
  writeFileSync(control, '0\n');
  for (const f of [lib, control]) {
    chownSync(f, uid, gid);
    chmodSync(f, 0o644);
  }
  const set = (ms: number): void => writeFileSync(control, `${Math.max(0, Math.round(ms))}\n`);
  await stopPostgres(cfg);
  await startPostgres(cfg, { kind, serverEnv: { LD_PRELOAD: lib, LAB_FSYNC_DELAY_FILE: control, [OWNER_VARIABLE]: String(owner) } });
  return {
    set,
    restore: async () => {
      set(0);
      await stopPostgres(cfg);
      await startPostgres(cfg, { kind });
      rmSync(lib, { force: true });
      rmSync(control, { force: true });
    },
  };
}

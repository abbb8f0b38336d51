/**
 * What a killed run left behind — its network namespace and veth, its throttle cgroup, the app
 * it restarted with other settings, PostgreSQL restarted with the fsync delay preloaded — found
 * by the owner pid in their names (or the processes' environment) and removed when that process
 * is gone.
 */
import { readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabConfig } from '../config.ts';
import { appPid } from '../lifecycle/app-tier.ts';
import { startPostgres, stopPostgres } from '../db/postgres.ts';
import { postgresPid, runningPostgres } from '../db/postgres-cluster.ts';
import { isAlive, processEnv } from '../lifecycle/processes.ts';
import { OWNER_VARIABLE, readAppSettings, restartApp } from './app-settings.ts';
import type { IoController } from './io-throttle.ts';
import { deleteNetnsLink, listNetns, NETNS_PREFIX, netnsLinkFor, netnsOwner } from './netns-link.ts';

/** The names among `names` made by a process that is gone (never `self`'s). Pure. */
export function staleNames(names: readonly string[], alive: (pid: number) => boolean, self: number): string[] {
  return names.filter((n) => {
    const owner = netnsOwner(n);
    return owner !== null && owner !== self && !alive(owner);
  });
}

/** Removes what dead runs left; returns one line per thing removed (or that could not be). */
export async function removeStaleFaults(cfg: LabConfig, io: IoController | string): Promise<string[]> {
  const done: string[] = [];
  const self = process.pid;
  let namespaces: string[] = [];
  try {
    namespaces = listNetns();
  } catch {
    // No `ip`: no namespace of ours can exist either.
  }
  for (const ns of staleNames(namespaces, isAlive, self)) {
    try {
      deleteNetnsLink({ netns: ns, hostIf: netnsLinkFor(netnsOwner(ns) as number).hostIf });
      done.push(`removed network namespace ${ns} left by a run that is gone`);
    } catch (err) {
      done.push(`could not remove network namespace ${ns}: ${(err as Error).message}`);
    }
  }
  if (typeof io !== 'string') {
    let entries: string[] = [];
    try {
      entries = readdirSync(io.root).filter((n) => n.startsWith(NETNS_PREFIX));
    } catch {
      entries = [];
    }
    for (const name of staleNames(entries, isAlive, self)) {
      const dir = join(io.root, name);
      try {
        for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(io.root, 'cgroup.procs'), `${p}\n`);
        rmdirSync(dir);
        done.push(`removed throttle cgroup ${dir} left by a run that is gone`);
      } catch (err) {
        done.push(`could not remove throttle cgroup ${dir}: ${(err as Error).message}`);
      }
    }
  }
  const pg = postgresPid(cfg);
  const pgOwner = pg === null ? NaN : Number(processEnv(pg, OWNER_VARIABLE) ?? NaN);
  if (Number.isInteger(pgOwner) && pgOwner !== self && !isAlive(pgOwner)) {
    const kind = runningPostgres(cfg)?.kind;
    await stopPostgres(cfg);
    await startPostgres(cfg, kind ? { kind } : {});
    done.push(`restarted PostgreSQL without the fsync delay: run ${pgOwner}, which preloaded it, is gone`);
  }
  const app = appPid(cfg);
  const owner = app === null ? null : readAppSettings(app).owner;
  if (owner !== null && owner !== self && !isAlive(owner)) {
    await restartApp(cfg, {}, null);
    done.push(`restarted the app with its default settings: run ${owner}, which had changed them, is gone`);
  }
  return done;
}

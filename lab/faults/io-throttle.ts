/**
 * A slow disk for some processes: they are moved into a cgroup of the run's own whose writes to
 * one block device are throttled to N IOPS — cgroup v2's `io.max` (`wiops`), or where the io
 * controller is bound to the v1 hierarchy, blkio's `throttle.write_iops_device`. Writes that go
 * through the page cache are not slowed; synchronous ones are (an fsync, PostgreSQL's WAL flush
 * at commit). Undo moves every process in the cgroup (children forked meanwhile included) back
 * where it came from and removes the cgroup.
 */
import { mkdirSync, readFileSync, readlinkSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type IoController = { readonly kind: 'cgroup-v2'; readonly root: string } | { readonly kind: 'cgroup-v1-blkio'; readonly root: string };

/** The cgroup mounts of a `/proc/self/mounts` text: the v2 mount and the v1 blkio one. Pure. */
export function parseCgroupMounts(mounts: string): { readonly v2: string | null; readonly v1Blkio: string | null } {
  let v2: string | null = null;
  let v1Blkio: string | null = null;
  for (const line of mounts.split('\n')) {
    const [, dir, type, options] = line.split(' ');
    if (!dir) continue;
    if (type === 'cgroup2' && v2 === null) v2 = dir;
    if (type === 'cgroup' && (options ?? '').split(',').includes('blkio') && v1Blkio === null) v1Blkio = dir;
  }
  return { v2, v1Blkio };
}

/**
 * cgroup v2 when its root offers the io controller (`v2Controllers`: its cgroup.controllers),
 * else v1 blkio when mounted; otherwise why neither can throttle. Pure.
 */
export function chooseIoController(m: ReturnType<typeof parseCgroupMounts>, v2Controllers: string | null): IoController | string {
  if (m.v2 !== null && (v2Controllers ?? '').split(/\s+/).includes('io')) return { kind: 'cgroup-v2', root: m.v2 };
  if (m.v1Blkio !== null) return { kind: 'cgroup-v1-blkio', root: m.v1Blkio };
  return m.v2 === null ? 'no cgroup v2 mount and no v1 blkio hierarchy' : `cgroup v2 at ${m.v2} does not offer the io controller, and there is no v1 blkio hierarchy`;
}

/** The controller files that throttle writes to `device` (MAJ:MIN) to `writeIops`. Pure. */
export function throttleSettings(c: IoController, device: string, writeIops: number): { readonly file: string; readonly value: string }[] {
  return c.kind === 'cgroup-v2' ? [{ file: 'io.max', value: `${device} wiops=${writeIops}` }] : [{ file: 'blkio.throttle.write_iops_device', value: `${device} ${writeIops}` }];
}

/** A process's cgroup in the controller's hierarchy, from its /proc/PID/cgroup text. Pure. */
export function cgroupPathOf(procCgroup: string, c: IoController): string | null {
  for (const line of procCgroup.split('\n')) {
    const [, controllers, path] = /^(\d+):([^:]*):(.*)$/.exec(line.trim())?.slice(1) ?? [];
    if (path === undefined) continue;
    if (c.kind === 'cgroup-v2' ? controllers === '' : (controllers ?? '').split(',').includes('blkio')) return path;
  }
  return null;
}

/** The io controller here, or why there is none. */
export function detectIoController(): IoController | string {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch (err) {
    return `cannot read /proc/self/mounts (${(err as NodeJS.ErrnoException).code})`;
  }
  const m = parseCgroupMounts(mounts);
  let controllers: string | null = null;
  try {
    if (m.v2 !== null) controllers = readFileSync(join(m.v2, 'cgroup.controllers'), 'utf8');
  } catch {
    controllers = null;
  }
  return chooseIoController(m, controllers);
}

/**
 * The whole disk (MAJ:MIN) that holds `path` — a partition's parent, since the throttle takes
 * disks — or why there is none (a filesystem without a block device: tmpfs, overlay, …).
 */
export function blockDeviceOf(path: string): string | { readonly reason: string } {
  const dev = statSync(path).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff);
  const sys = `/sys/dev/block/${major}:${minor}`;
  try {
    const target = readlinkSync(sys);
    try {
      statSync(join(sys, 'partition'));
      return readFileSync(join(dirname(join('/sys/dev/block', target)), 'dev'), 'utf8').trim();
    } catch {
      return `${major}:${minor}`;
    }
  } catch {
    return { reason: `${path} is on device ${major}:${minor}, which is no block device (tmpfs, overlay or a similar filesystem)` };
  }
}

const pidsIn = (dir: string): number[] =>
  readFileSync(join(dir, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(Number);

/**
 * Moves `pids` into cgroup `name` under the controller, throttled; returns the undo, which puts
 * every process in it back where the first of `pids` was (the others where they were) and
 * removes the cgroup.
 */
export function throttleWrites(c: IoController, name: string, device: string, writeIops: number, pids: readonly number[]): () => void {
  const dir = join(c.root, name);
  const home = new Map(pids.map((p) => [p, cgroupPathOf(readFileSync(`/proc/${p}/cgroup`, 'utf8'), c) ?? '/']));
  const fallbackHome = home.get(pids[0] as number) ?? '/';
  let enabledIo = false;
  mkdirSync(dir);
  const undo = (): void => {
    const errors: string[] = [];
    let left: number[] = [];
    try {
      left = pidsIn(dir);
    } catch {
      return;
    }
    for (const p of left) {
      try {
        writeFileSync(join(c.root, home.get(p) ?? fallbackHome, 'cgroup.procs'), `${p}\n`);
      } catch (err) {
        // A process that exited meanwhile is not an error.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') errors.push(`pid ${p}: ${(err as Error).message}`);
      }
    }
    try {
      rmdirSync(dir);
    } catch (err) {
      errors.push(`rmdir ${dir}: ${(err as NodeJS.ErrnoException).code}`);
    }
    if (enabledIo) {
      try {
        writeFileSync(join(c.root, 'cgroup.subtree_control'), '-io\n');
      } catch {
        // Another cgroup uses the io controller now: leave it enabled.
      }
    }
    if (errors.length) throw new Error(`cannot remove the throttle cgroup: ${errors.join('; ')}`);
  };
  try {
    if (c.kind === 'cgroup-v2' && !readFileSync(join(c.root, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('io')) {
      writeFileSync(join(c.root, 'cgroup.subtree_control'), '+io\n');
      enabledIo = true;
    }
    for (const s of throttleSettings(c, device, writeIops)) writeFileSync(join(dir, s.file), `${s.value}\n`);
    for (const p of pids) writeFileSync(join(dir, 'cgroup.procs'), `${p}\n`);
  } catch (err) {
    undo();
    throw new Error(`cannot throttle writes in ${dir}: ${(err as Error).message}`);
  }
  return undo;
}

/**
 * Exact CPU time of chosen processes through cgroup v2: processes moved into a group of the
 * bench's own are charged there (their forks too), in ns kept by the scheduler, not sampled at
 * ticks; other work on the machine is not. Groups are made under the v2 hierarchy (/sys/fs/cgroup
 * on a v2 system, /sys/fs/cgroup/unified on a hybrid one), which needs no controller for
 * `cpu.stat`, so moving a process there changes nothing about how it runs. On close every process
 * goes back to where it was and the groups are removed.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup v2 mount, or null where there is none. */
export function cgroupV2Root(): string | null {
  for (const dir of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (existsSync(join(dir, 'cgroup.procs')) && existsSync(join(dir, 'cpu.stat'))) return dir;
  }
  return null;
}

/** `usage_usec` of a cpu.stat text, µs. Pure. */
export function parseCpuStatUsageUs(text: string): number {
  const m = /^usage_usec (\d+)$/m.exec(text);
  if (!m) throw new Error('cpu.stat has no usage_usec line');
  return Number(m[1]);
}

/** A process's v2 cgroup path (relative to the mount), from /proc/PID/cgroup's `0::` line. Pure. */
export function parseV2CgroupPath(text: string): string | null {
  const m = /^0::(\/.*)$/m.exec(text);
  return m ? (m[1] as string) : null;
}

export interface CpuGroup {
  readonly name: string;
  /** Moves `pid` (its threads with it) into the group; false when it is gone or cannot move. */
  add(pid: number): boolean;
  /** CPU time charged to the group since it was made, µs. */
  usageUs(): number;
}

export interface CpuGroups {
  group(name: string): CpuGroup;
  /** Every process back where it came from, the groups removed. Safe to call twice. */
  close(): void;
}

/** Groups under `<root>/<parent>`; `parent` is made, and removed on close. */
export function openCpuGroups(root: string, parent: string): CpuGroups {
  const base = join(root, parent);
  mkdirSync(base, { recursive: true });
  const origins = new Map<number, string>();
  const groups = new Map<string, CpuGroup>();
  let closed = false;

  const group = (name: string): CpuGroup => {
    const existing = groups.get(name);
    if (existing) return existing;
    const dir = join(base, name);
    mkdirSync(dir, { recursive: true });
    const g: CpuGroup = {
      name,
      add(pid) {
        try {
          if (!origins.has(pid)) {
            const from = parseV2CgroupPath(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
            if (from !== null) origins.set(pid, from);
          }
          writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
          return true;
        } catch {
          return false;
        }
      },
      usageUs: () => parseCpuStatUsageUs(readFileSync(join(dir, 'cpu.stat'), 'utf8')),
    };
    groups.set(name, g);
    return g;
  };

  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const name of groups.keys()) {
      const dir = join(base, name);
      let pids: number[] = [];
      try {
        pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      } catch {
        // gone already
      }
      // Forked inside the group: back with the process they came from, else to the root.
      const fallback = [...origins.values()][0] ?? '/';
      for (const pid of pids) {
        try {
          writeFileSync(join(root, origins.get(pid) ?? fallback, 'cgroup.procs'), `${pid}\n`);
        } catch {
          try {
            writeFileSync(join(root, 'cgroup.procs'), `${pid}\n`);
          } catch {
            // exited meanwhile
          }
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        // a process that could not move keeps it alive; the next bench reuses it
      }
    }
    try {
      rmdirSync(base);
    } catch {
      // not empty: see above
    }
  };
  return { group, close };
}

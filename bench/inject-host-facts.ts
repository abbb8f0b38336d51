/**
 * What this host offers the injection methods (bench/inject-methods.ts decides from it): tools,
 * privileges, a network namespace made and removed, netem tried in it, the io controller, the
 * disk under PostgreSQL's data.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import type { LabConfig } from '../lab/config.ts';
import { pgPaths } from '../lab/db/postgres-cluster.ts';
import { FSYNC_DELAY_LIB } from '../lab/faults/fsync-delay.ts';
import { blockDeviceOf, detectIoController } from '../lab/faults/io-throttle.ts';
import { NFQ_FAULT_PATH } from '../lab/faults/link-fault.ts';
import { createNetnsLink, deleteNetnsLink, inNetns, netnsLinkFor } from '../lab/faults/netns-link.ts';
import { commandSucceeds } from '../lab/faults/run-command.ts';
import type { HostFacts } from './inject-methods.ts';

const VERSION_FLAGS: Readonly<Record<keyof HostFacts['commands'], readonly string[]>> = {
  ip: ['-V'],
  iptables: ['--version'],
  tc: ['-V'],
  taskset: ['--version'],
  chrt: ['--version'],
};

/** A namespace made and removed, and whether netem loads in it; `tryNet` false skips both. */
function probeNetns(tryNet: boolean, root: boolean, ip: boolean, tc: boolean): { netns: true | string; netem: boolean } {
  if (!tryNet) return { netns: 'not tried (no network layer asked for)', netem: false };
  if (!root || !ip) return { netns: !root ? 'needs root' : 'ip (iproute2) is not installed', netem: false };
  const link = netnsLinkFor(process.pid);
  try {
    createNetnsLink(link);
  } catch (err) {
    return { netns: (err as Error).message, netem: false };
  }
  try {
    let netem = false;
    if (tc) {
      try {
        inNetns(link, 'tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
        netem = true;
        inNetns(link, 'tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
      } catch {
        // No sch_netem in this kernel (and no module to load).
      }
    }
    return { netns: true, netem };
  } finally {
    deleteNetnsLink(link);
  }
}

export function probeHostFacts(cfg: LabConfig, opts: { readonly pgUsdt: boolean; readonly tryNet: boolean }): HostFacts {
  const commands = Object.fromEntries(Object.entries(VERSION_FLAGS).map(([cmd, flags]) => [cmd, commandSucceeds(cmd, flags)])) as Record<keyof HostFacts['commands'], boolean>;
  const root = process.geteuid?.() === 0;
  let pgDevice: HostFacts['pgDevice'];
  try {
    pgDevice = blockDeviceOf(pgPaths(cfg).data);
  } catch (err) {
    pgDevice = { reason: `cannot stat PostgreSQL's data directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return {
    root,
    cpus: cpus().length,
    commands,
    ...probeNetns(opts.tryNet, root, commands.ip, commands.tc),
    nfqFault: existsSync(NFQ_FAULT_PATH),
    fsyncPreload: existsSync(FSYNC_DELAY_LIB),
    ioController: detectIoController(),
    pgDevice,
    pgUsdt: opts.pgUsdt,
  };
}

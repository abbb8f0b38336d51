/**
 * A network namespace of the run's own, joined to the host by a veth pair, through which the
 * app reaches PostgreSQL, so delay and loss can be applied to that link alone:
 *
 *   host namespace                                 reqtrace-inj-<pid>
 *   app ── 10.231.a.b+1 (rti<tag>h) ══ veth ══ (rti<tag>n) 10.231.a.b+2:<pg port> ── relay ── PostgreSQL's unix socket
 *                                                 └ NFQUEUE / netem here
 *
 * The namespace is named for the process that made it, so one left behind by a run that was
 * killed can be recognized and removed by the next.
 */
import { runCommand } from './run-command.ts';

export const NETNS_PREFIX = 'reqtrace-inj-';

export interface NetnsLink {
  readonly netns: string;
  /** The veth end in the host namespace, and its address. */
  readonly hostIf: string;
  readonly hostAddr: string;
  /** The veth end inside the namespace, and its address (where the relay listens). */
  readonly nsIf: string;
  readonly nsAddr: string;
}

/** Names and a /30 in 10.231.0.0/16 for the run of process `ownerPid`. Pure. */
export function netnsLinkFor(ownerPid: number): NetnsLink {
  const tag = ownerPid % 16384;
  const net = `10.231.${tag >> 6}`;
  const base = (tag & 63) * 4;
  return { netns: `${NETNS_PREFIX}${ownerPid}`, hostIf: `rti${tag}h`, hostAddr: `${net}.${base + 1}`, nsIf: `rti${tag}n`, nsAddr: `${net}.${base + 2}` };
}

/** The pid a namespace of this kind was made by, or null for other namespaces. Pure. */
export function netnsOwner(name: string): number | null {
  const m = new RegExp(`^${NETNS_PREFIX}(\\d+)$`).exec(name);
  return m ? Number(m[1]) : null;
}

/** The `ip` commands that make the link, in order. Pure. */
export function linkUpCommands(l: NetnsLink): string[][] {
  return [
    ['netns', 'add', l.netns],
    ['link', 'add', l.hostIf, 'type', 'veth', 'peer', 'name', l.nsIf],
    ['link', 'set', l.nsIf, 'netns', l.netns],
    ['addr', 'add', `${l.hostAddr}/30`, 'dev', l.hostIf],
    ['link', 'set', l.hostIf, 'up'],
    ['-n', l.netns, 'addr', 'add', `${l.nsAddr}/30`, 'dev', l.nsIf],
    ['-n', l.netns, 'link', 'set', l.nsIf, 'up'],
    ['-n', l.netns, 'link', 'set', 'lo', 'up'],
  ];
}

/** Host addresses now, from `ip -o -4 addr`. */
function hostAddresses(): string[] {
  return [...runCommand('ip', ['-o', '-4', 'addr', 'show']).matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1] as string);
}

/** Makes the link; on a failure, removes what it made and throws one line. */
export function createNetnsLink(l: NetnsLink): void {
  const taken = hostAddresses().find((a) => a === l.hostAddr || a === l.nsAddr);
  if (taken) throw new Error(`${taken} is already an address on this host: cannot make the link ${l.hostIf}`);
  try {
    for (const args of linkUpCommands(l)) runCommand('ip', args);
  } catch (err) {
    deleteNetnsLink(l);
    throw err;
  }
}

/**
 * Removes the namespace (its rules, qdiscs and veth end go with it) and the host's veth end,
 * which the kernel would otherwise drop only some time later. Idempotent.
 */
export function deleteNetnsLink(l: Pick<NetnsLink, 'netns' | 'hostIf'>): void {
  const errors: string[] = [];
  for (const args of [['netns', 'del', l.netns], ['link', 'del', l.hostIf]]) {
    try {
      runCommand('ip', args);
    } catch (err) {
      const m = (err as Error).message;
      if (!/No such file|Cannot find device|does not exist/i.test(m)) errors.push(m);
    }
  }
  if (errors.length > 0) throw new Error(errors.join('; '));
}

/** The namespaces on this host, from `ip netns list`. */
export function listNetns(): string[] {
  return runCommand('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** Runs `cmd args` inside the link's namespace. */
export function inNetns(l: Pick<NetnsLink, 'netns'>, cmd: string, args: readonly string[]): string {
  return runCommand('ip', ['netns', 'exec', l.netns, cmd, ...args]);
}

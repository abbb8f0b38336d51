/**
 * Delay or loss on the app → PostgreSQL direction of a netns link, by one of three methods:
 *
 *   netem               tc's netem qdisc on the namespace's veth end (the PostgreSQL → app
 *                       direction: its egress), where the kernel has it
 *   nfqueue             an iptables NFQUEUE rule in the namespace for packets to the relay's
 *                       port, and nfq-fault holding or dropping them
 *   iptables-statistic  loss only: every second data segment to the relay's port dropped
 *
 * Every rule and qdisc lives in the link's namespace and is removed when the fault stops (and
 * with the namespace in any case).
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../lifecycle/app-tier.ts';
import { startHelper, type HelperProcess } from './helper-process.ts';
import { inNetns, type NetnsLink } from './netns-link.ts';
import { HELPER_NICE } from './pg-relay.ts';

export const NFQ_FAULT_PATH = join(REPO_ROOT, 'lab', 'faults', 'nfq-fault', 'build', 'nfq-fault');

export type LinkFault = { readonly kind: 'delay'; readonly ms: number } | { readonly kind: 'loss' };

export type LinkFaultMethod = 'netem' | 'nfqueue' | 'iptables-statistic';

/** What the fault did, as far as its method counts. */
export interface LinkFaultReport {
  readonly method: LinkFaultMethod;
  /** Packets held (delay) or dropped (loss) by nfq-fault; null for the other methods. */
  readonly delayed: number | null;
  readonly dropped: number | null;
}

export interface AppliedLinkFault {
  /** Removes the rule or qdisc and stops the helper; safe to call twice. */
  stop(): Promise<LinkFaultReport>;
}

/** The queue number nfq-fault binds (queues are per namespace, and the namespace is the run's). */
export const NFQUEUE_NUM = 7;

/** Packets to the relay's port in the namespace: the app → PostgreSQL direction. */
const toRelay = (l: NetnsLink, pgPort: number): string[] => ['-p', 'tcp', '-d', l.nsAddr, '--dport', String(pgPort)];

/** The iptables rule (without -I/-D) a method installs in the namespace's INPUT chain, or null (netem). Pure. */
export function linkFaultRule(l: NetnsLink, pgPort: number, fault: LinkFault, method: LinkFaultMethod): string[] | null {
  switch (method) {
    case 'netem':
      return null;
    case 'nfqueue':
      return ['INPUT', ...toRelay(l, pgPort), '-j', 'NFQUEUE', '--queue-num', String(NFQUEUE_NUM), '--queue-bypass'];
    case 'iptables-statistic':
      if (fault.kind !== 'loss') throw new Error('iptables statistic drops packets; it cannot delay them');
      // 52 bytes is a bare header with timestamps: only segments that carry data are counted.
      return ['INPUT', ...toRelay(l, pgPort), '-m', 'length', '--length', '53:65535', '-m', 'statistic', '--mode', 'nth', '--every', '2', '--packet', '0', '-j', 'DROP'];
  }
}

/** The tc arguments of a netem fault on the namespace's veth end. Pure. */
export function netemArgs(l: NetnsLink, fault: LinkFault): string[] {
  return ['qdisc', 'add', 'dev', l.nsIf, 'root', 'netem', ...(fault.kind === 'delay' ? ['delay', `${fault.ms}ms`] : ['loss', '50%'])];
}

/** nfq-fault's arguments for a fault. Pure. */
export function nfqFaultArgs(fault: LinkFault, seconds: number): string[] {
  return ['--queue', String(NFQUEUE_NUM), ...(fault.kind === 'delay' ? ['--delay-ms', String(fault.ms)] : ['--drop-first']), '--duration', String(Math.max(1, Math.min(3600, Math.ceil(seconds))))];
}

/** Starts `fault` on the link; `seconds` bounds the helper's life. */
export async function applyLinkFault(l: NetnsLink, pgPort: number, fault: LinkFault, method: LinkFaultMethod, seconds: number): Promise<AppliedLinkFault> {
  if (method === 'netem') {
    inNetns(l, 'tc', netemArgs(l, fault));
    let report: LinkFaultReport | null = null;
    return {
      stop: async () => {
        if (!report) {
          report = { method, delayed: null, dropped: null };
          inNetns(l, 'tc', ['qdisc', 'del', 'dev', l.nsIf, 'root']);
        }
        return report;
      },
    };
  }
  let helper: HelperProcess | null = null;
  // Raised priority: a late release would add to the delay it holds each packet for.
  if (method === 'nfqueue') helper = await startHelper('nfq-fault', 'ip', ['netns', 'exec', l.netns, 'nice', '-n', String(HELPER_NICE), NFQ_FAULT_PATH, ...nfqFaultArgs(fault, seconds)]);
  const rule = linkFaultRule(l, pgPort, fault, method) as string[];
  try {
    inNetns(l, 'iptables', ['-I', ...rule]);
  } catch (err) {
    await helper?.stop();
    throw err;
  }
  let stopped: Promise<LinkFaultReport> | null = null;
  return {
    stop: () => {
      stopped ??= (async () => {
        // The rule first: with it gone nothing new is queued, and what nfq-fault holds is let through as it exits.
        inNetns(l, 'iptables', ['-D', ...rule]);
        const x = await helper?.stop();
        const summary = x?.lines.map(parseSummary).find((s) => s !== null) ?? null;
        return { method, delayed: summary?.delayed ?? null, dropped: summary?.dropped ?? null };
      })();
      return stopped;
    },
  };
}

/** nfq-fault's exit line, or null for other lines. Pure. */
export function parseSummary(line: string): { delayed: number; dropped: number } | null {
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    return v.event === 'exit' && typeof v.delayed === 'number' && typeof v.dropped === 'number' ? { delayed: v.delayed, dropped: v.dropped } : null;
  } catch {
    return null;
  }
}

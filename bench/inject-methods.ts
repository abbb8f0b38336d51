/**
 * Which injection method each layer uses on this host, or why it is skipped, from what was found
 * here (the host's facts). Pure: facts in, a method or a skip reason per layer out.
 */
import type { IoController } from '../lab/faults/io-throttle.ts';
import type { LinkFaultMethod } from '../lab/faults/link-fault.ts';
import type { InjectLayer } from './inject-matrix.ts';

export interface HostFacts {
  /** Root (namespaces, netfilter, cgroups and real-time priority need it). */
  readonly root: boolean;
  readonly cpus: number;
  readonly commands: Readonly<Record<'ip' | 'iptables' | 'tc' | 'taskset' | 'chrt', boolean>>;
  /** A network namespace with a veth pair could be made, or why not. */
  readonly netns: true | string;
  /** A netem qdisc loaded in that namespace. */
  readonly netem: boolean;
  /** lab/faults/nfq-fault is built. */
  readonly nfqFault: boolean;
  readonly ioController: IoController | string;
  /** The disk holding PostgreSQL's data (MAJ:MIN), or why there is none. */
  readonly pgDevice: string | { readonly reason: string };
  /** PostgreSQL has USDT probes: the parse/plan/execute and lock wait phases exist. */
  readonly pgUsdt: boolean;
  /** lab/faults/fsync-delay is built (the disk layer's LD_PRELOAD method). */
  readonly fsyncPreload: boolean;
}

/** How the disk layer slows PostgreSQL: `auto` throttles its cgroup where one can, else preloads the fsync delay. */
export type DiskMethod = 'auto' | 'cgroup' | 'preload';

export type LayerMethod =
  | { readonly layer: InjectLayer; readonly method: string; readonly link?: LinkFaultMethod; readonly disk?: 'cgroup' | 'preload' }
  | { readonly layer: InjectLayer; readonly skip: string };

const missing = (f: HostFacts, names: readonly (keyof HostFacts['commands'])[]): string[] => names.filter((n) => !f.commands[n]);

function netBase(f: HostFacts): string | null {
  if (!f.root) return 'needs root (network namespaces and netfilter rules)';
  const absent = missing(f, ['ip']);
  if (absent.length) return `needs ${absent.join(', ')} (iproute2)`;
  if (f.netns !== true) return `cannot make a network namespace with a veth pair: ${f.netns}`;
  return null;
}

/** One method (or skip reason) per layer asked for, in that order. */
export function chooseMethods(f: HostFacts, layers: readonly InjectLayer[], diskMethod: DiskMethod = 'auto'): LayerMethod[] {
  return layers.map((layer): LayerMethod => {
    const skip = (why: string): LayerMethod => ({ layer, skip: why });
    switch (layer) {
      case 'app':
        return { layer, method: 'delay_ms knob (the app sleeps before its handler)' };
      case 'event-loop':
        return { layer, method: 'cpu_ms knob (a busy loop on the event loop), requests queued behind it' };
      case 'db':
        return f.pgUsdt ? { layer, method: 'db_delay_ms knob (pg_sleep in the first statement)' } : skip('PostgreSQL has no USDT probes here (embedded server): no execute phase to find the sleep in');
      case 'lock':
        return f.pgUsdt ? { layer, method: 'SELECT … FOR NO KEY UPDATE held by another session' } : skip('PostgreSQL has no USDT probes here (embedded server): no lock wait phase');
      case 'file':
        return { layer, method: 'io_kb knob (scratch file written and read back), files family traced' };
      case 'disk': {
        if (!f.root) return skip('needs root (moving PostgreSQL into a cgroup, or restarting it with a preloaded library)');
        const cgroup = typeof f.ioController === 'string' ? `no cgroup io throttling: ${f.ioController}` : typeof f.pgDevice !== 'string' ? f.pgDevice.reason : null;
        const preload = f.fsyncPreload ? null : 'lab/faults/fsync-delay is not built (npm run build)';
        if (diskMethod !== 'preload' && cgroup === null && typeof f.ioController !== 'string') {
          const how = f.ioController.kind === 'cgroup-v2' ? 'io.max wiops' : 'blkio.throttle.write_iops_device';
          return { layer, method: `PostgreSQL's processes in a cgroup with ${how} on ${f.pgDevice as string} (${f.ioController.kind})`, disk: 'cgroup' };
        }
        if (diskMethod !== 'cgroup' && preload === null) {
          return { layer, method: `PostgreSQL restarted with fsync-delay.so preloaded: each fsync waits 1000/IOPS ms more${cgroup ? ` (${cgroup})` : ''}`, disk: 'preload' };
        }
        return skip([diskMethod !== 'preload' ? cgroup : null, diskMethod !== 'cgroup' ? preload : null].filter(Boolean).join('; '));
      }
      case 'cpu': {
        if (!f.root) return skip('needs root (real-time priority for the competitor)');
        const absent = missing(f, ['taskset', 'chrt']);
        if (absent.length) return skip(`needs ${absent.join(' and ')} (util-linux)`);
        return { layer, method: `SCHED_FIFO busy loop pinned to CPU ${f.cpus > 1 ? 1 : 0} with the app's thread` };
      }
      case 'net-delay': {
        const base = netBase(f);
        if (base) return skip(base);
        if (f.netem && f.commands.tc) return { layer, method: 'tc netem delay on the veth in a namespace of its own', link: 'netem' };
        if (f.nfqFault && f.commands.iptables) return { layer, method: 'NFQUEUE + nfq-fault holding each packet (no netem qdisc on this kernel)', link: 'nfqueue' };
        return skip(
          `no netem qdisc on this kernel, and ${f.commands.iptables ? '' : 'iptables is missing and '}nfq-fault is ${f.nfqFault ? 'built' : 'not built (needs libnetfilter-queue-dev, then npm run build)'}`,
        );
      }
      case 'net-loss': {
        const base = netBase(f);
        if (base) return skip(base);
        if (f.commands.iptables && f.nfqFault) return { layer, method: 'NFQUEUE + nfq-fault dropping the first transmission of each segment', link: 'nfqueue' };
        if (f.commands.iptables) return { layer, method: 'iptables statistic dropping every second data segment (nfq-fault not built)', link: 'iptables-statistic' };
        if (f.netem && f.commands.tc) return { layer, method: 'tc netem loss on the veth (iptables missing)', link: 'netem' };
        return skip('needs iptables (NFQUEUE or statistic), or a netem qdisc');
      }
      case 'pool':
        return { layer, method: 'the app restarted with a small pool (LAB_PG_POOL)' };
    }
  });
}

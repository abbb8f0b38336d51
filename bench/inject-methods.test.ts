import { describe, expect, it } from 'vitest';
import { chooseMethods, type HostFacts } from './inject-methods.ts';
import { INJECT_LAYERS } from './inject-matrix.ts';

/** This development machine: no netem, v1 blkio, nfq-fault built. */
const HERE: HostFacts = {
  root: true,
  cpus: 2,
  commands: { ip: true, iptables: true, tc: true, taskset: true, chrt: true },
  netns: true,
  netem: false,
  nfqFault: true,
  ioController: { kind: 'cgroup-v1-blkio', root: '/sys/fs/cgroup/blkio' },
  pgDevice: '254:0',
  pgUsdt: true,
  fsyncPreload: true,
};

const methods = (f: HostFacts): Record<string, string> =>
  Object.fromEntries(chooseMethods(f, INJECT_LAYERS).map((m) => [m.layer, 'skip' in m ? `SKIP ${m.skip}` : m.method]));

describe('chooseMethods', () => {
  it('on this machine: every layer runs, network faults through NFQUEUE, the disk through v1 blkio', () => {
    const m = chooseMethods(HERE, INJECT_LAYERS);
    expect(m.filter((x) => 'skip' in x)).toEqual([]);
    expect(methods(HERE)['net-delay']).toBe('NFQUEUE + nfq-fault holding each packet (no netem qdisc on this kernel)');
    expect(methods(HERE).disk).toBe("PostgreSQL's processes in a cgroup with blkio.throttle.write_iops_device on 254:0 (cgroup-v1-blkio)");
    expect(m.find((x) => x.layer === 'disk')).toMatchObject({ disk: 'cgroup' });
    expect(m.find((x) => x.layer === 'net-loss')).toMatchObject({ link: 'nfqueue' });
  });

  it('prefers netem where it loads, for delay', () => {
    expect(chooseMethods({ ...HERE, netem: true }, ['net-delay', 'net-loss'])).toMatchObject([{ link: 'netem' }, { link: 'nfqueue' }]);
  });

  it('without nfq-fault: loss through iptables statistic, delay skipped with the reason', () => {
    const m = methods({ ...HERE, nfqFault: false });
    expect(m['net-loss']).toBe('iptables statistic dropping every second data segment (nfq-fault not built)');
    expect(m['net-delay']).toBe('SKIP no netem qdisc on this kernel, and nfq-fault is not built (needs libnetfilter-queue-dev, then npm run build)');
  });

  it('without root: the faults that need it are skipped, the knobs still run', () => {
    const m = methods({ ...HERE, root: false });
    expect(m.app).not.toMatch(/^SKIP/);
    expect(m.pool).not.toMatch(/^SKIP/);
    expect(m.disk).toBe('SKIP needs root (moving PostgreSQL into a cgroup, or restarting it with a preloaded library)');
    expect(m.cpu).toBe('SKIP needs root (real-time priority for the competitor)');
    expect(m['net-loss']).toBe('SKIP needs root (network namespaces and netfilter rules)');
  });

  it('the disk: a cgroup where one can throttle, else the preloaded fsync delay, else skipped with both reasons', () => {
    const noCgroup = { ...HERE, ioController: 'no cgroup v2 mount and no v1 blkio hierarchy' };
    expect(chooseMethods(noCgroup, ['disk'])).toEqual([
      { layer: 'disk', disk: 'preload', method: 'PostgreSQL restarted with fsync-delay.so preloaded: each fsync waits 1000/IOPS ms more (no cgroup io throttling: no cgroup v2 mount and no v1 blkio hierarchy)' },
    ]);
    expect(methods({ ...noCgroup, fsyncPreload: false }).disk).toBe('SKIP no cgroup io throttling: no cgroup v2 mount and no v1 blkio hierarchy; lab/faults/fsync-delay is not built (npm run build)');
    expect(methods({ ...HERE, pgDevice: { reason: '/x is on device 0:26, which is no block device' }, fsyncPreload: false }).disk).toBe('SKIP /x is on device 0:26, which is no block device; lab/faults/fsync-delay is not built (npm run build)');
    expect(chooseMethods(HERE, ['disk'], 'preload')).toMatchObject([{ disk: 'preload', method: 'PostgreSQL restarted with fsync-delay.so preloaded: each fsync waits 1000/IOPS ms more' }]);
    expect(chooseMethods({ ...noCgroup }, ['disk'], 'cgroup')).toEqual([{ layer: 'disk', skip: 'no cgroup io throttling: no cgroup v2 mount and no v1 blkio hierarchy' }]);
  });

  it('says why the database layers cannot run', () => {
    expect(methods({ ...HERE, pgUsdt: false }).lock).toMatch(/^SKIP PostgreSQL has no USDT probes/);
    expect(methods({ ...HERE, commands: { ...HERE.commands, chrt: false } }).cpu).toBe('SKIP needs chrt (util-linux)');
    expect(methods({ ...HERE, netns: 'ip netns add: Permission denied' })['net-delay']).toBe('SKIP cannot make a network namespace with a veth pair: ip netns add: Permission denied');
  });
});

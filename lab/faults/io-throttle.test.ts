import { describe, expect, it } from 'vitest';
import { cgroupPathOf, chooseIoController, parseCgroupMounts, throttleSettings } from './io-throttle.ts';

/** A hybrid host: v1 controllers (blkio among them) and a v2 mount with no io controller. */
const HYBRID = [
  'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
  'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
  'cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0',
  'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
].join('\n');
const UNIFIED = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n';

describe('choosing the io controller', () => {
  it('a hybrid host whose v2 root lacks io throttles through v1 blkio', () => {
    const m = parseCgroupMounts(HYBRID);
    expect(m).toEqual({ v2: '/sys/fs/cgroup/unified', v1Blkio: '/sys/fs/cgroup/blkio' });
    expect(chooseIoController(m, 'hugetlb\n')).toEqual({ kind: 'cgroup-v1-blkio', root: '/sys/fs/cgroup/blkio' });
  });

  it('prefers v2 when its root offers io', () => {
    expect(chooseIoController(parseCgroupMounts(UNIFIED), 'cpuset cpu io memory pids\n')).toEqual({ kind: 'cgroup-v2', root: '/sys/fs/cgroup' });
  });

  it('says why there is no controller', () => {
    expect(chooseIoController(parseCgroupMounts(UNIFIED), 'cpu memory')).toBe('cgroup v2 at /sys/fs/cgroup does not offer the io controller, and there is no v1 blkio hierarchy');
    expect(chooseIoController(parseCgroupMounts(''), null)).toBe('no cgroup v2 mount and no v1 blkio hierarchy');
  });
});

describe('throttleSettings', () => {
  it('writes IOPS in each hierarchy’s own file and syntax', () => {
    expect(throttleSettings({ kind: 'cgroup-v2', root: '/x' }, '254:0', 10)).toEqual([{ file: 'io.max', value: '254:0 wiops=10' }]);
    expect(throttleSettings({ kind: 'cgroup-v1-blkio', root: '/x' }, '254:0', 10)).toEqual([{ file: 'blkio.throttle.write_iops_device', value: '254:0 10' }]);
  });
});

describe('cgroupPathOf', () => {
  const text = '9:name=systemd:/\n7:blkio:/lab.slice\n4:memory:/process_api/2e6c\n0::/user.slice/session-1.scope\n';
  it('reads the process’s place in each hierarchy', () => {
    expect(cgroupPathOf(text, { kind: 'cgroup-v1-blkio', root: '/sys/fs/cgroup/blkio' })).toBe('/lab.slice');
    expect(cgroupPathOf(text, { kind: 'cgroup-v2', root: '/sys/fs/cgroup' })).toBe('/user.slice/session-1.scope');
    expect(cgroupPathOf('4:memory:/x\n', { kind: 'cgroup-v1-blkio', root: '/r' })).toBeNull();
  });
});

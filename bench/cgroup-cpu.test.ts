import { describe, expect, it } from 'vitest';
import { parseCpuStatUsageUs, parseV2CgroupPath } from './cgroup-cpu.ts';

describe('parseCpuStatUsageUs', () => {
  it('reads usage_usec', () => {
    expect(parseCpuStatUsageUs('usage_usec 5110348000\nuser_usec 3636396000\nsystem_usec 1473952000\n')).toBe(5110348000);
  });
  it('refuses a text without it', () => {
    expect(() => parseCpuStatUsageUs('user_usec 1\n')).toThrow(/usage_usec/);
  });
});

describe('parseV2CgroupPath', () => {
  it("takes the v2 line of a hybrid system's /proc/PID/cgroup", () => {
    expect(parseV2CgroupPath('12:pids:/user.slice\n1:name=systemd:/user.slice/session-3.scope\n0::/user.slice/session-3.scope\n')).toBe('/user.slice/session-3.scope');
  });
  it('is null without one', () => {
    expect(parseV2CgroupPath('1:name=systemd:/\n')).toBeNull();
  });
});

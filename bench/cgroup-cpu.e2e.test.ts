/**
 * CPU groups on the real cgroup v2 hierarchy: a busy child moved into a group is charged there,
 * and closing puts it back where it was and removes the groups. Root only.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupV2Root, openCpuGroups, parseV2CgroupPath } from './cgroup-cpu.ts';

const root = cgroupV2Root();
const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 20000; while (Date.now() < end) {}'], { stdio: 'ignore' });
afterAll(() => {
  child.kill('SIGKILL');
});

describe('CPU groups', () => {
  it('charge a moved process exactly, and give it back on close', async () => {
    expect(root, 'a cgroup v2 hierarchy (lab bench overhead needs one)').not.toBeNull();
    const pid = child.pid!;
    const before = parseV2CgroupPath(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    const groups = openCpuGroups(root!, `reqtrace-test-${process.pid}`);
    try {
      const g = groups.group('busy');
      expect(g.add(pid)).toBe(true);
      expect(g.add(999_999_999)).toBe(false);
      const u0 = g.usageUs();
      await new Promise((r) => setTimeout(r, 600));
      const used = g.usageUs() - u0;
      // One busy thread for ~0.6 s, on a machine that may be sharing its CPUs.
      expect(used).toBeGreaterThan(100_000);
      expect(used).toBeLessThan(1_300_000);
    } finally {
      groups.close();
    }
    expect(parseV2CgroupPath(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))).toBe(before);
    expect(existsSync(join(root!, `reqtrace-test-${process.pid}`))).toBe(false);
  });
});

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAffinityMask, parseSchedstat, pinThread } from './cpu-competitor.ts';
import { runCommand } from './run-command.ts';

describe('parseAffinityMask', () => {
  it("reads taskset's mask", () => {
    expect(parseAffinityMask("pid 4242's current affinity mask: 3\n")).toBe('3');
    expect(parseAffinityMask("pid 1's current affinity mask: ff00ff")).toBe('ff00ff');
  });
  it('refuses anything else', () => {
    expect(() => parseAffinityMask('taskset: failed')).toThrow("cannot read an affinity mask from 'taskset: failed'");
  });
});

describe('parseSchedstat', () => {
  it('reads time on a CPU and time in the run queue', () => {
    expect(parseSchedstat('123456 7890 42\n')).toEqual({ onCpuNs: 123456, runDelayNs: 7890 });
    expect(() => parseSchedstat('')).toThrow(/not a schedstat line/);
  });
});

describe('pinThread', () => {
  it('pins a thread to one CPU and restores its mask', () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      const pid = child.pid as number;
      const before = parseAffinityMask(runCommand('taskset', ['-p', String(pid)]));
      const undo = pinThread(pid, 0);
      expect(parseAffinityMask(runCommand('taskset', ['-p', String(pid)]))).toBe('1');
      undo();
      expect(parseAffinityMask(runCommand('taskset', ['-p', String(pid)]))).toBe(before);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

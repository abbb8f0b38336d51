import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processState, waitUntil } from './processes.ts';
import { formatStopped, labProcesses, stoppedAmong, stoppedLabProcesses } from './stopped-processes.ts';

const tiers = {
  proxy: { kind: 'nginx' as const, pid: 10, workers: [11, 12] },
  app: { pid: 20 },
  postgres: { pid: 30 },
};

describe('labProcesses', () => {
  it("lists every tier's processes and the postmaster's children", () => {
    expect(labProcesses(tiers, (pid) => (pid === 30 ? [31, 32] : []))).toEqual([
      { pid: 10, role: 'nginx master' },
      { pid: 11, role: 'nginx worker' },
      { pid: 12, role: 'nginx worker' },
      { pid: 20, role: 'app' },
      { pid: 30, role: 'postgres postmaster' },
      { pid: 31, role: 'postgres backend' },
      { pid: 32, role: 'postgres backend' },
    ]);
  });
  it('skips tiers that are not running', () => {
    expect(labProcesses({ proxy: { kind: null, pid: null, workers: [] }, app: { pid: null }, postgres: { pid: null } }, () => [1])).toEqual([]);
  });
});

describe('stoppedAmong', () => {
  it('keeps the processes in state T or t, with their command line made printable', () => {
    const states: Record<number, string> = { 20: 'S', 31: 'T', 32: 't', 30: 'S' };
    const found = stoppedAmong(labProcesses(tiers, () => [31, 32]), (pid) => states[pid] ?? 'R', (pid) => (pid === 31 ? 'postgres: lab reqtrace \x1b[2J idle' : null));
    expect(found).toEqual([
      { pid: 31, role: 'postgres backend', command: 'postgres: lab reqtrace ?[2J idle' },
      { pid: 32, role: 'postgres backend', command: '' },
    ]);
  });
});

describe('formatStopped', () => {
  it('names the pids and both ways out', () => {
    expect(formatStopped([{ pid: 31, role: 'postgres backend', command: 'postgres: lab reqtrace 127.0.0.1(36982) idle' }])).toBe(
      '1 lab process(es) stopped (state T), so requests that need them hang: postgres backend 31 (postgres: lab reqtrace 127.0.0.1(36982) idle); `lab down` resumes and stops them, or `kill -CONT 31` resumes them',
    );
    expect(formatStopped([])).toBeNull();
  });
  it('shows eight and counts the rest, but lists every pid to resume', () => {
    const many = Array.from({ length: 55 }, (_, i) => ({ pid: 100 + i, role: 'postgres backend', command: '' }));
    const text = formatStopped(many) as string;
    expect(text).toContain('postgres backend 107, and 47 more;');
    expect(text).toContain(`kill -CONT ${many.map((p) => p.pid).join(' ')}\``);
  });
});

describe('stoppedLabProcesses', () => {
  it('finds a real stopped child of the postmaster pid', async () => {
    const child = spawn('sleep', ['30']);
    try {
      const pid = child.pid as number;
      process.kill(pid, 'SIGSTOP');
      expect(await waitUntil(() => processState(pid) === 'T', 5000)).toBe(true);
      const found = stoppedLabProcesses({ proxy: { kind: null, pid: null, workers: [] }, app: { pid: null }, postgres: { pid: process.pid } });
      expect(found.map((p) => [p.pid, p.role, p.command])).toEqual([[pid, 'postgres backend', 'sleep 30']]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processState, resumeStoppedChildren, waitUntil } from './processes.ts';

describe('resumeStoppedChildren', () => {
  it('continues a stopped child and leaves running ones alone', async () => {
    const stopped = spawn('sleep', ['30']);
    const running = spawn('sleep', ['30']);
    try {
      const sid = stopped.pid as number;
      const rid = running.pid as number;
      process.kill(sid, 'SIGSTOP');
      expect(await waitUntil(() => processState(sid) === 'T', 5000)).toBe(true);

      expect(resumeStoppedChildren(process.pid)).toEqual([sid]);
      expect(await waitUntil(() => processState(sid) === 'S', 5000)).toBe(true);
      expect(processState(rid)).toBe('S');
      expect(resumeStoppedChildren(process.pid)).toEqual([]);
    } finally {
      stopped.kill('SIGKILL');
      running.kill('SIGKILL');
    }
  });
});

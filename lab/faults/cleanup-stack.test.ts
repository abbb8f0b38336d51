import { describe, expect, it } from 'vitest';
import { createCleanupStack } from './cleanup-stack.ts';

describe('createCleanupStack', () => {
  it('runs the undos newest first, each once', async () => {
    const ran: string[] = [];
    const s = createCleanupStack();
    s.push('netns', () => void ran.push('netns'));
    s.push('rule', async () => {
      ran.push('rule');
    });
    s.push('helper', () => void ran.push('helper'));
    expect(s.pending()).toEqual(['netns', 'rule', 'helper']);
    expect(await s.runAll()).toEqual([]);
    expect(await s.runAll()).toEqual([]);
    expect(ran).toEqual(['helper', 'rule', 'netns']);
    expect(s.pending()).toEqual([]);
  });

  it('goes on past a failing undo and reports it in one line', async () => {
    const ran: string[] = [];
    const s = createCleanupStack();
    s.push('netns', () => void ran.push('netns'));
    s.push('cgroup', () => {
      throw new Error('rmdir: Device or resource busy\nmore detail');
    });
    expect(await s.runAll()).toEqual(['cgroup: rmdir: Device or resource busy']);
    expect(ran).toEqual(['netns']);
  });

  it('an undo run early by its step is not run again at the end', async () => {
    let runs = 0;
    const s = createCleanupStack();
    const release = s.push('lock', () => void runs++);
    await release();
    await release();
    await s.runAll();
    expect(runs).toBe(1);
  });

  it('an early run that fails throws, and is not retried', async () => {
    let runs = 0;
    const s = createCleanupStack();
    const release = s.push('rule', () => {
      runs++;
      throw new Error('iptables: Bad rule');
    });
    await expect(release()).rejects.toThrow('rule: iptables: Bad rule');
    expect(await s.runAll()).toEqual([]);
    expect(runs).toBe(1);
  });

  it('at exit: runs the synchronous undos and names the ones it cannot await', () => {
    const ran: string[] = [];
    const s = createCleanupStack();
    s.push('netns', () => void ran.push('netns'));
    s.push('app settings', async () => {
      await new Promise((r) => setTimeout(r, 10));
      ran.push('app');
    });
    s.push('cgroup', () => {
      throw new Error('busy');
    });
    expect(s.runAllSync()).toEqual(['cgroup: busy', 'app settings: started, not finished (the process is exiting)']);
    expect(ran).toEqual(['netns']);
    expect(s.pending()).toEqual([]);
  });
});

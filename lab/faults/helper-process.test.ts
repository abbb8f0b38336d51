import { describe, expect, it } from 'vitest';
import { isAlive } from '../lifecycle/processes.ts';
import { startHelper } from './helper-process.ts';

const node = (script: string): [string, string[]] => [process.execPath, ['-e', script]];

describe('startHelper', () => {
  it('waits for ready, answers on stdin, and stops with SIGTERM', async () => {
    const h = await startHelper('echo', ...node(`console.log('ready'); process.stdin.on('data', (d) => console.log('got ' + d.toString().trim())); setTimeout(() => {}, 30000);`));
    const answer = h.nextLine((l) => l.startsWith('got '), 5000);
    h.send('go');
    expect(await answer).toBe('got go');
    const x = await h.stop();
    expect(x.signal).toBe('SIGTERM');
    expect(x.lines).toEqual(['ready', 'got go']);
    expect(isAlive(h.pid)).toBe(false);
    expect(await h.stop()).toBe(x);
  });

  it('SIGKILLs a helper that ignores SIGTERM', async () => {
    const h = await startHelper('stubborn', ...node(`process.on('SIGTERM', () => {}); console.log('ready'); setTimeout(() => {}, 30000);`));
    expect((await h.stop(200)).signal).toBe('SIGKILL');
  });

  it('names the helper and its last stderr line when it exits before ready', async () => {
    await expect(startHelper('relay', ...node(`console.error('cannot listen: EADDRINUSE'); process.exit(1);`))).rejects.toThrow('relay exited (status 1): cannot listen: EADDRINUSE');
  });

  it('gives up on a helper that never gets ready, and stops it', async () => {
    await expect(startHelper('slow', ...node('setTimeout(() => {}, 30000);'), { readyTimeoutMs: 300 })).rejects.toThrow('slow gave no expected line within 300 ms');
  });

  it('says so when the command is missing', async () => {
    await expect(startHelper('nfq-fault', '/nonexistent/nfq-fault', [])).rejects.toThrow(/^nfq-fault exited \(status null\): .*ENOENT/);
  });
});

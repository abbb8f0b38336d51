import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertPortFree, describePortHolder, parseSsListeners } from './ports.ts';

const SS = [
  'LISTEN 0      511        127.0.0.1:21000      0.0.0.0:*    users:(("nginx",pid=4242,fd=6),("nginx",pid=4241,fd=6))',
  'LISTEN 0      4096           [::1]:5432          [::]:*    users:(("postgres",pid=77,fd=7))',
  'LISTEN 0      128          0.0.0.0:22         0.0.0.0:*',
  'garbage',
  '',
].join('\n');

describe('parseSsListeners', () => {
  it('reads addresses, ports and holders, IPv6 included', () => {
    expect(parseSsListeners(SS)).toEqual([
      { address: '127.0.0.1', port: 21000, holders: [{ name: 'nginx', pid: 4242 }, { name: 'nginx', pid: 4241 }] },
      { address: '::1', port: 5432, holders: [{ name: 'postgres', pid: 77 }] },
      { address: '0.0.0.0', port: 22, holders: [] },
    ]);
  });

  it('names the first holder, or nothing when ss could not see the process', () => {
    const ls = parseSsListeners(SS);
    expect(describePortHolder(ls, 21000)).toBe('nginx (pid 4242)');
    expect(describePortHolder(ls, 22)).toBeNull();
    expect(describePortHolder(ls, 9)).toBeNull();
  });
});

describe('assertPortFree', () => {
  it('names the port, the tier and this process when the port is held', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(21190, '127.0.0.1', () => r()));
    try {
      await expect(assertPortFree(21190, 'proxy')).rejects.toThrow(new RegExp(`^port 21190 \\(proxy\\) is in use by .*\\(pid ${process.pid}\\)`));
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
    await expect(assertPortFree(21190, 'proxy')).resolves.toBeUndefined();
  });
});

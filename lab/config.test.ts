import { mkdtempSync, mkdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultStateDir, labConfig } from './config.ts';

describe('labConfig', () => {
  it('derives the three ports from LAB_PORT_BASE', () => {
    const cfg = labConfig({ LAB_PORT_BASE: '30000', LAB_STATE_DIR: '/tmp/x' }, '/repo');
    expect(cfg).toEqual({ stateDir: '/tmp/x', host: '127.0.0.1', proxyPort: 30000, appPort: 30001, pgPort: 30002 });
  });

  it.each(['80', '65531', '1.5', 'abc', ''])('rejects LAB_PORT_BASE=%j', (base) => {
    expect(() => labConfig({ LAB_PORT_BASE: base })).toThrow(/LAB_PORT_BASE must be a whole number from 1024 to 65530/);
  });
});

describe('defaultStateDir', () => {
  const root = mkdtempSync(join(tmpdir(), 'reqtrace-config-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('uses <repo>/.lab when other users can reach the repo', () => {
    chmodSync(root, 0o755);
    const repo = join(root, 'open');
    mkdirSync(repo, { mode: 0o755 });
    expect(defaultStateDir(repo)).toBe(join(repo, '.lab'));
  });

  it('moves under /var/tmp when a parent directory is private', () => {
    const closed = join(root, 'private');
    mkdirSync(join(closed, 'repo'), { recursive: true });
    chmodSync(closed, 0o700);
    const dir = defaultStateDir(join(closed, 'repo'));
    expect(dir).toMatch(/^\/var\/tmp\/reqtrace-lab-[0-9a-f]{12}$/);
    expect(defaultStateDir(join(closed, 'repo'))).toBe(dir);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileProbes } from './file-probes.ts';
import { loadProbes, parseProbeMode } from './load-probes.ts';
import { AddonUnavailableError, loadUsdtAddon } from './native/usdt-addon.ts';
import { noopProbes } from './probes.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'load-probes-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadProbes', () => {
  it('auto falls back to no-op probes with one warning when the addon is not built', async () => {
    const warnings: string[] = [];
    const missing = join(dir, 'missing.node');
    const probes = await loadProbes('auto', { addonPath: missing, warn: (l) => warnings.push(l) });
    expect(probes).toBe(noopProbes);
    expect(warnings).toEqual([`warning: app probes are off: USDT addon not built (${missing} is missing; run npm run build)`]);
  });

  it('auto names the load error when the addon file is not a shared object', async () => {
    const warnings: string[] = [];
    const bogus = join(dir, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file\n'.repeat(256));
    const probes = await loadProbes('auto', { addonPath: bogus, warn: (l) => warnings.push(l) });
    expect(probes.backend).toBe('off');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: app probes are off: USDT addon failed to load from .*bogus\.node: .*invalid ELF header/);
  });

  it('native throws instead of falling back', async () => {
    await expect(loadProbes('native', { addonPath: join(dir, 'missing.node'), warn: () => {} })).rejects.toThrow(
      AddonUnavailableError,
    );
  });

  it('off is the no-op backend', async () => {
    expect(await loadProbes('off')).toBe(noopProbes);
  });

  it('file writes JSON lines to LAB_PROBE_FILE', async () => {
    const out = join(dir, 'events.jsonl');
    const probes = (await loadProbes('file', { env: { LAB_PROBE_FILE: out } })) as FileProbes;
    probes.fileClose('0123456789abcdef0123456789abcdef', 5);
    probes.close();
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ kind: 8, fd: 5 });
  });

  it('file defaults to app-events.jsonl in the state dir', async () => {
    const probes = (await loadProbes('file', { env: { LAB_STATE_DIR: dir } })) as FileProbes;
    probes.close();
    expect(probes.path).toBe(join(dir, 'app-events.jsonl'));
  });

  it('refuses an unknown mode', async () => {
    await expect(loadProbes('usdt' as never)).rejects.toThrow("probe mode must be one of auto, native, file, off, got 'usdt'");
  });
});

describe('parseProbeMode', () => {
  it('accepts the four modes', () => {
    expect(['auto', 'native', 'file', 'off'].map(parseProbeMode)).toEqual(['auto', 'native', 'file', 'off']);
  });
});

describe('loadUsdtAddon', () => {
  it('says USDT needs Linux on other platforms', () => {
    expect(() => loadUsdtAddon(join(dir, 'x.node'), 'darwin')).toThrow('USDT probes need Linux (this is darwin)');
  });
});

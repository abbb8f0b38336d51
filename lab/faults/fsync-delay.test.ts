import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeIfPresent } from '../../test/require-built.ts';
import { FSYNC_DELAY_LIB } from './fsync-delay.ts';

const dir = mkdtempSync(join(tmpdir(), 'fsync-delay-'));
const control = join(dir, 'delay-ms');

/** dd writing one block and fsyncing it under the library; its wall time, ms. */
function ddFsyncMs(): { ms: number; status: number | null } {
  const t = process.hrtime.bigint();
  const r = spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'data')}`, 'bs=4k', 'count=1', 'conv=fsync'], {
    env: { ...process.env, LD_PRELOAD: FSYNC_DELAY_LIB, LAB_FSYNC_DELAY_FILE: control },
    stdio: 'ignore',
  });
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, status: r.status };
}

// Built by scripts/build.sh; under CI a missing build fails rather than skips.
describeIfPresent(existsSync(FSYNC_DELAY_LIB))('fsync-delay.so', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes fsync wait the ms in the control file, and the call still succeeds', () => {
    writeFileSync(control, '300\n');
    const slow = ddFsyncMs();
    expect(slow.status).toBe(0);
    expect(slow.ms).toBeGreaterThanOrEqual(300);
  });

  it('waits nothing at 0, with no file, or with a value out of range', () => {
    for (const value of ['0\n', null, '99999\n', 'x\n']) {
      if (value === null) rmSync(control, { force: true });
      else writeFileSync(control, value);
      const r = ddFsyncMs();
      expect(r.status).toBe(0);
      expect(r.ms, String(value)).toBeLessThan(250);
    }
  });
});

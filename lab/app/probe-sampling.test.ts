import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSampled } from '../../shared/sampling.ts';
import { clearProbeSampling, parseProbeSampling, probeFilter, probeSamplingSeen, waitProbeSamplingSeen, watchProbeSampling, writeProbeSampling } from './probe-sampling.ts';

const IN = '00000001' + '0'.repeat(24);
const OUT = 'ffffffff' + '0'.repeat(24);

describe('parseProbeSampling', () => {
  it('reads a rate, tail keeping and the loader', () => {
    expect(parseProbeSampling('{"sample":0.01,"followAll":false,"loaderPid":42}')).toEqual({ sample: 0.01, followAll: false, loaderPid: 42 });
  });
  it.each(['nope', '{}', '{"sample":0,"followAll":false,"loaderPid":42}', '{"sample":0.5,"followAll":"no","loaderPid":42}', '{"sample":0.5,"followAll":false,"loaderPid":-1}'])(
    'refuses %s',
    (text) => {
      expect(parseProbeSampling(text)).toBeNull();
    },
  );
});

describe('probeFilter', () => {
  const alive = () => true;
  it('follows by the kernel rule while its loader runs', () => {
    const f = probeFilter({ sample: 0.01, followAll: false, loaderPid: 1 }, alive);
    expect([f(IN), f(OUT)]).toEqual([isSampled(IN, 0.01), isSampled(OUT, 0.01)]);
    expect([f(IN), f(OUT)]).toEqual([true, false]);
  });
  it('follows every request without a file, with tail keeping, or once the loader is gone', () => {
    for (const f of [probeFilter(null, alive), probeFilter({ sample: 0.01, followAll: true, loaderPid: 1 }, alive), probeFilter({ sample: 0.01, followAll: false, loaderPid: 1 }, () => false)]) {
      expect(f(OUT)).toBe(true);
    }
  });
});

describe('watchProbeSampling', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  it('applies the file while probes are attached, and forgets it when they are not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-sampling-'));
    dirs.push(dir);
    let attached = true;
    writeProbeSampling(dir, { sample: 0.01, followAll: false, loaderPid: process.pid });
    const w = watchProbeSampling(dir, () => attached, 5);
    try {
      expect([w.follows(IN), w.follows(OUT)]).toEqual([true, false]);
      attached = false;
      return new Promise<void>((resolve) => {
        setTimeout(() => {
          expect(w.follows(OUT)).toBe(true);
          attached = true;
          clearProbeSampling(dir);
          setTimeout(() => {
            expect(w.follows(OUT)).toBe(true);
            writeProbeSampling(dir, { sample: 0.5, followAll: false, loaderPid: process.pid });
            utimesSync(join(dir, 'probe-sampling.json'), new Date(), new Date(Date.now() + 5000));
            setTimeout(() => {
              expect(w.follows(OUT)).toBe(false);
              w.stop();
              resolve();
            }, 30);
          }, 30);
        }, 30);
      });
    } catch (err) {
      w.stop();
      throw err;
    }
  });
  it('confirms the rate it applied, so a tracer can wait for it; clearing removes the confirmation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-sampling-'));
    dirs.push(dir);
    const rate = { sample: 0.25, followAll: false, loaderPid: process.pid };
    writeProbeSampling(dir, rate);
    expect(probeSamplingSeen(dir, rate)).toBe(false);
    expect(await waitProbeSamplingSeen(dir, rate, 100)).toBe(false);
    const w = watchProbeSampling(dir, () => true, 20);
    try {
      expect(await waitProbeSamplingSeen(dir, rate, 1000)).toBe(true);
      expect(probeSamplingSeen(dir, { ...rate, sample: 0.5 })).toBe(false);
      expect(probeSamplingSeen(dir, { ...rate, loaderPid: rate.loaderPid + 1 })).toBe(false);
    } finally {
      w.stop();
    }
    clearProbeSampling(dir);
    expect(probeSamplingSeen(dir, rate)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture } from '../assembler/fixtures/scenario-builder.ts';
import { draftSpan, finalizeTrace } from '../assembler/span-draft.ts';
import { usersPopulation } from './fixtures/populations.ts';
import { layerTimes } from './layer-times.ts';

describe('layerTimes', () => {
  it('splits a request into proxy, network, app and DB time that add up to its duration', () => {
    const [trace] = assembleCapture(buildCapture('one', usersPopulation(1, 1, 1, 0))).traces;
    if (!trace) throw new Error('no trace');
    const t = layerTimes(trace);
    const sum = t.ms.proxy + t.ms.network + t.ms.app + t.ms.db;
    expect(sum).toBeGreaterThan(t.totalMs * 0.95);
    // Sibling spans may overlap by a few µs where one tier's clock edge meets another's.
    expect(sum).toBeLessThanOrEqual(t.totalMs * 1.01);
    expect(t.ms.db).toBeGreaterThan(t.ms.app);
    expect(t.ms.proxy).toBeGreaterThan(0);
  });

  it('counts an app span without children as app time, by hand', () => {
    const ms = 1_000_000n;
    const trace = finalizeTrace(
      'a'.repeat(32),
      draftSpan('GET /x', 'nginx', 0n, 10n * ms, {
        children: [draftSpan('nginx processing', 'nginx', 0n, 1n * ms), draftSpan('network: nginx → app', 'kernel', 1n * ms, 2n * ms), draftSpan('app processing', 'app', 2n * ms, 9n * ms), draftSpan('nginx response', 'nginx', 9n * ms, 10n * ms)],
      }),
    );
    expect(layerTimes(trace)).toEqual({ ms: { proxy: 2, network: 1, app: 7, db: 0 }, kernelWaitMs: 0, totalMs: 10 });
  });
});

import { describe, expect, it } from 'vitest';
import { applyOnCpu, applyRunq } from './apply-kernel-attribution.ts';
import { draftSpan } from './span-draft.ts';

describe('applyRunq', () => {
  it('tags the delays and their count, and marks how they were tied to the span', () => {
    const s = draftSpan('app processing', 'app', 0n, 1_000n);
    applyRunq(s, { totalNs: 300n, count: 2, logs: [] }, 0.5);
    expect([s.tags['kernel.runq_delay_ns'], s.tags['kernel.runq_delays']]).toEqual([300, 2]);
    const none = draftSpan('x', 'app', 0n, 1n);
    applyRunq(none, { totalNs: 0n, count: 0, logs: [] }, 1);
    expect(none.tags).toEqual({});
  });
});

describe('applyOnCpu', () => {
  it('is the span less its sleeps and run-queue waits, never negative', () => {
    const s = draftSpan('app processing', 'app', 0n, 1_000n, { tags: { 'kernel.offcpu_ns': 400, 'kernel.runq_delay_ns': 100 } });
    applyOnCpu(s, 1);
    expect(s.tags['kernel.on_cpu_ns']).toBe(500);
    const over = draftSpan('x', 'app', 0n, 100n, { tags: { 'kernel.offcpu_ns': 400 } });
    applyOnCpu(over, 1);
    expect(over.tags['kernel.on_cpu_ns']).toBe(0);
  });
});

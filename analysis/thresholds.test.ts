import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, resolveThresholds } from './thresholds.ts';

describe('resolveThresholds', () => {
  it('returns the defaults, with overrides applied and other groups untouched', () => {
    expect(resolveThresholds()).toEqual(DEFAULT_THRESHOLDS);
    const t = resolveThresholds({ slowSpan: { minExcessMs: 20 } });
    expect(t.slowSpan).toEqual({ ...DEFAULT_THRESHOLDS.slowSpan, minExcessMs: 20 });
    expect(t.nPlusOne).toEqual(DEFAULT_THRESHOLDS.nPlusOne);
  });

  it('rejects out-of-range, non-integer, non-numeric and unknown thresholds with a clear message', () => {
    expect(() => resolveThresholds({ slowSpan: { p99Margin: -1 } })).toThrow('threshold slowSpan.p99Margin must be between 0 and 100, got -1');
    expect(() => resolveThresholds({ nPlusOne: { minRepeats: 2.5 } })).toThrow('threshold nPlusOne.minRepeats must be a whole number, got 2.5');
    expect(() => resolveThresholds({ lockWait: { minMs: Number.NaN } })).toThrow('threshold lockWait.minMs must be a number, got null');
    expect(() => resolveThresholds({ slowRequest: { explainShare: 1.5 } })).toThrow('between 0.01 and 1');
    expect(() => resolveThresholds({ slowSpan: { p99margin: 1 } as never })).toThrow('unknown threshold slowSpan.p99margin');
    expect(() => resolveThresholds({ slow: {} } as never)).toThrow("unknown threshold group 'slow'");
  });
});

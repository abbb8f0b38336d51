import { describe, expect, it } from 'vitest';
import { isSampled, sampleThreshold } from './sampling.ts';

// The kernel's rule, worked by hand from probes/reqtrace.c and probes/maps.bpf.h:
//   threshold = (__u64)ceil(rate * 4294967296.0)
//   sampled   = ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) < threshold
// Multiplying by 2^32 is exact in double precision, so each threshold below is the exact
// ceiling of the double nearest the rate.
const THRESHOLDS: readonly [rate: number, threshold: number][] = [
  [1, 0x1_0000_0000],
  [0.5, 0x8000_0000],
  [0.25, 0x4000_0000],
  [0.1, 0x1999_999a], // 429496729.6 → 429496730
  [0.3, 0x4ccc_cccd], // 1288490188.8 → 1288490189
  [1e-9, 5], // 4.294967296 → 5
  [2 ** -32, 1],
];

const id = (head: number, tail = '0123456789abcdef01234567'): string => head.toString(16).padStart(8, '0') + tail;

describe('isSampled (the kernel rule)', () => {
  it.each(THRESHOLDS)('rate %d: the threshold is ceil(rate · 2^32) = %d', (rate, threshold) => {
    expect(sampleThreshold(rate)).toBe(threshold);
  });

  it.each(THRESHOLDS.filter(([rate]) => rate < 1))('rate %d: the head just below the threshold is followed, the threshold itself is not', (rate, threshold) => {
    expect(isSampled(id(threshold - 1), rate)).toBe(true);
    expect(isSampled(id(threshold), rate)).toBe(false);
  });

  it.each([
    ['00000000ffffffffffffffffffffffff', 0.1, true],
    ['19999999ffffffffffffffffffffffff', 0.1, true],
    ['1999999a00000000000000000000000000'.slice(0, 32), 0.1, false],
    ['7fffffffffffffffffffffffffffffff', 0.5, true],
    ['80000000000000000000000000000000', 0.5, false],
    ['ffffffffffffffffffffffffffffffff', 1, true],
    ['ffffffffffffffffffffffffffffffff', 0.999, false],
    ['3fffffff00000000000000000000000f', 0.25, true],
    ['40000000000000000000000000000000', 0.25, false],
  ] as const)('%s at %d → %s', (requestId, rate, expected) => {
    expect(isSampled(requestId, rate)).toBe(expected);
  });

  it('reads only the first four bytes, big-endian', () => {
    expect(isSampled('0000000fffffffffffffffffffffffff', 2 ** -28)).toBe(true); // head 0x0000000f < 16
    expect(isSampled('00000010000000000000000000000000', 2 ** -28)).toBe(false); // head 16, not 0x10000000
  });

  it('an id the probes cannot parse is zeroed in the kernel, and the zero id is always below the threshold', () => {
    for (const bad of ['', 'not-an-id', 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', 'ffffffffffffffffffffffffffffffff0']) expect(isSampled(bad, 0.01)).toBe(true);
  });

  it('rejects a rate the loader would reject', () => {
    for (const bad of [0, -0.1, 1.5, Number.NaN]) expect(() => sampleThreshold(bad)).toThrow(/0 < RATE <= 1/);
  });
});

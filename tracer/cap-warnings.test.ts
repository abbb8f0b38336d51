import { describe, expect, it } from 'vitest';
import { capWarnings, warningKind } from './cap-warnings.ts';

describe('capWarnings', () => {
  it('keeps five of 50,000 junk-line warnings and counts the rest', () => {
    const junk = Array.from({ length: 50_000 }, (_, i) => `nginx-access.jsonl line ${i + 1}: not JSON: junk ${i}`);
    const out = capWarnings(['capture: the loader ended without its summary', ...junk, 'the loader dropped events: ringbuf=3']);
    expect(out).toEqual([
      'capture: the loader ended without its summary',
      ...junk.slice(0, 5),
      '… and 49,995 more like this (nginx-access.jsonl line #: not JSON)',
      'the loader dropped events: ringbuf=3',
    ]);
  });
  it('leaves a short list as it is', () => {
    const few = ['client.jsonl line 3: missing field', 'client.jsonl line 4: missing field'];
    expect(capWarnings(few)).toEqual(few);
  });
});

describe('warningKind', () => {
  it('ignores numbers and what follows the second separator', () => {
    expect(warningKind('events.bin: damaged region at bytes 864..1,032 (168 bytes; its size field read 0) skipped: read on at the next valid record')).toBe(
      'events.bin: damaged region at bytes #..# (# bytes; its size field read #) skipped',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { describeRejectedValue, generateRequestId, resolveRequestId } from './request-id.ts';

const FRESH = 'f'.repeat(32);
const gen = (): string => FRESH;

describe('resolveRequestId', () => {
  it('keeps 32 lowercase hex', () => {
    expect(resolveRequestId('0123456789abcdef0123456789abcdef', gen)).toEqual({ id: '0123456789abcdef0123456789abcdef', source: 'client' });
  });

  it('lowercases 32 uppercase hex', () => {
    expect(resolveRequestId('0123456789ABCDEF0123456789ABCDEF', gen)).toEqual({ id: '0123456789abcdef0123456789abcdef', source: 'client' });
  });

  it('drops the dashes of a UUID and lowercases it', () => {
    expect(resolveRequestId('123E4567-E89B-12D3-A456-426614174000', gen)).toEqual({ id: '123e4567e89b12d3a456426614174000', source: 'client' });
  });

  it('generates an id for an absent or empty header without calling it a replacement', () => {
    expect(resolveRequestId(undefined, gen)).toEqual({ id: FRESH, source: 'generated' });
    expect(resolveRequestId('', gen)).toEqual({ id: FRESH, source: 'generated' });
  });

  it.each([
    ['too short', 'abc123'],
    ['33 hex digits', 'a'.repeat(33)],
    ['non-hex letters', 'g'.repeat(32)],
    ['comment terminator', "aaaaaaaaaaaaaaaa*/aaaaaaaaaaaaaa"],
    ['sql injection', "x'; DROP TABLE users; --"],
    ['UUID with braces', '{123e4567-e89b-12d3-a456-426614174000}'],
    ['UUID with misplaced dashes', '123e4567e-89b-12d3-a456-426614174000'],
    ['surrounding spaces', ' 0123456789abcdef0123456789abcdef '],
    ['all zeros (invalid trace id)', '0'.repeat(32)],
    ['very long', 'a'.repeat(10_000)],
  ])('replaces %s', (_name, value) => {
    const r = resolveRequestId(value, gen);
    expect(r.id).toBe(FRESH);
    expect(r.source).toBe('replaced');
    expect(r.rejected).toBe(describeRejectedValue(value));
  });

  it('replaces repeated headers', () => {
    const id = '0123456789abcdef0123456789abcdef';
    expect(resolveRequestId([id, id], gen)).toMatchObject({ id: FRESH, source: 'replaced' });
  });
});

describe('describeRejectedValue', () => {
  it('keeps printable ASCII', () => {
    expect(describeRejectedValue('abc*/ DROP')).toBe('abc*/ DROP');
  });

  it('escapes quotes, backslashes, control and non-ASCII characters', () => {
    expect(describeRejectedValue('a"b\\c\n\u00e9\u{1f600}')).toBe('a\\x22b\\x5cc\\x0a\\xe9\\u{1f600}');
  });

  it('truncates to 64 characters and notes the length', () => {
    expect(describeRejectedValue('z'.repeat(100))).toBe(`${'z'.repeat(64)}...(100 chars)`);
  });
});

describe('generateRequestId', () => {
  it('returns 32 lowercase hex from 16 random bytes', () => {
    expect(generateRequestId(() => Buffer.from('00112233445566778899aabbccddeeff', 'hex'))).toBe('00112233445566778899aabbccddeeff');
  });

  it('draws again instead of returning the invalid all-zero id', () => {
    const draws = [Buffer.alloc(16), Buffer.alloc(16, 1)];
    expect(generateRequestId(() => draws.shift() ?? Buffer.alloc(16, 2))).toBe('01'.repeat(16));
  });

  it('uses crypto randomness by default', () => {
    const a = generateRequestId();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(generateRequestId()).not.toBe(a);
  });
});

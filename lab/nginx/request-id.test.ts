import { describe, expect, it } from 'vitest';
import { chooseRequestId, isRequestId } from './request-id.ts';

const fresh = (): string => 'f'.repeat(32);

describe('chooseRequestId', () => {
  it('keeps a 32-hex id', () => {
    expect(chooseRequestId('0123456789abcdef0123456789abcdef', fresh)).toEqual({ id: '0123456789abcdef0123456789abcdef', replaced: false });
  });

  it('keeps a UUID with its dashes dropped', () => {
    expect(chooseRequestId('123e4567-e89b-12d3-a456-426614174000', fresh)).toEqual({ id: '123e4567e89b12d3a456426614174000', replaced: false });
  });

  it('generates an id when the header is absent or empty, without calling it a replacement', () => {
    expect(chooseRequestId(undefined, fresh)).toEqual({ id: fresh(), replaced: false });
    expect(chooseRequestId('', fresh)).toEqual({ id: fresh(), replaced: false });
  });

  it.each([
    ['too short', 'abc'],
    ['uppercase hex', '0123456789ABCDEF0123456789ABCDEF'],
    ['33 hex', '0123456789abcdef0123456789abcdef0'],
    ['uuid with braces', '{123e4567-e89b-12d3-a456-426614174000}'],
    ['injection attempt', "x'; DROP TABLE users; --"],
    ['trailing newline', '0123456789abcdef0123456789abcdef\n'],
  ])('replaces %s', (_name, header) => {
    expect(chooseRequestId(header, fresh)).toEqual({ id: fresh(), replaced: true });
  });

  it('uses the first of repeated headers', () => {
    expect(chooseRequestId(['0123456789abcdef0123456789abcdef', 'zz'], fresh).id).toBe('0123456789abcdef0123456789abcdef');
  });
});

describe('isRequestId', () => {
  it('accepts 32 lowercase hex only', () => {
    expect(isRequestId('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isRequestId('0123456789abcdef0123456789abcdeg')).toBe(false);
  });
});

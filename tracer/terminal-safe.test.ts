import { describe, expect, it } from 'vitest';
import { terminalSafe } from './terminal-safe.ts';

describe('terminalSafe', () => {
  it('shows escape sequences, NUL, carriage returns and DEL as visible escapes', () => {
    expect(terminalSafe('/api/users\x1b[2J\x1b]0;owned\x07')).toBe('/api/users\\x1b[2J\\x1b]0;owned\\x07');
    expect(terminalSafe('a\x00b\rc\td\x7f')).toBe('a\\x00b\\rc\\td\\x7f');
  });
  it('escapes C1 controls (a one-character CSI) and bidirectional overrides', () => {
    expect(terminalSafe('x\u009b31my')).toBe('x\\x9b31my');
    expect(terminalSafe('file\u202etxt.exe')).toBe('file\\u202etxt.exe');
  });
  it('keeps newlines only in multiline text', () => {
    expect(terminalSafe('one\ntwo')).toBe('one\\ntwo');
    expect(terminalSafe('one\ntwo\r\n', true)).toBe('one\ntwo\\r\n');
  });
  it('leaves printable text, non-ASCII letters and box drawing alone', () => {
    const text = 'GET /api/users/:id — café ├─ DB query 1 (SELECT): 1.2ms µs';
    expect(terminalSafe(text)).toBe(text);
  });
});

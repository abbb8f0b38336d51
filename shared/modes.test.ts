import { describe, expect, it } from 'vitest';
import { oneOf, POSTGRES_KINDS, PROBE_MODES, PROXY_KINDS } from './modes.ts';

describe('oneOf', () => {
  it('keeps a known mode', () => {
    expect(PROBE_MODES.map((m) => oneOf(PROBE_MODES, m))).toEqual(['auto', 'native', 'file', 'off']);
    expect(oneOf(PROXY_KINDS, 'node')).toBe('node');
    expect(oneOf(POSTGRES_KINDS, 'embedded')).toBe('embedded');
  });

  it('gives null for anything else', () => {
    expect(oneOf(PROBE_MODES, 'NATIVE')).toBeNull();
    expect(oneOf(PROXY_KINDS, undefined)).toBeNull();
    expect(oneOf(POSTGRES_KINDS, 'docker')).toBeNull();
    expect(oneOf(POSTGRES_KINDS, 1)).toBeNull();
  });
});

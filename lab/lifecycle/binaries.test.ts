import { afterEach, describe, expect, it } from 'vitest';
import { findBinary, requireBinary } from './binaries.ts';

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

describe('requireBinary', () => {
  it('finds a program on PATH', () => {
    expect(requireBinary('sh')).toMatch(/\/sh$/);
  });

  it('names the apt package of a missing program', () => {
    process.env.PATH = '/nonexistent';
    expect(findBinary('nginx', [])).toBeNull();
    expect(() => requireBinary('nginx', [])).toThrow("'nginx' not found: install it with 'apt-get install nginx-light' (or run scripts/setup.sh)");
    expect(() => requireBinary('ss', [])).toThrow(/apt-get install iproute2/);
  });

  it('says only "not found" for a program without a known package', () => {
    expect(() => requireBinary('no-such-program-here', [])).toThrow(/^'no-such-program-here' not found$/);
  });
});

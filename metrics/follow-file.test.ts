import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFollower, LineSplitter } from './follow-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'reqtrace-follow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FileFollower', () => {
  it('returns what was appended since the last read, from a starting offset, and nothing for a missing file', () => {
    const path = join(dir, 'grow.log');
    const f = new FileFollower(path);
    expect(f.read().length).toBe(0);
    writeFileSync(path, 'old\n');
    const later = new FileFollower(path, 4);
    appendFileSync(path, 'ab');
    expect(later.read().toString()).toBe('ab');
    expect(later.read().length).toBe(0);
    appendFileSync(path, 'c\n');
    expect(later.read().toString()).toBe('c\n');
  });

  it('starts again from the beginning when the file is truncated', () => {
    const path = join(dir, 'trunc.log');
    writeFileSync(path, 'a long first line\n');
    const f = new FileFollower(path);
    expect(f.read().toString()).toBe('a long first line\n');
    writeFileSync(path, 'new\n');
    expect(f.read().toString()).toBe('new\n');
  });
});

describe('LineSplitter', () => {
  it('keeps a partial last line until its newline arrives', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(s.push(':2}\n\n')).toEqual(['{"b":2}']);
    expect(s.push('x')).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileProbes, truncateUtf8, type FileProbes } from './file-probes.ts';

const ID = '4bf92f3577b34da6a3ce929d0e0e4736';

let dir: string;
let opened: FileProbes[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-probes-'));
  opened = [];
});
afterEach(() => {
  for (const p of opened) p.close();
  rmSync(dir, { recursive: true, force: true });
});

/** File probes on a counting clock: the n-th event gets tsNs = 1000 + n. */
function makeProbes(flushIntervalMs = 10_000): FileProbes {
  let t = 1000n;
  const p = createFileProbes(join(dir, 'sub', 'events.jsonl'), { clockNs: () => t++, pid: 4242, flushIntervalMs });
  opened.push(p);
  return p;
}

function readLines(p: FileProbes): unknown[] {
  return readFileSync(p.path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

const header = (kind: number, tsNs: number, fd: number) => ({ kind, tsNs: String(tsNs), requestId: ID, pid: 4242, tid: 4242, fd });

describe('createFileProbes', () => {
  it('writes one TraceEvent-shaped JSON line per probe call, bigints as decimal strings', () => {
    const p = makeProbes();
    p.requestStart(ID, 'GET', '/api/users', 21);
    p.dbQueryStart(ID, `/* ${ID} */ SELECT id FROM users`, 22);
    p.dbQueryEnd(ID, 1234.9, 2, 22);
    p.cacheHit(ID, 'user:1');
    p.cacheMiss(ID, 'user:2');
    p.fileOpen(ID, 23, '/etc/app.json');
    p.fileClose(ID, 23);
    p.poolWait(ID, 41_000.4, 10, 10, 3, 22, false);
    p.requestEnd(ID, 200, 5678, 21);
    p.flush();
    expect(readLines(p)).toEqual([
      { ...header(1, 1000, 21), method: 'GET', path: '/api/users' },
      { ...header(3, 1001, 22), query: `/* ${ID} */ SELECT id FROM users` },
      { ...header(4, 1002, 22), durationUs: '1234', rows: '2' },
      { ...header(5, 1003, -1), key: 'user:1' },
      { ...header(6, 1004, -1), key: 'user:2' },
      { ...header(7, 1005, 23), path: '/etc/app.json' },
      header(8, 1006, 23),
      { ...header(60, 1007, 22), waitNs: '41000400', poolSize: 10, busy: 10, waiting: 3, newConnection: false },
      { ...header(2, 1008, 21), status: 200, durationUs: '5678' },
    ]);
  });

  it('is always enabled', () => {
    const p = makeProbes();
    expect(Object.values(p.enabled).map((f) => f())).toEqual([true, true, true, true, true, true, true, true, true]);
    expect(p.backend).toBe('file');
  });

  it('buffers lines until the flush interval passes', async () => {
    const p = makeProbes(30);
    p.cacheHit(ID, 'k');
    expect(readFileSync(p.path, 'utf8')).toBe('');
    await new Promise((res) => setTimeout(res, 150));
    expect(readLines(p)).toHaveLength(1);
  });

  it('flushes at process exit', () => {
    const out = join(dir, 'exit.jsonl');
    const script = `const { createFileProbes } = await import(${JSON.stringify(resolve(import.meta.dirname, 'file-probes.ts'))});
      const p = createFileProbes(${JSON.stringify(out)});
      p.requestStart('${ID}', 'POST', '/api/orders', 9);
      process.exit(0);`;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: resolve(import.meta.dirname, '../..'),
    });
    const [line] = readFileSync(out, 'utf8').trim().split('\n');
    expect(JSON.parse(line!)).toMatchObject({ kind: 1, requestId: ID, method: 'POST', path: '/api/orders', fd: 9 });
  });

  it('escapes strings and truncates them to the event schema lengths', () => {
    const p = makeProbes();
    p.requestStart(ID, 'PROPFIND!', `/a"b\n${'x'.repeat(200)}`, 1);
    p.flush();
    const [ev] = readLines(p) as Array<{ method: string; path: string }>;
    expect(ev!.method).toBe('PROPFIN');
    expect(ev!.path).toBe(`/a"b\n${'x'.repeat(119 - 5)}`);
  });

  it('refuses a request id that is not 32 lowercase hex digits', () => {
    const p = makeProbes();
    expect(() => p.cacheHit(ID.toUpperCase(), 'k')).toThrow(TypeError);
    expect(() => p.cacheHit('abc', 'k')).toThrow(/32 lowercase hex/);
  });

  it('refuses negative durations', () => {
    const p = makeProbes();
    expect(() => p.requestEnd(ID, 200, -1, 1)).toThrow(TypeError);
  });

  it('refuses events after close', () => {
    const p = makeProbes();
    p.close();
    expect(() => p.cacheHit(ID, 'k')).toThrow(/already closed/);
  });
});

describe('truncateUtf8', () => {
  it('never splits a multi-byte character', () => {
    // 'é' is 2 bytes and '€' 3: a 4-byte limit on 'aé€' keeps 'aé' (3 bytes).
    expect(truncateUtf8('aé€', 4)).toBe('aé');
    expect(truncateUtf8('aé€', 6)).toBe('aé€');
    expect(truncateUtf8('€€', 2)).toBe('');
  });

  it('keeps short strings as they are', () => {
    expect(truncateUtf8('/api/users', 119)).toBe('/api/users');
  });
});

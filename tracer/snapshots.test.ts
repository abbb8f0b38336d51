import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLogSince, markFile, readAppendedLines, snapshotSs, ssFilter } from './snapshots.ts';

const dir = mkdtempSync(join(tmpdir(), 'snapshots-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readAppendedLines', () => {
  it('returns only the complete lines written after the mark', () => {
    const f = join(dir, 'grow.jsonl');
    writeFileSync(f, 'before\n');
    const mark = markFile(f);
    appendFileSync(f, 'one\ntwo\nthr');
    expect(readAppendedLines(mark)).toEqual({ text: 'one\ntwo\n', warnings: [`${f}: a partial last line (still being written) was left out`] });
  });

  it('a file created after the mark is read whole', () => {
    const f = join(dir, 'late.jsonl');
    const mark = markFile(f);
    expect(mark.offset).toBe(0);
    writeFileSync(f, 'a\n');
    expect(readAppendedLines(mark)).toEqual({ text: 'a\n', warnings: [] });
  });

  it('a file truncated during the capture is read from its start, with a warning', () => {
    const f = join(dir, 'rotated.jsonl');
    writeFileSync(f, 'x'.repeat(100) + '\n');
    const mark = markFile(f);
    writeFileSync(f, 'new\n');
    const r = readAppendedLines(mark);
    expect(r.text).toBe('new\n');
    expect(r.warnings[0]).toMatch(/replaced or truncated during the capture/);
  });
});

describe('accessLogSince', () => {
  it('parses the new access-log lines with the proxy log parser and warns on bad ones', () => {
    const f = join(dir, 'access.jsonl');
    writeFileSync(f, '{"request_id":"old"}\n');
    const mark = markFile(f);
    const line = { request_id: 'b'.repeat(32), time_iso8601: '2025-01-31T12:00:00+00:00', method: 'GET', uri: '/api/users', status: '200', request_time: '0.003', msec: '1738324800.123' };
    appendFileSync(f, JSON.stringify(line) + '\nnot json\n');
    const r = accessLogSince(mark);
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]).toMatchObject({ requestId: 'b'.repeat(32), status: 200, requestTime: 0.003, msec: 1738324800123 });
    expect(r.warnings).toEqual(['access log line 2: not JSON: not json']);
  });
});

describe('helpers', () => {
  it('builds an ss filter for every port at either end', () => {
    expect(ssFilter([1, 2])).toBe('( sport = :1 or dport = :1 or sport = :2 or dport = :2 )');
  });
  it('ss reports RTT for a live loopback connection on the port, and nothing for other ports', async () => {
    const server = createServer((s) => s.on('data', () => {}));
    await new Promise<void>((r) => server.listen(26199, '127.0.0.1', r));
    const sock = connect(26199, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', r));
    sock.write('x');
    try {
      const out = await snapshotSs([26199]);
      expect(out).toMatch(/127\.0\.0\.1:26199/);
      expect(out).toMatch(/rtt:[\d.]+\/[\d.]+/);
      expect(await snapshotSs([26198])).not.toMatch(/26199/);
    } finally {
      sock.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CAPTURE_VERSION, type CaptureMeta, type ClientObservation } from '../shared/capture-types.ts';
import { EventKind } from '../shared/event-types.ts';
import { readCapture } from './read-capture.ts';

const root = mkdtempSync(join(tmpdir(), 'read-capture-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh capture directory holding `files` (name → content). */
function captureDir(files: Record<string, string | Buffer>): string {
  const dir = join(root, `c${n++}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

const ID_A = 'a'.repeat(32);
const ID_B = '0123456789abcdef0123456789abcdef';

const META: CaptureMeta = {
  version: CAPTURE_VERSION,
  createdAt: '2025-01-31T12:00:00.000Z',
  kernel: '6.18.0',
  source: 'bpf',
  hooks: { usdt: 'usdt', sockets: 'tracepoint' },
  clock: { monotonicNs: '1000000000', realtimeNs: '1738324800000000000', uncertaintyNs: '150' },
  pids: { app: [200], nginx: [100, 101], postgres: [300] },
  ports: { proxy: 26100, app: 26101, postgres: 26102 },
  drops: { ringbuf: 0, malformed: 0 },
  sample: 1,
  proxy: 'nginx',
  load: { requests: 2, connections: 1, mix: 'default' },
};

/** probes/events.h `struct event_header` (40 bytes) followed by `payload`. */
function record(kind: number, tsNs: bigint, requestId: string, pid: number, fd: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h.writeBigUInt64LE(tsNs, 0);
  Buffer.from(requestId, 'hex').copy(h, 8);
  h.writeUInt32LE(pid, 24);
  h.writeUInt32LE(pid, 28);
  h.writeUInt16LE(kind, 32);
  h.writeUInt16LE(40 + payload.length, 34);
  h.writeInt32LE(fd, 36);
  return Buffer.concat([h, payload]);
}

/** struct ev_request_start: method[8], path[120]. */
function requestStart(tsNs: bigint, id: string, path: string): Buffer {
  const p = Buffer.alloc(128);
  p.write('GET', 0);
  p.write(path, 8);
  return record(EventKind.RequestStart, tsNs, id, 200, 21, p);
}

/** struct ev_request_end: status u32, _pad u32, duration_us u64. */
function requestEnd(tsNs: bigint, id: string, durationUs: bigint): Buffer {
  const p = Buffer.alloc(16);
  p.writeUInt32LE(200, 0);
  p.writeBigUInt64LE(durationUs, 8);
  return record(EventKind.RequestEnd, tsNs, id, 200, 21, p);
}

const EVENTS = Buffer.concat([
  requestStart(2_000_000_000n, ID_A, '/api/users'),
  requestStart(2_000_100_000n, ID_B, '/healthz'),
  requestEnd(2_001_000_000n, ID_A, 1000n),
  requestEnd(2_001_500_000n, ID_B, 1400n),
]);

const client = (id: string, latencyMs: number): ClientObservation => ({
  requestId: id,
  method: 'GET',
  path: '/api/users',
  status: 200,
  startMs: 1738324801000.25,
  latencyMs,
});
const CLIENT = [client(ID_A, 1.5), client(ID_B, 2.25)].map((c) => JSON.stringify(c) + '\n').join('');
const NGINX =
  JSON.stringify({
    requestId: ID_A,
    timeIso: '2025-01-31T12:00:01+00:00',
    method: 'GET',
    uri: '/api/users',
    status: 200,
    requestTime: 0.002,
    upstreamConnectTime: 0,
    upstreamHeaderTime: 0.001,
    upstreamResponseTime: 0.001,
    upstreamAddr: '127.0.0.1:26101',
    connection: 5,
    connectionRequests: 1,
  }) + '\n';

describe('readCapture', () => {
  it('reads a complete capture with no warnings', async () => {
    const dir = captureDir({ 'meta.json': JSON.stringify(META), 'events.bin': EVENTS, 'client.jsonl': CLIENT, 'nginx-access.jsonl': NGINX });
    const c = await readCapture(dir);
    expect(c.warnings).toEqual([]);
    expect(c.meta).toEqual(META);
    expect(c.client.map((o) => o.requestId)).toEqual([ID_A, ID_B]);
    expect(c.nginx).toHaveLength(1);
    expect(c.events).toHaveLength(4);
    expect(c.events.event(0)).toMatchObject({ kind: EventKind.RequestStart, tsNs: 2_000_000_000n, requestId: ID_A, pid: 200, fd: 21, method: 'GET', path: '/api/users' });
    expect(c.events.event(3)).toMatchObject({ kind: EventKind.RequestEnd, requestId: ID_B, status: 200, durationUs: 1400n });
  });

  it('events.bin cut mid-record: the complete records and one warning', async () => {
    const cut = EVENTS.subarray(0, EVENTS.length - 10);
    const dir = captureDir({ 'meta.json': JSON.stringify(META), 'events.bin': cut, 'client.jsonl': CLIENT });
    const c = await readCapture(dir);
    expect(c.events).toHaveLength(3);
    expect(c.warnings).toHaveLength(1);
    expect(c.warnings[0]).toBe(`events.bin: truncated record at byte ${EVENTS.length - 56}: 46 bytes of a 56-byte record at the end of the stream; skipped (3 complete records read)`);
  });

  it('records straddling the decoder chunk boundary (16 MiB) are read whole', async () => {
    const one = requestEnd(3_000_000_000n, ID_B, 7n);
    const count = 300_000; // 16.8 MB: the 16 MiB boundary falls inside a record
    const big = Buffer.alloc(one.length * count);
    for (let i = 0; i < count; i++) one.copy(big, i * one.length);
    const dir = captureDir({ 'meta.json': JSON.stringify(META), 'events.bin': big, 'client.jsonl': CLIENT });
    const c = await readCapture(dir);
    expect(c.warnings).toEqual([]);
    expect(c.events).toHaveLength(count);
    expect(c.events.event(count - 1)).toMatchObject({ kind: EventKind.RequestEnd, durationUs: 7n });
  });

  it('a multi-chunk events.bin of varied records and a cut tail: every record in order, the tail warned at its byte', async () => {
    const records: Buffer[] = [];
    let bytes = 0;
    for (let i = 0; bytes < 17 * 1024 * 1024; i++) {
      const id = (i % 251).toString(16).padStart(32, '0');
      const r = i % 3 === 0 ? requestStart(BigInt(i), id, `/api/users/${i}`) : requestEnd(BigInt(i), id, BigInt(i));
      records.push(r);
      bytes += r.length;
    }
    const whole = Buffer.concat(records);
    const dir = captureDir({ 'meta.json': JSON.stringify(META), 'events.bin': whole.subarray(0, whole.length - 5), 'client.jsonl': CLIENT });
    const c = await readCapture(dir);
    expect(c.events).toHaveLength(records.length - 1);
    expect([...c.events].every((e, i) => e.tsNs === BigInt(i))).toBe(true);
    expect(c.events.event(records.length - 2)).toMatchObject({ requestId: ((records.length - 2) % 251).toString(16).padStart(32, '0') });
    const lastAt = whole.length - records[records.length - 1]!.length;
    expect(c.warnings).toEqual([
      `events.bin: truncated record at byte ${lastAt}: ${whole.length - 5 - lastAt} bytes of a ${whole.length - lastAt}-byte record at the end of the stream; skipped (${records.length - 1} complete records read)`,
    ]);
  });

  it('damaged regions in a multi-chunk events.bin cost only their records: the rest is read and the loss counted', async () => {
    const records: Buffer[] = [];
    const starts: number[] = [];
    let bytes = 0;
    for (let i = 0; bytes < 17 * 1024 * 1024; i++) {
      const id = (i % 251).toString(16).padStart(32, '0');
      const r = i % 3 === 0 ? requestStart(BigInt(i), id, `/api/users/${i}`) : requestEnd(BigInt(i), id, BigInt(i));
      records.push(r);
      starts.push(bytes);
      bytes += r.length;
    }
    const file = Buffer.concat(records);
    // A size field of 0 in the record at byte 864, and 5000 zero bytes across the 16 MiB chunk boundary.
    const first = starts.filter((b) => b <= 864).length - 1;
    file.writeUInt16LE(0, starts[first]! + 34);
    const zeroFrom = 16 * 1024 * 1024 - 2500;
    file.fill(0, zeroFrom, zeroFrom + 5000);
    const hit = new Set([first]);
    starts.forEach((b, i) => {
      if (b < zeroFrom + 5000 && b + records[i]!.length > zeroFrom) hit.add(i);
    });
    const meta = { ...META, loader: { stop: 'signal', records: records.length, bytes: file.length, kinds: {}, families: {}, stopSeconds: 0.1 } };
    const dir = captureDir({ 'meta.json': JSON.stringify(meta), 'events.bin': file, 'client.jsonl': CLIENT });
    const c = await readCapture(dir);
    expect(c.events.map((e) => Number(e.tsNs))).toEqual(records.map((_, i) => i).filter((i) => !hit.has(i)));
    const lostBytes = [...hit].reduce((n, i) => n + records[i]!.length, 0);
    expect(c.warnings).toEqual([
      `events.bin: damaged region at bytes ${starts[first]}..${starts[first + 1]} (${records[first]!.length} bytes; its size field read 0) skipped: read on at the next valid record`,
      expect.stringMatching(/^events\.bin: damaged region at bytes \d+\.\.\d+ \(\d+ bytes; its size field read 0\) skipped: read on at the next valid record$/),
      `events.bin: ${lostBytes.toLocaleString('en-US')} of ${file.length.toLocaleString('en-US')} bytes unreadable in 2 damaged region(s), skipped: ${hit.size} record(s) lost (the loader wrote ${records.length.toLocaleString('en-US')}, ${(records.length - hit.size).toLocaleString('en-US')} read)`,
    ]);
  });

  it('a damaged region that runs to the end of events.bin is reported as such, its loss estimated without the loader count', async () => {
    const file = Buffer.concat([EVENTS, Buffer.alloc(200, 0xff)]);
    const dir = captureDir({ 'meta.json': JSON.stringify(META), 'events.bin': file, 'client.jsonl': CLIENT });
    const c = await readCapture(dir);
    expect(c.events).toHaveLength(4);
    expect(c.warnings).toEqual([
      `events.bin: damaged region at bytes ${EVENTS.length}..${file.length} (200 bytes) runs to the end of the file: no valid record after it`,
      `events.bin: 200 of ${file.length} bytes unreadable in 1 damaged region(s), skipped: about 2 record(s) lost (estimated from the mean record size; 4 read)`,
    ]);
  });

  it('an events.jsonl with more lines than a function call takes arguments is read whole', async () => {
    const count = 200_000;
    const line = '{"kind":8,"tsNs":"1","requestId":"","pid":7}\n';
    const dir = captureDir({ 'meta.json': JSON.stringify({ ...META, source: 'app-file', load: null }), 'events.jsonl': line.repeat(count) });
    const c = await readCapture(dir);
    expect(c.warnings).toEqual([]);
    expect(c.events).toHaveLength(count);
  });

  it('a client.jsonl with a bad line and a cut last line: the good lines and a warning for each', async () => {
    const bad = CLIENT + '{"requestId": 5}\n' + 'garbage\n' + CLIENT.slice(0, 30);
    const dir = captureDir({ 'meta.json': JSON.stringify(META), 'events.bin': EVENTS, 'client.jsonl': bad });
    const c = await readCapture(dir);
    expect(c.client).toHaveLength(2);
    expect(c.warnings).toEqual([
      "client.jsonl line 3: missing 'requestId'",
      expect.stringMatching(/^client\.jsonl line 4: not JSON: /),
      'client.jsonl line 5: truncated (no newline)',
    ]);
  });

  it('an app-file capture: events.jsonl with decimal-string bigints, bad lines warned', async () => {
    const lines = [
      `{"kind":1,"tsNs":"5000000000","requestId":"${ID_A}","pid":7,"tid":7,"fd":12,"method":"GET","path":"/api/users"}`,
      `{"kind":4,"tsNs":"5000200000","requestId":"${ID_A}","pid":7,"tid":7,"fd":13,"durationUs":"180","rows":"3"}`,
      `{"kind":60,"tsNs":"5000300000","requestId":"${ID_A}","pid":7,"tid":7,"fd":13,"waitNs":"41000000","poolSize":10,"busy":10,"waiting":2,"newConnection":false}`,
      `{"kind":99,"tsNs":"1","requestId":"","pid":7,"tid":7,"fd":-1}`,
      `{"kind":2,"tsNs":"x","requestId":"${ID_A}","pid":7,"tid":7,"fd":12,"status":200,"durationUs":"900"}`,
    ];
    const dir = captureDir({ 'meta.json': JSON.stringify({ ...META, source: 'app-file', hooks: { usdt: 'file' } }), 'events.jsonl': lines.join('\n') + '\n' });
    const c = await readCapture(dir);
    expect([...c.events]).toEqual([
      { kind: 1, tsNs: 5_000_000_000n, requestId: ID_A, pid: 7, tid: 7, fd: 12, method: 'GET', path: '/api/users' },
      { kind: 4, tsNs: 5_000_200_000n, requestId: ID_A, pid: 7, tid: 7, fd: 13, durationUs: 180n, rows: 3n },
      { kind: 60, tsNs: 5_000_300_000n, requestId: ID_A, pid: 7, tid: 7, fd: 13, waitNs: 41_000_000n, poolSize: 10, busy: 10, waiting: 2, newConnection: false },
    ]);
    expect(c.warnings).toEqual([
      "events.jsonl line 4: unknown event kind '99'",
      "events.jsonl line 5: field 'tsNs' is not an integer",
      'client.jsonl is missing: no client-side latencies',
    ]);
  });

  it('an unfinished capture and non-zero drops are reported, not hidden', async () => {
    const meta = { ...META, drops: { ringbuf: 12, malformed: 0 }, warnings: ['the capture did not finish'] };
    const dir = captureDir({ 'meta.json': JSON.stringify(meta), 'events.bin': EVENTS, 'client.jsonl': CLIENT });
    const c = await readCapture(dir);
    expect(c.warnings).toEqual(['capture: the capture did not finish', 'the loader dropped events: ringbuf=12']);
  });

  it('a missing events file is a warning', async () => {
    const dir = captureDir({ 'meta.json': JSON.stringify(META), 'client.jsonl': CLIENT });
    expect((await readCapture(dir)).warnings).toEqual(['events.bin is missing: the capture has no events']);
  });

  it('no meta.json: a clear error', async () => {
    const dir = captureDir({ 'events.bin': EVENTS });
    await expect(readCapture(dir)).rejects.toThrow(/has no meta\.json: not a capture directory/);
  });

  it('garbage meta.json: a clear error', async () => {
    const dir = captureDir({ 'meta.json': '{"version": 1, "kern' });
    await expect(readCapture(dir)).rejects.toThrow(/meta\.json is not valid JSON .*: not a readable capture/);
  });

  it('meta.json without its fields names them', async () => {
    const dir = captureDir({ 'meta.json': JSON.stringify({ version: 1, source: 'bpf' }) });
    await expect(readCapture(dir)).rejects.toThrow(/missing or has bad 'kernel' \(string\), 'createdAt'/);
  });

  it('a newer capture version is refused by name', async () => {
    const dir = captureDir({ 'meta.json': JSON.stringify({ ...META, version: 99 }), 'events.bin': EVENTS });
    await expect(readCapture(dir)).rejects.toThrow(`capture version 99 is newer than this reqtrace-lab reads (version ${CAPTURE_VERSION})`);
  });
});

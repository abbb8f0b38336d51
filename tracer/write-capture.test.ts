import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CAPTURE_VERSION, type CaptureMeta } from '../shared/capture-types.ts';
import { readCapture } from './read-capture.ts';
import { defaultCaptureDir, formatCaptureSummary, prepareCaptureDir, UNFINISHED, writeJsonLines, writeMeta } from './write-capture.ts';

const root = mkdtempSync(join(tmpdir(), 'write-capture-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const META: CaptureMeta = {
  version: CAPTURE_VERSION,
  createdAt: '2025-01-31T12:00:00.000Z',
  kernel: '6.18.0',
  source: 'app-file',
  hooks: { usdt: 'file' },
  clock: { monotonicNs: '1', realtimeNs: '2' },
  pids: { app: [1] },
  ports: { proxy: 1, app: 2, postgres: 3 },
  drops: {},
  sample: 1,
  proxy: 'node',
  load: null,
};

describe('prepareCaptureDir', () => {
  it('creates a new directory and accepts an empty one', () => {
    const d = prepareCaptureDir(join(root, 'new', 'deep'));
    expect(readdirSync(d)).toEqual([]);
    expect(prepareCaptureDir(d)).toBe(d);
  });
  it('refuses a directory holding a capture or other files', () => {
    const d = join(root, 'used');
    mkdirSync(d);
    writeFileSync(join(d, 'notes.txt'), 'x');
    expect(() => prepareCaptureDir(d)).toThrow(/is not empty/);
    writeFileSync(join(d, 'meta.json'), '{}');
    expect(() => prepareCaptureDir(d)).toThrow(/already holds a capture/);
  });
});

describe('writeMeta and writeJsonLines', () => {
  it('an unfinished capture reads back with its warning; the final meta replaces it', async () => {
    const d = prepareCaptureDir(join(root, 'cap'));
    writeMeta(d, { ...META, warnings: [UNFINISHED] });
    writeJsonLines(join(d, 'events.jsonl'), [{ kind: 8, tsNs: 5n, requestId: 'c'.repeat(32), pid: 1, tid: 1, fd: 9 }]);
    expect((await readCapture(d)).warnings).toContain(`capture: ${UNFINISHED}`);
    writeMeta(d, META);
    const c = await readCapture(d);
    expect(c.warnings).toEqual([]);
    expect([...c.events]).toEqual([{ kind: 8, tsNs: 5n, requestId: 'c'.repeat(32), pid: 1, tid: 1, fd: 9 }]);
    expect(readdirSync(d).sort()).toEqual(['events.jsonl', 'meta.json']);
  });
  it('refuses to write a meta of another version', () => {
    expect(() => writeMeta(root, { ...META, version: 2 })).toThrow(/version 2/);
  });
});

describe('names and summaries', () => {
  it('names a default capture directory by UTC time', () => {
    expect(defaultCaptureDir('/repo', new Date('2025-01-31T12:00:05.123Z'))).toBe('/repo/captures/2025-01-31T12-00-05Z');
  });
  it('summarizes a capture in one line, drops included', () => {
    expect(formatCaptureSummary({ dir: '/c', requests: 200, events: 5000, drops: { ringbuf: 0, malformed: 0 }, source: 'bpf' })).toBe(
      'capture /c: 200 requests, 5000 events (BPF), 0 dropped',
    );
    expect(formatCaptureSummary({ dir: '/c', requests: null, events: 10, drops: { ringbuf: 3, bind_full: 0 }, source: 'bpf' })).toBe(
      'capture /c: 10 events (BPF), 3 dropped (ringbuf=3)',
    );
    expect(formatCaptureSummary({ dir: '/c', requests: 2, events: 4, drops: {}, source: 'app-file' })).toBe(
      'capture /c: 2 requests, 4 events (app file probes, no kernel events), drops unknown',
    );
  });
});
